/// Resolves names and infers types of expressions against a `Scope`.
struct ExpressionChecker {
    let scope: Scope
    var diagnostics: DiagnosticBag
    let sources: SourceMap

    func source(_ file: Int) -> SourceFile { sources[file] }

    /// Checks `e` and requires a boolean; `what` names the clause for the message.
    mutating func condition(_ e: Expr, _ what: String) -> TypedExpr? {
        guard let t = typed(e) else { return nil }
        if t.type != .bool {
            diagnostics.report(Diagnostic(
                .notBoolean, "\(what) must be a condition, but this is of type `\(t.type.rawValue)`", at: e.span,
                help: t.type == .string ? "compare it, e.g. `\(source(e.span.file).text(of: e.span)) == \"...\"`" : nil))
            return nil
        }
        return t
    }

    /// The type of `e`, or nil when an error was reported inside it.
    mutating func type(of e: Expr) -> ValueType? { typed(e)?.type }

    /// The checked form of `e`, or nil when an error was reported inside it.
    mutating func typed(_ e: Expr) -> TypedExpr? {
        let span = e.span
        switch e.kind {
        case .integer(let n): return TypedExpr(.literal(.int(n)), .int, span)
        case .double(let d): return TypedExpr(.literal(.double(d)), .double, span)
        case .string(let s): return TypedExpr(.literal(.string(s)), .string, span)
        case .bool(let b): return TypedExpr(.literal(.bool(b)), .bool, span)
        case .null: return TypedExpr(.literal(.null), .null, span)
        case .duration(let ms): return TypedExpr(.literal(.duration(ms)), .duration, span)
        case .error: return nil
        case .path(let p): return resolve(p)
        case .call(let name, let args): return call(name, args, span)
        case .unary(.not, let x):
            guard let t = typed(x) else { return nil }
            if t.type != .bool { return operandError("`not`", [t.type], x.span) }
            return TypedExpr(.unary(.not, t), .bool, span)
        case .unary(.negate, let x):
            guard let t = typed(x) else { return nil }
            if !(t.type.isNumeric || t.type == .duration) { return operandError("unary `-`", [t.type], x.span) }
            return TypedExpr(.unary(.negate, t), t.type, span)
        case .binary(let op, let l, let r): return binary(op, l, r, span)
        case .inList(let x, let items, let negated):
            let xt = typed(x)
            var typedItems: [TypedExpr] = []
            var failed = xt == nil
            for item in items {
                guard let itt = typed(item) else { failed = true; continue }
                typedItems.append(itt)
                guard let xt = xt?.type else { continue }
                let it = itt.type
                if it == .null {
                    failed = true
                    diagnostics.report(Diagnostic(.comparisonWithNull, "`null` in an `in` list never matches", at: item.span,
                                                  help: "test for null with `is null`"))
                } else if !xt.isComparable(with: it) {
                    failed = true
                    diagnostics.report(Diagnostic(
                        .mismatchedTypes, "mismatched types in `in` list: `\(xt.rawValue)` and `\(it.rawValue)`",
                        at: item.span, secondary: [Label(x.span, "this is `\(xt.rawValue)`")]))
                }
            }
            guard !failed, let xt else { return nil }
            return TypedExpr(.inList(xt, typedItems, negated: negated), .bool, span)
        case .isNull(let x, let negated):
            guard let t = typed(x) else { return nil }
            return TypedExpr(.isNull(t, negated: negated), .bool, span)
        case .matches(let x, let regex):
            let regexOK = checkRegex(regex)
            guard let t = typed(x) else { return nil }
            if t.type != .string {
                diagnostics.report(Diagnostic(.invalidOperand, "`matches` needs a string, found `\(t.type.rawValue)`", at: x.span))
                return nil
            }
            guard regexOK else { return nil }
            return TypedExpr(.matches(t, pattern: regex.pattern, flags: regex.flags), .bool, span)
        }
    }

    private mutating func operandError(_ op: String, _ types: [ValueType], _ span: Span) -> TypedExpr? {
        let list = types.map { "`\($0.rawValue)`" }.joined(separator: " and ")
        diagnostics.report(Diagnostic(.invalidOperand, "\(op) is not defined for \(list)", at: span))
        return nil
    }

    private mutating func binary(_ op: BinaryOperator, _ l: Expr, _ r: Expr, _ span: Span) -> TypedExpr? {
        let lt = typed(l), rt = typed(r)
        guard let lt, let rt else { return nil }
        let a = lt.type, b = rt.type
        func make(_ t: ValueType) -> TypedExpr { TypedExpr(.binary(op, lt, rt), t, span) }
        switch op {
        case .and, .or:
            var ok = true
            for (t, e) in [(a, l), (b, r)] where t != .bool {
                ok = false
                diagnostics.report(Diagnostic(
                    .notBoolean, "operands of `\(op.rawValue)` must be conditions, but this is of type `\(t.rawValue)`", at: e.span))
            }
            return ok ? make(.bool) : nil
        case .eq, .ne, .lt, .le, .gt, .ge:
            if a == .null || b == .null {
                let other = a == .null ? r : l
                let text = source(other.span.file).text(of: other.span)
                diagnostics.report(Diagnostic(
                    .comparisonWithNull, "comparison with `null` is never true", at: span,
                    notes: ["a comparison with a missing value is false, as in SQL"],
                    help: "use `\(text) is \(op == .ne ? "not " : "")null`"))
                return nil
            }
            if !a.isComparable(with: b) {
                diagnostics.report(Diagnostic(
                    .mismatchedTypes, "cannot compare `\(a.rawValue)` with `\(b.rawValue)`", at: span,
                    secondary: [Label(l.span, "this is `\(a.rawValue)`"), Label(r.span, "this is `\(b.rawValue)`")]))
                return nil
            }
            if !(op == .eq || op == .ne) && !a.isOrdered {
                diagnostics.report(Diagnostic(.invalidOperand, "`\(op.rawValue)` is not defined for `\(a.rawValue)`", at: span,
                                              help: a == .bool ? "compare booleans with `==` or `!=`" : nil))
                return nil
            }
            return make(.bool)
        case .add, .subtract, .multiply, .divide, .remainder:
            if a.isNumeric && b.isNumeric { return make(a.unified(with: b)) }
            switch (op, a, b) {
            case (.add, .string, .string): return make(.string)
            case (.subtract, .timestamp, .timestamp): return make(.duration)
            case (.add, .timestamp, .duration), (.subtract, .timestamp, .duration): return make(.timestamp)
            case (.add, .duration, .timestamp): return make(.timestamp)
            case (.add, .duration, .duration), (.subtract, .duration, .duration): return make(.duration)
            case (.multiply, .duration, .int), (.divide, .duration, .int): return make(.duration)
            default:
                diagnostics.report(Diagnostic(
                    .invalidOperand, "`\(op.rawValue)` is not defined for `\(a.rawValue)` and `\(b.rawValue)`", at: span,
                    secondary: [Label(l.span, "`\(a.rawValue)`"), Label(r.span, "`\(b.rawValue)`")]))
                return nil
            }
        }
    }

    /// Reports bad flags and patterns; true when the regex is usable.
    private mutating func checkRegex(_ regex: RegexLiteral) -> Bool {
        var ok = true
        var flags = ""
        for (i, f) in regex.flags.enumerated() {
            if CompiledRegexValidation.supportedFlags.contains(f) {
                flags.append(f)
            } else {
                let at = regex.span.end - regex.flags.utf8.count + i
                ok = false
                diagnostics.report(Diagnostic(
                    .unknownRegexFlag, "unknown regex flag `\(f)`", at: Span(file: regex.span.file, start: at, end: at + 1),
                    help: "the flags are `i` (case-insensitive), `m` (multi-line), `s` (dot matches newline) and `x` (extended)"))
            }
        }
        if let failure = CompiledRegexValidation.validate(pattern: regex.pattern, flags: flags) {
            // PCRE2 reports a byte offset into the pattern; map it back into the file.
            // Escaped slashes (`\/`) are one byte shorter in the pattern than in the file.
            var at = regex.span.start + 1
            if let offset = failure.offset {
                var patternOffset = 0
                let bytes = source(regex.span.file).bytes
                while patternOffset < offset, at < regex.span.end - 1 {
                    if bytes[at] == UInt8(ascii: "\\"), at + 1 < bytes.count, bytes[at + 1] == UInt8(ascii: "/") { at += 1 }
                    at += 1
                    patternOffset += 1
                }
            }
            let end = min(at + 1, max(regex.span.end - 1 - regex.flags.utf8.count, at + 1))
            diagnostics.report(Diagnostic(
                .invalidRegex, "invalid regex: \(failure.message)", at: Span(file: regex.span.file, start: at, end: end),
                label: "PCRE2 stopped here", notes: ["regexes are compiled by PCRE2 when the rules are loaded"]))
            ok = false
        }
        return ok
    }

    // MARK: Names

    private mutating func resolve(_ path: Path) -> TypedExpr? {
        let head = path.segments[0]
        let rest = Array(path.segments.dropFirst())
        let span = path.span
        if let step = scope.steps[head.name] {
            return stepField(step, rest, path)
        }
        if scope.currentStep == head.name, !rest.isEmpty || scope.fields[head.name] == nil {
            diagnostics.report(Diagnostic(
                .selfStepReference, "step `\(head.name)` cannot refer to itself", at: head.span,
                help: "the current event's fields are in scope by name: write `\(rest.map(\.name).joined(separator: "."))`"))
            return nil
        }
        if let later = scope.laterSteps[head.name], scope.fields[path.text] == nil {
            diagnostics.report(Diagnostic(
                .forwardStepReference, "step `\(head.name)` is not bound yet", at: head.span,
                secondary: [Label(later, "`\(head.name)` is a later step")],
                notes: ["a step can only refer to steps before it"]))
            return nil
        }
        if let negated = scope.negatedSteps[head.name], scope.fields[path.text] == nil {
            diagnostics.report(Diagnostic(
                .negatedStepReference, "step `\(head.name)` is negated and never binds an event", at: head.span,
                secondary: [Label(negated, "declared with `not` here")]))
            return nil
        }
        if let table = scope.tables[head.name], !rest.isEmpty {
            let field = rest.map(\.name).joined(separator: ".")
            if let t = table[field] { return TypedExpr(.tableField(table: head.name, field: field), t, span) }
            return unknownField(field, span: rest[0].span.to(rest.last!.span), candidates: Array(table.keys),
                                owner: "reference table `\(head.name)`")
        }
        if rest.isEmpty, let t = scope.builtins[head.name] { return TypedExpr(.builtin(head.name), t, span) }
        let name = path.text
        if let t = scope.fields[name] {
            if let allowed = scope.bareAllowed, !allowed.contains(name) {
                diagnostics.report(Diagnostic(
                    .fieldNotInScope, "field `\(name)` has no single value here", at: path.span,
                    help: scope.bareRefusalHelp.split(separator: "FIELD", omittingEmptySubsequences: false).joined(separator: name)))
                return nil
            }
            if let table = scope.fieldTables[name] {
                return TypedExpr(.tableField(table: table, field: name), t, span)
            }
            return TypedExpr(.field(name), t, span)
        }
        var candidates = Array(scope.fields.keys) + Array(scope.steps.keys) + Array(scope.builtins.keys)
        candidates += scope.tables.keys
        return unknownField(name, span: path.span, candidates: candidates, owner: scope.fieldsOwner)
    }

    private mutating func unknownField(_ name: String, span: Span, candidates: [String], owner: String) -> TypedExpr? {
        let suggestion = Suggest.closest(to: name, in: candidates)
        diagnostics.report(Diagnostic(
            .unknownField, "unknown field `\(name)`", at: span,
            notes: owner.isEmpty ? [] : ["\(owner) has no field `\(name)`"],
            help: suggestion.map { "did you mean `\($0)`?" }))
        return nil
    }

    private mutating func stepField(_ step: StepBinding, _ rest: [Identifier], _ path: Path) -> TypedExpr? {
        var rest = rest
        var selector = TypedExpr.Selector.single
        if step.isQuantified {
            guard let first = rest.first, first.name == "first" || first.name == "last" else {
                let field = rest.map(\.name).joined(separator: ".")
                diagnostics.report(Diagnostic(
                    .quantifiedStepAsEvent, "step `\(step.name)` may bind several events", at: path.span,
                    help: field.isEmpty
                        ? "use `count(\(step.name))`, or pick one event: `\(step.name).first.FIELD`"
                        : "pick one: `\(step.name).first.\(field)`, `\(step.name).last.\(field)`, or aggregate: `avg(\(step.name).\(field))`"))
                return nil
            }
            selector = first.name == "first" ? .first : .last
            rest.removeFirst()
        } else if let first = rest.first, first.name == "first" || first.name == "last",
                  step.fields[rest.map(\.name).joined(separator: ".")] == nil {
            rest.removeFirst()
        }
        guard !rest.isEmpty else {
            diagnostics.report(Diagnostic(
                .invalidOperand, "step `\(step.name)` is an event, not a value", at: path.span,
                help: "name one of its fields, e.g. `\(step.name).\(step.fields.keys.sorted().first ?? "field")`"))
            return nil
        }
        let field = rest.map(\.name).joined(separator: ".")
        if let t = step.fields[field] {
            return TypedExpr(.stepField(step: step.name, selector: selector, field: field), t, path.span)
        }
        return unknownField(field, span: rest[0].span.to(rest.last!.span), candidates: Array(step.fields.keys),
                            owner: "stream `\(step.streamName)` (read by step `\(step.name)`)")
    }

    // MARK: Calls

    private mutating func call(_ name: Identifier, _ args: [Expr], _ span: Span) -> TypedExpr? {
        if Builtins.aggregates.contains(name.name) { return aggregate(name, args, span) }
        guard let signature = Builtins.scalar[name.name] else {
            let suggestion = Suggest.closest(to: name.name, in: Builtins.allNames)
            diagnostics.report(Diagnostic(.unknownFunction, "unknown function `\(name.name)`", at: name.span,
                                          help: suggestion.map { "did you mean `\($0)`?" }))
            for a in args { _ = typed(a) }
            return nil
        }
        let typedArgs = args.map { typed($0) }
        let failed = typedArgs.contains { $0 == nil }
        let all = typedArgs.compactMap { $0 }
        func make(_ t: ValueType) -> TypedExpr? { failed ? nil : TypedExpr(.call(name.name, all), t, span) }
        switch name.name {
        case "abs":
            guard arity(name, args, 1, span) else { return nil }
            guard let t = typedArgs[0]?.type else { return nil }
            if !(t.isNumeric || t == .duration) { return argumentError(name, 1, "a number", t, args[0].span) }
            return make(t)
        case "coalesce":
            guard args.count >= 2 else {
                diagnostics.report(Diagnostic(.wrongArgumentCount, "`coalesce` takes at least 2 arguments, found \(args.count)", at: span))
                return nil
            }
            var result: ValueType? = nil
            for (i, t) in typedArgs.enumerated() {
                guard let t = t?.type, t != .null else { continue }
                if let r = result, !r.isComparable(with: t) {
                    diagnostics.report(Diagnostic(.argumentType, "`coalesce` arguments must share a type: `\(r.rawValue)` and `\(t.rawValue)`",
                                                  at: args[i].span))
                    return nil
                }
                result = result.map { $0.unified(with: t) } ?? t
            }
            return result.flatMap { make($0) }
        default:
            let params = signature.params!
            guard arity(name, args, params.count, span) else { return nil }
            var ok = true
            for (i, (t, p)) in zip(typedArgs, params).enumerated() {
                guard let t = t?.type else { continue }
                if t != p && t != .null {
                    ok = false
                    _ = argumentError(name, i + 1, "`\(p.rawValue)`", t, args[i].span)
                }
            }
            return ok ? make(signature.result!) : nil
        }
    }

    private mutating func arity(_ name: Identifier, _ args: [Expr], _ n: Int, _ span: Span) -> Bool {
        if args.count == n { return true }
        diagnostics.report(Diagnostic(
            .wrongArgumentCount,
            "`\(name.name)` takes \(n) argument\(n == 1 ? "" : "s"), found \(args.count)", at: span))
        return false
    }

    private mutating func argumentError(_ name: Identifier, _ index: Int, _ expected: String, _ found: ValueType, _ span: Span) -> TypedExpr? {
        diagnostics.report(Diagnostic(
            .argumentType, "argument \(index) of `\(name.name)` must be \(expected), found `\(found.rawValue)`", at: span))
        return nil
    }

    private mutating func aggregate(_ name: Identifier, _ args: [Expr], _ span: Span) -> TypedExpr? {
        switch scope.aggregation {
        case .none:
            diagnostics.report(Diagnostic(
                .aggregateNotAllowed, "aggregate `\(name.name)` is not allowed \(scope.place)", at: span,
                notes: ["aggregates are computed over a window, a session, or the events a quantified step bound"]))
            return nil
        case .overSteps:
            return aggregateOverSteps(name, args, span)
        case .overEvents:
            return aggregateOverEvents(name, args, span)
        }
    }

    /// `count(small)`, `avg(small.amount)`, `max(small.amount)`.
    private mutating func aggregateOverSteps(_ name: Identifier, _ args: [Expr], _ span: Span) -> TypedExpr? {
        guard arity(name, args, 1, span) else { return nil }
        guard case .path(let p) = args[0].kind, let step = scope.steps[p.segments[0].name] else {
            if case .path(let p) = args[0].kind, scope.laterSteps[p.segments[0].name] != nil || scope.negatedSteps[p.segments[0].name] != nil {
                _ = typed(args[0])
                return nil
            }
            diagnostics.report(Diagnostic(
                .argumentType, "`\(name.name)` here aggregates the events of a step", at: args[0].span,
                help: "name a step before this one, e.g. `\(name.name)(\(scope.steps.keys.sorted().first ?? "step")\(name.name == "count" ? "" : ".field"))`"))
            return nil
        }
        let fieldPath = p.segments.dropFirst().map(\.name).joined(separator: ".")
        if name.name == "count" {
            if !fieldPath.isEmpty {
                diagnostics.report(Diagnostic(.argumentType, "`count` takes a step, not a field", at: args[0].span,
                                              help: "write `count(\(step.name))`"))
                return nil
            }
            return TypedExpr(.stepCount(step: step.name), .int, span)
        }
        guard !fieldPath.isEmpty else {
            diagnostics.report(Diagnostic(.argumentType, "`\(name.name)` needs a field of step `\(step.name)`", at: args[0].span,
                                          help: "e.g. `\(name.name)(\(step.name).\(step.fields.keys.sorted().first ?? "field"))`"))
            return nil
        }
        guard let t = step.fields[fieldPath] else {
            let segs = Array(p.segments.dropFirst())
            return unknownField(fieldPath, span: segs[0].span.to(segs.last!.span), candidates: Array(step.fields.keys),
                                owner: "stream `\(step.streamName)`")
        }
        guard let result = aggregateResult(name, t, args[0].span) else { return nil }
        return TypedExpr(.stepAggregate(function: name.name, step: step.name, field: fieldPath), result, span)
    }

    /// `count()`, `count(type == "x")`, `sum(amount)` over the events of a group.
    private mutating func aggregateOverEvents(_ name: Identifier, _ args: [Expr], _ span: Span) -> TypedExpr? {
        var inner = scope
        inner.fields = scope.eventFields
        inner.bareAllowed = nil
        inner.aggregation = .none
        inner.place = "inside another aggregate"
        var checker = ExpressionChecker(scope: inner, diagnostics: DiagnosticBag(), sources: sources)
        defer { diagnostics.append(contentsOf: checker.diagnostics) }
        if name.name == "count" {
            if args.isEmpty { return TypedExpr(.groupAggregate(function: "count", argument: nil), .int, span) }
            guard arity(name, args, 1, span) else { return nil }
            guard let c = checker.condition(args[0], "the argument of `count`") else { return nil }
            return TypedExpr(.groupAggregate(function: "count", argument: c), .int, span)
        }
        guard arity(name, args, 1, span) else { return nil }
        guard let t = checker.typed(args[0]) else { return nil }
        guard let result = aggregateResult(name, t.type, args[0].span) else { return nil }
        return TypedExpr(.groupAggregate(function: name.name, argument: t), result, span)
    }

    private mutating func aggregateResult(_ name: Identifier, _ t: ValueType, _ span: Span) -> ValueType? {
        switch name.name {
        case "sum":
            if !(t.isNumeric || t == .duration) { return argumentError(name, 1, "a number", t, span)?.type }
            return t
        case "avg", "p50", "p95", "p99":
            if !(t.isNumeric || t == .duration) { return argumentError(name, 1, "a number", t, span)?.type }
            return t == .duration ? .duration : .double
        case "min", "max":
            if !t.isOrdered { return argumentError(name, 1, "an ordered value", t, span)?.type }
            return t
        case "count_distinct": return .int
        default: return t  // first, last
        }
    }
}
