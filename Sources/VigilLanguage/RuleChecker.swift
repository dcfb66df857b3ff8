/// Rules: pattern, window and session rules, their alerts and outputs.
extension Checker {
    mutating func checkRule(_ r: RuleDecl) {
        checkSeverity(r.severity)
        checkSeverity(r.alert?.severity)
        let kinds = [("match", r.match?.keyword), ("session", r.session?.span), ("window", r.window?.span)]
            .compactMap { k, s in s.map { (k, $0) } }
        if kinds.count > 1 {
            diagnostics.report(Diagnostic(
                .conflictingClauses, "a rule takes one of `match`, `session` or `window`", at: kinds[1].1,
                secondary: [Label(kinds[0].1, "`\(kinds[0].0)` given here")],
                help: "split it into two rules"))
        } else if kinds.isEmpty {
            missing("match", in: "rule", r.name, help: "say what it detects: `match STEP then STEP`, `session gap D` or `window tumbling D`")
        }
        if r.match == nil {
            if let w = r.within { notApplicable("within", w.span, "`within` bounds a `match` pattern") }
            if let s = r.skip { notApplicable("after match", s.span, "skip strategies apply to `match` patterns") }
        } else if let h = r.having {
            notApplicable("having", h.span, "`having` filters windows and sessions; put the condition in a step")
        }
        if r.alert == nil && r.common.into == nil && !incomplete.contains(r.name.span) {
            diagnostics.report(Diagnostic(
                .noOutput, "rule `\(r.name.name)` has no output", at: r.name.span,
                help: "add `alert \"message\"` or `into table LAYER.NAME`"))
        }
        if r.alert == nil, let s = r.suppress {
            notApplicable("suppress", s.span, "`suppress` limits alerts, and this rule raises none")
        }
        if let within = r.within { positive(within, "`within`") }

        guard let from = r.common.from else {
            missing("from", in: "rule", r.name, help: "name the stream it reads: `from STREAM`")
            return
        }
        guard let stream = resolveStream(from.stream) else { return }
        let key = resolveKey(from, stream, owner: r.name)

        let checkedKey = (key ?? []).map { CheckedField(name: $0.name, type: $0.type) }
        func record(_ kind: CheckedRule.Kind, _ alert: CheckedTemplate?, _ select: [CheckedSelectItem], _ output: CheckedOutput?) {
            ruleSet.rules.append(CheckedRule(
                name: r.name.name, severity: r.alert?.severity?.name ?? r.severity?.name ?? "medium",
                tags: r.common.tags.map(\.name), stream: stream.decl.name.name, key: checkedKey, kind: kind, alert: alert,
                suppress: r.suppress.map { ($0.period.milliseconds, $0.by.map(\.text)) }, select: select, output: output))
        }
        if let pattern = r.match {
            let (steps, checkedSteps) = checkPattern(pattern, rule: r, stream: stream, key: key)
            var scope = Scope()
            scope.fields = stream.fields
            scope.fieldsOwner = "stream `\(stream.decl.name.name)`"
            scope.bareAllowed = Set(key?.map(\.name) ?? [])
            scope.bareRefusalHelp = "only the key has one value per match; name the step, e.g. `\(steps.last?.name ?? "step").FIELD`"
            for s in steps { scope.steps[s.name] = s }
            scope.aggregation = .overSteps
            scope.builtins = ["detected_at": .timestamp]
            let alert = r.alert.map { checkTemplate($0.template, scope: scope) }
            let implicit = ["id", "rule", "severity", "detected_at"] + (key?.map { $0.name.replacingDots() } ?? []) + ["message"]
            let selected = checkSelect(r.common.select, scope: scope, implicit: implicit, rows: "detection row")
            let output = r.common.into.map { checkInto($0, columns: implicit + selected.map(\.name)) }
            checkSuppress(r.suppress, stream: stream)
            let skip: CheckedSkip
            switch r.skip?.strategy ?? .noSkip {
            case .noSkip: skip = .noSkip
            case .toNext: skip = .toNext
            case .pastLast: skip = .pastLast
            case .toFirst(let s): skip = .toFirst(s.name)
            case .toLast(let s): skip = .toLast(s.name)
            }
            record(.pattern(CheckedPattern(steps: checkedSteps, withinMs: r.within?.milliseconds, skip: skip)), alert, selected, output)
            return
        }
        if let session = r.session { checkSession(session) }
        if let window = r.window { checkWindow(window) }
        let scope = groupScope(stream, key: key, session: r.session != nil)
        let having = r.having.flatMap { checkCondition($0, "`having`", scope: scope) }
        let alert = r.alert.map { checkTemplate($0.template, scope: scope) }
        let implicit = groupColumns(key, session: r.session != nil)
        let selected = checkSelect(r.common.select, scope: scope, implicit: implicit, rows: r.session != nil ? "session row" : "window row")
        let output = r.common.into.map { checkInto($0, columns: implicit + selected.map(\.name)) }
        checkSuppress(r.suppress, stream: stream, keyOnly: key?.map(\.name) ?? [])
        if let window = checkedWindow(r.window, r.session) {
            record(.window(window, having: having), alert, selected, output)
        }
    }

    mutating func notApplicable(_ clause: String, _ span: Span, _ why: String) {
        diagnostics.report(Diagnostic(.clauseNotApplicable, "`\(clause)` does not apply here", at: span, notes: [why]))
    }

    /// `keyOnly`: in a window or session rule only the key has one value per alert.
    private mutating func checkSuppress(_ s: SuppressClause?, stream: StreamInfo, keyOnly: [String]? = nil) {
        guard let s else { return }
        positive(s.period, "the suppression period")
        for p in s.by {
            guard requireField(p, in: stream.fields, owner: "stream `\(stream.decl.name.name)`") != nil, let key = keyOnly,
                  !key.contains(p.text) else { continue }
            diagnostics.report(Diagnostic(
                .suppressByNonKey, "a window or session rule can only suppress by its key", at: p.span,
                notes: ["a group has many events, so `\(p.text)` has no single value per alert"],
                help: "suppress by the key (\(key.map { "`\($0)`" }.joined(separator: ", "))), or drop `by`"))
        }
    }

    mutating func checkSession(_ s: SessionClause) {
        positive(s.gap, "the session gap")
    }

    mutating func checkWindow(_ w: WindowClause) {
        positive(w.size, "the window size")
        if case .hopping(let every) = w.kind {
            positive(every, "the hop")
            if every.milliseconds > w.size.milliseconds {
                diagnostics.report(Diagnostic(
                    .hopLargerThanWindow, "the hop is longer than the window", at: every.span,
                    secondary: [Label(w.size.span, "window size")],
                    notes: ["events between the end of one window and the start of the next would be counted in none"],
                    help: "make the hop at most the window size, or use `window tumbling`"))
            }
        }
    }

    /// The scope of `having`, `select` and alert templates in windows and sessions.
    mutating func groupScope(_ stream: StreamInfo, key: [(name: String, type: ValueType)]?, session: Bool) -> Scope {
        var scope = Scope()
        scope.fields = stream.fields
        scope.fieldsOwner = "stream `\(stream.decl.name.name)`"
        scope.eventFields = stream.fields
        scope.bareAllowed = Set(key?.map(\.name) ?? [])
        scope.bareRefusalHelp = "only the key has one value per group; use an aggregate such as `last(FIELD)`"
        scope.aggregation = .overEvents
        scope.builtins = session
            ? ["session_start": .timestamp, "session_end": .timestamp, "duration": .duration]
            : ["window_start": .timestamp, "window_end": .timestamp]
        return scope
    }

    func groupColumns(_ key: [(name: String, type: ValueType)]?, session: Bool) -> [String] {
        (key?.map { $0.name.replacingDots() } ?? []) + (session ? ["session_start", "session_end", "events"] : ["window_start", "window_end"])
    }

    // MARK: Patterns

    /// Checks the steps; returns the bindings visible after the pattern and the checked steps.
    private mutating func checkPattern(
        _ pattern: Pattern, rule: RuleDecl, stream: StreamInfo, key: [(name: String, type: ValueType)]?
    ) -> ([StepBinding], [CheckedStep]) {
        struct Named { var name: String; var span: Span; var step: Int; var stream: StreamInfo? }
        var names: [Named] = []
        var seen: [String: Span] = [:]
        func declare(_ name: String, _ span: Span, _ step: Int, _ stream: StreamInfo?, _ d: inout DiagnosticBag) {
            if let first = seen[name] {
                d.report(Diagnostic(.duplicateStep, "step `\(name)` is declared twice", at: span,
                                    secondary: [Label(first, "first declared here")], help: "give each step its own name"))
                return
            }
            seen[name] = span
            names.append(Named(name: name, span: span, step: step, stream: stream))
        }
        // First pass: names and streams of every step, so later references can be told apart.
        var stepStreams: [[StreamInfo?]] = []
        for (i, step) in pattern.steps.enumerated() {
            switch step.body {
            case .predicate(let other, _):
                let s = other.map { otherStream($0, rule: stream, key: key) } ?? stream
                stepStreams.append([s])
                let label = step.label ?? Identifier(name: "step\(i + 1)", span: step.span)
                declare(label.name, label.span, i, s, &diagnostics)
            case .alternatives(let alts, _):
                var list: [StreamInfo?] = []
                for a in alts {
                    let s = a.stream.map { otherStream($0, rule: stream, key: key) } ?? stream
                    list.append(s)
                    declare(a.label.name, a.label.span, i, s, &diagnostics)
                }
                stepStreams.append(list)
            }
        }
        checkPatternShape(pattern, rule: rule)

        var visible: [StepBinding] = []
        var checkedSteps: [CheckedStep] = []
        for (i, step) in pattern.steps.enumerated() {
            let isQuantified = step.quantifier.map { $0.max != 1 } ?? false
            var scope = Scope()
            scope.aggregation = .overSteps
            scope.place = "in a step condition"
            for b in visible { scope.steps[b.name] = b }
            for n in names where n.step > i { scope.laterSteps[n.name] = n.span }
            for (j, s) in pattern.steps.enumerated() where s.negation != nil && j < i {
                for n in names where n.step == j { scope.negatedSteps[n.name] = n.span }
            }
            let ownNames = names.filter { $0.step == i }
            scope.currentStep = ownNames.count == 1 ? ownNames[0].name : nil
            let bodies: [(StreamInfo?, Expr)]
            switch step.body {
            case .predicate(_, let e): bodies = [(stepStreams[i][0], e)]
            case .alternatives(let alts, _): bodies = zip(stepStreams[i], alts.map(\.predicate)).map { ($0, $1) }
            }
            var alternatives: [CheckedAlternative] = []
            var until: TypedExpr? = nil
            for (k, (s, e)) in bodies.enumerated() {
                guard let s else { continue }
                var stepScope = scope
                stepScope.fields = s.fields
                stepScope.fieldsOwner = "stream `\(s.decl.name.name)`"
                if case .alternatives(let alts, _) = step.body { stepScope.currentStep = alts[k].label.name }
                if let predicate = checkCondition(e, "a step", scope: stepScope), k < ownNames.count {
                    alternatives.append(CheckedAlternative(name: ownNames[k].name, stream: s.decl.name.name, predicate: predicate))
                }
                if let u = step.until, k == 0 { until = checkCondition(u, "`until`", scope: stepScope) }
            }
            let q = step.quantifier
            checkedSteps.append(CheckedStep(
                name: ownNames.first?.name ?? "step\(i + 1)", negated: step.negation != nil, contiguity: step.contiguity,
                min: q?.min ?? 1, max: q == nil ? 1 : q!.max, isQuantified: q != nil,
                alternatives: alternatives, until: until))
            if step.negation == nil {
                for (n, s) in zip(ownNames, stepStreams[i]) {
                    guard let s else { continue }
                    visible.append(StepBinding(name: n.name, span: n.span, isQuantified: isQuantified,
                                               fields: s.fields, streamName: s.decl.name.name))
                }
            }
        }
        if let skip = rule.skip {
            switch skip.strategy {
            case .toFirst(let id), .toLast(let id):
                if !names.contains(where: { $0.name == id.name }) {
                    diagnostics.report(Diagnostic(.unknownStep, "unknown step `\(id.name)`", at: id.span,
                                                  help: Suggest.closest(to: id.name, in: names.map(\.name)).map { "did you mean `\($0)`?" }))
                }
            default: break
            }
        }
        return (visible, checkedSteps)
    }

    /// The stream of a step that reads another stream; its key must match the rule's.
    private mutating func otherStream(_ name: Identifier, rule: StreamInfo, key: [(name: String, type: ValueType)]?) -> StreamInfo? {
        guard let other = resolveStream(name) else { return nil }
        guard let key else { return other }
        if other.decl.key.isEmpty {
            diagnostics.report(Diagnostic(
                .missingKey, "stream `\(other.decl.name.name)` has no key to join on", at: name.span,
                notes: ["a step on another stream matches events whose key equals the rule's key"],
                help: "declare `key FIELD` on stream `\(other.decl.name.name)`"))
            return other
        }
        let ruleTypes = key.map(\.type), otherTypes = other.key.map(\.type)
        if other.key.count == other.decl.key.count, ruleTypes != otherTypes {
            let show = { (k: [(name: String, type: ValueType)]) in k.map { "\($0.name): \($0.type.rawValue)" }.joined(separator: ", ") }
            diagnostics.report(Diagnostic(
                .keyTypeMismatch, "the key of stream `\(other.decl.name.name)` does not match the rule's key", at: name.span,
                notes: ["the rule is keyed by (\(show(key))); `\(other.decl.name.name)` by (\(show(other.key)))"]))
        }
        return other
    }

    /// Quantifiers, negations and `within` across the whole pattern.
    private mutating func checkPatternShape(_ pattern: Pattern, rule: RuleDecl) {
        for (i, step) in pattern.steps.enumerated() {
            if let q = step.quantifier {
                if let max = q.max, q.min > max {
                    diagnostics.report(Diagnostic(
                        .impossibleQuantifier, "quantifier minimum \(q.min) is larger than its maximum \(max)", at: q.span,
                        help: "write `{\(max),\(q.min)}`"))
                } else if q.max == 0 {
                    diagnostics.report(Diagnostic(.emptyQuantifier, "this quantifier matches no event", at: q.span,
                                                  help: "to forbid an event here, write `not` before the step"))
                }
            }
            if let until = step.until, step.quantifier.map({ $0.max == 1 }) ?? true {
                diagnostics.report(Diagnostic(
                    .untilWithoutQuantifier, "`until` ends a repetition, but this step is not repeated", at: until.span,
                    help: "add a quantifier such as `{1,}` before `until`"))
            }
            guard let negation = step.negation else { continue }
            if i == 0 {
                diagnostics.report(Diagnostic(
                    .negatedStepMisuse, "a pattern cannot start with a `not` step", at: negation,
                    notes: ["absence is measured from the event that precedes it"],
                    help: "put a positive step first: `match a: ... then not b: ...`"))
            }
            if let q = step.quantifier {
                diagnostics.report(Diagnostic(.negatedStepMisuse, "a `not` step cannot be quantified", at: q.span,
                                              help: "remove the quantifier: any single matching event kills the attempt"))
            }
            if step.contiguity == .skipTillAny {
                diagnostics.report(Diagnostic(.negatedStepMisuse, "`then any` cannot introduce a `not` step", at: step.contiguitySpan ?? negation,
                                              help: "use `then not`"))
            }
        }
        if let last = pattern.steps.last, let negation = last.negation, rule.within == nil {
            diagnostics.report(Diagnostic(
                .trailingNotWithoutWithin, "a pattern ending in `not` needs `within`", at: negation.to(last.span),
                notes: ["without a window, the absence could never be confirmed"],
                help: "add `within DURATION` after the pattern"))
        }
        // (Not repeated when the quantifier is empty or every step is optional: reported above/below.)
        if let last = pattern.steps.last(where: { $0.negation == nil }), let q = last.quantifier, q.min == 0, q.max != 0,
           pattern.steps.contains(where: { $0.negation == nil && ($0.quantifier?.min ?? 1) > 0 }) {
            diagnostics.report(Diagnostic(
                .optionalLastStep, "the last step of a pattern cannot be optional", at: q.span,
                notes: ["a match completes as soon as its last step has its minimum of events, so this step would never bind one"],
                help: "make it required (`+` or `{1,}`), or remove it"))
        }
        let positives = pattern.steps.filter { $0.negation == nil }
        if !positives.isEmpty, positives.allSatisfy({ ($0.quantifier?.min ?? 1) == 0 }) {
            diagnostics.report(Diagnostic(
                .patternMatchesNothing, "every step of this pattern is optional", at: pattern.keyword,
                notes: ["a match must bind at least one event"],
                help: "make at least one step required, e.g. `+` instead of `*`"))
        }
    }
}

extension String {
    /// A nested field's column name: `process.parent.name` -> `process_parent_name`.
    func replacingDots() -> String {
        split(separator: ".", omittingEmptySubsequences: false).joined(separator: "_")
    }
}
