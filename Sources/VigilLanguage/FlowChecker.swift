/// Flows and aggregates.
extension Checker {
    static let expectActions = ["warn", "drop", "quarantine", "fail"]

    mutating func checkFlow(_ f: FlowDecl) {
        if f.common.into == nil {
            missing("into", in: "flow", f.name, help: "name its table: `into table silver.NAME`")
        }
        guard let from = f.common.from else {
            missing("from", in: "flow", f.name, help: "name the stream it reads: `from STREAM`")
            return
        }
        guard let stream = resolveStream(from.stream) else { return }
        var scope = Scope()
        scope.fields = stream.fields
        scope.fieldsOwner = "stream `\(stream.decl.name.name)`"
        scope.place = "in a flow"
        var columns = stream.decl.fields.map { $0.path.text.replacingDots() }
        // Without `select`, a flow writes every field of its stream, then the columns its
        // enrichments add (in declaration order), as they are.
        var passthrough = stream.decl.fields.compactMap { f in
            stream.fields[f.path.text].map { CheckedSelectItem(name: f.path.text.replacingDots(), expr: TypedExpr(.field(f.path.text), $0, f.path.span)) }
        }
        for e in f.enrich {
            guard let ref = references[e.reference.name] else {
                diagnostics.report(Diagnostic(
                    .unknownReference, "unknown reference table `\(e.reference.name)`", at: e.reference.span,
                    help: Suggest.closest(to: e.reference.name, in: references.keys).map { "did you mean `\($0)`?" }
                        ?? "declare it with `reference \(e.reference.name) from \"FILE\" key FIELD fields ...`"))
                continue
            }
            usedReferences.insert(e.reference.name)
            if let t = requireField(e.on, in: stream.fields, owner: "stream `\(stream.decl.name.name)`"),
               let k = ref.keyType, !t.isComparable(with: k) {
                diagnostics.report(Diagnostic(
                    .keyTypeMismatch, "cannot join `\(t.rawValue)` field `\(e.on.text)` on `\(k.rawValue)` key", at: e.on.span,
                    secondary: ref.decl.key.map { [Label($0.span, "the key of `\(ref.decl.name.name)` is `\(k.rawValue)`")] } ?? []))
            }
            scope.tables[e.reference.name] = ref.fields
            for d in ref.decl.fields {
                let name = d.path.text
                guard let t = ref.fields[name], scope.fields[name] == nil else { continue }
                scope.fields[name] = t
                scope.fieldTables[name] = e.reference.name
                columns.append(name.replacingDots())
                passthrough.append(CheckedSelectItem(name: name.replacingDots(),
                                                     expr: TypedExpr(.tableField(table: e.reference.name, field: name), t, d.path.span)))
            }
        }
        let filters = f.filters.compactMap { checkCondition($0, "`where`", scope: scope) }
        var checkedExpectations: [CheckedExpectation] = []
        var expectations: [String: Span] = [:]
        for x in f.expectations {
            if let first = expectations[x.name.name] {
                diagnostics.report(Diagnostic(.duplicateDeclaration, "expectation `\(x.name.name)` is declared twice", at: x.name.span,
                                              secondary: [Label(first, "first declared here")]))
            }
            expectations[x.name.name] = expectations[x.name.name] ?? x.name.span
            let condition = checkCondition(x.condition, "an expectation", scope: scope)
            if let condition, let action = CheckedExpectation.Action(rawValue: x.action.name) {
                checkedExpectations.append(CheckedExpectation(name: x.name.name, condition: condition, action: action))
            }
            if !Self.expectActions.contains(x.action.name) {
                diagnostics.report(Diagnostic(
                    .unknownExpectAction, "unknown action `\(x.action.name)` for a failed expectation", at: x.action.span,
                    notes: ["the actions are `warn`, `drop`, `quarantine` and `fail`"],
                    help: Suggest.closest(to: x.action.name, in: Self.expectActions).map { "did you mean `\($0)`?" }))
            }
        }
        let select = checkSelect(f.common.select, scope: scope)
        if !f.common.select.isEmpty { columns = select.map(\.name) }
        let output = f.common.into.map { checkInto($0, columns: columns) }
        ruleSet.flows.append(CheckedFlow(
            name: f.name.name, stream: stream.decl.name.name, enrich: f.enrich.map { ($0.reference.name, $0.on.text) },
            filters: filters, expectations: checkedExpectations, select: f.common.select.isEmpty ? passthrough : select, output: output))
    }

    mutating func checkAggregate(_ a: AggregateDecl) {
        if a.session != nil, let w = a.window {
            diagnostics.report(Diagnostic(.conflictingClauses, "an aggregate takes `session` or `window`, not both", at: w.span,
                                          secondary: [Label(a.session!.span, "`session` given here")]))
        } else if a.session == nil && a.window == nil {
            missing("window", in: "aggregate", a.name, help: "group the events: `window tumbling 5m` or `session gap 30m`")
        }
        if a.common.select.isEmpty {
            missing("select", in: "aggregate", a.name, help: "say what to compute: `select count() as events`")
        }
        if a.common.into == nil {
            missing("into", in: "aggregate", a.name, help: "name its table: `into table gold.NAME`")
        }
        if let s = a.session { checkSession(s) }
        if let w = a.window { checkWindow(w) }
        guard let from = a.common.from else {
            missing("from", in: "aggregate", a.name, help: "name the stream it reads: `from STREAM`")
            return
        }
        guard let stream = resolveStream(from.stream) else { return }
        let key = resolveKey(from, stream, owner: a.name)
        let scope = groupScope(stream, key: key, session: a.session != nil)
        let having = a.having.flatMap { checkCondition($0, "`having`", scope: scope) }
        let implicit = groupColumns(key, session: a.session != nil)
        let selected = checkSelect(a.common.select, scope: scope, implicit: implicit, rows: a.session != nil ? "session row" : "window row")
        let output = a.common.into.map { checkInto($0, columns: implicit + selected.map(\.name)) }
        if let window = checkedWindow(a.window, a.session) {
            ruleSet.aggregates.append(CheckedAggregate(
                name: a.name.name, stream: stream.decl.name.name,
                key: (key ?? []).map { CheckedField(name: $0.name, type: $0.type) },
                window: window, having: having, select: selected, output: output))
        }
    }
}
