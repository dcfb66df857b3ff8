/// A stream's checked schema.
struct StreamInfo {
    var decl: StreamDecl
    var fields: [String: ValueType]
    var key: [(name: String, type: ValueType)]
}

/// A reference table's checked schema.
struct ReferenceInfo {
    var decl: ReferenceDecl
    var fields: [String: ValueType]
    var keyType: ValueType?
}

/// Semantic analysis over all files of a rule set: names, types, and the rules of
/// patterns, windows and outputs.
struct Checker {
    let sources: SourceMap
    var diagnostics = DiagnosticBag()
    var streams: [String: StreamInfo] = [:]
    var references: [String: ReferenceInfo] = [:]
    var usedStreams: Set<String> = []
    var usedReferences: Set<String> = []
    /// Table name -> where it was first written to.
    var tables: [String: Span] = [:]
    /// Declarations with syntax errors (by name span): missing-clause checks skip them.
    var incomplete: Set<Span> = []
    /// Some file had syntax errors, so a use may have been lost: no unused warnings.
    var skipUnusedWarnings = false
    /// Everything checked so far, typed; meaningful only when there are no errors.
    var ruleSet = CheckedRuleSet()

    static let severities = ["info", "low", "medium", "high", "critical"]

    init(sources: SourceMap) {
        self.sources = sources
    }

    mutating func check(_ units: [SourceUnit]) {
        let declarations = units.flatMap(\.declarations)
        incomplete = units.reduce(into: Set<Span>()) { $0.formUnion($1.incomplete) }
        // Streams and reference tables share one namespace; rules, flows and aggregates another.
        var dataNames: [String: Declaration] = [:]
        var jobNames: [String: Declaration] = [:]
        for d in declarations {
            let isData: Bool
            switch d {
            case .stream, .reference: isData = true
            default: isData = false
            }
            if let first = isData ? dataNames[d.name.name] : jobNames[d.name.name] {
                diagnostics.report(Diagnostic(
                    .duplicateDeclaration, "the name `\(d.name.name)` is declared twice", at: d.name.span,
                    label: "second declaration", secondary: [Label(first.name.span, "first declared here as a \(first.kindName)")],
                    help: "rename one of them"))
                continue
            }
            if isData { dataNames[d.name.name] = d } else { jobNames[d.name.name] = d }
            switch d {
            case .stream(let s): streams[s.name.name] = checkStream(s)
            case .reference(let r): references[r.name.name] = checkReference(r)
            default: break
            }
        }
        for d in declarations {
            switch d {
            case .rule(let r): checkRule(r)
            case .flow(let f): checkFlow(f)
            case .aggregate(let a): checkAggregate(a)
            default: break
            }
        }
        if skipUnusedWarnings { return }
        for (name, s) in streams.sorted(by: { $0.key < $1.key }) where !usedStreams.contains(name) {
            diagnostics.report(Diagnostic(.unusedStream, "stream `\(name)` is never used", at: s.decl.name.span,
                                          help: "remove it, or read it with `from \(name)` in a rule, flow or aggregate"))
        }
        for (name, r) in references.sorted(by: { $0.key < $1.key }) where !usedReferences.contains(name) {
            diagnostics.report(Diagnostic(.unusedReference, "reference table `\(name)` is never used", at: r.decl.name.span,
                                          help: "remove it, or join it with `enrich with \(name) on FIELD` in a flow"))
        }
    }

    // MARK: Streams and references

    mutating func checkFields(_ fields: [FieldDecl]) -> [String: ValueType] {
        var result: [String: ValueType] = [:]
        var spans: [String: Span] = [:]
        for f in fields {
            let name = f.path.text
            if let first = spans[name] {
                diagnostics.report(Diagnostic(.duplicateField, "field `\(name)` is declared twice", at: f.path.span,
                                              secondary: [Label(first, "first declared here")]))
                continue
            }
            spans[name] = f.path.span
            guard let type = ValueType(rawValue: f.type.name), type != .null else {
                let suggestion = Suggest.closest(to: f.type.name, in: ValueType.declarable)
                    ?? ["float": "double", "str": "string", "integer": "int", "boolean": "bool", "long": "int", "text": "string"][f.type.name]
                diagnostics.report(Diagnostic(
                    .unknownType, "unknown type `\(f.type.name)`", at: f.type.span,
                    notes: ["the types are " + ValueType.declarable.map { "`\($0)`" }.joined(separator: ", ")],
                    help: suggestion.map { "did you mean `\($0)`?" }))
                continue
            }
            result[name] = type
        }
        return result
    }

    mutating func requireField(_ path: Path, in fields: [String: ValueType], owner: String) -> ValueType? {
        if let t = fields[path.text] { return t }
        let suggestion = Suggest.closest(to: path.text, in: fields.keys)
        diagnostics.report(Diagnostic(.unknownField, "unknown field `\(path.text)`", at: path.span,
                                      notes: ["\(owner) has no field `\(path.text)`"],
                                      help: suggestion.map { "did you mean `\($0)`?" }))
        return nil
    }

    mutating func missing(_ clause: String, in kind: String, _ name: Identifier, help: String) {
        if incomplete.contains(name.span) { return }
        diagnostics.report(Diagnostic(.missingClause, "\(kind) `\(name.name)` has no `\(clause)` clause", at: name.span, help: help))
    }

    mutating func checkStream(_ s: StreamDecl) -> StreamInfo {
        let fields = checkFields(s.fields)
        if s.fields.isEmpty {
            missing("fields", in: "stream", s.name, help: "declare the fields, e.g. `fields user: string, ts: timestamp`")
        }
        var key: [(String, ValueType)] = []
        // Without fields every name would be "unknown"; the missing block is the one error.
        if s.fields.isEmpty { return StreamInfo(decl: s, fields: fields, key: key) }
        for k in s.key {
            if let t = requireField(k, in: fields, owner: "stream `\(s.name.name)`") { key.append((k.text, t)) }
        }
        if let time = s.time {
            if let t = requireField(time, in: fields, owner: "stream `\(s.name.name)`"), t != .timestamp {
                diagnostics.report(Diagnostic(
                    .timeFieldType, "the time field must be a `timestamp`, but `\(time.text)` is `\(t.rawValue)`", at: time.span,
                    notes: ["a timestamp field accepts epoch milliseconds or RFC 3339 text"],
                    help: "declare it as `\(time.text): timestamp`"))
            }
        } else if !s.fields.isEmpty {
            missing("time", in: "stream", s.name, help: "name the event-time field, e.g. `time ts`")
        }
        if let idle = s.idleTimeout { positive(idle, "the idle timeout") }
        ruleSet.streams.append(CheckedStream(
            name: s.name.name, fields: s.fields.compactMap { f in fields[f.path.text].map { CheckedField(name: f.path.text, type: $0) } },
            key: s.key.map(\.text), time: s.time?.text ?? "", latenessMs: s.lateness?.milliseconds ?? 0,
            idleTimeoutMs: s.idleTimeout?.milliseconds))
        return StreamInfo(decl: s, fields: fields, key: key)
    }

    mutating func checkReference(_ r: ReferenceDecl) -> ReferenceInfo {
        let fields = checkFields(r.fields)
        if r.source == nil { missing("from", in: "reference table", r.name, help: "give its file: `from \"samples/cards.csv\"`") }
        if r.fields.isEmpty { missing("fields", in: "reference table", r.name, help: "declare its columns, e.g. `fields card: string`") }
        var keyType: ValueType? = nil
        if let k = r.key {
            keyType = requireField(k, in: fields, owner: "reference table `\(r.name.name)`")
        } else {
            missing("key", in: "reference table", r.name, help: "name the column that enrichment joins on: `key card`")
        }
        ruleSet.references.append(CheckedReference(
            name: r.name.name, path: r.source?.value ?? "", key: r.key?.text ?? "",
            fields: r.fields.compactMap { f in fields[f.path.text].map { CheckedField(name: f.path.text, type: $0) } }))
        return ReferenceInfo(decl: r, fields: fields, keyType: keyType)
    }

    // MARK: Shared pieces

    mutating func positive(_ d: DurationLiteral, _ what: String) {
        if d.milliseconds <= 0 {
            diagnostics.report(Diagnostic(.nonPositiveDuration, "\(what) must be longer than zero", at: d.span))
        }
    }

    mutating func checkSeverity(_ s: Identifier?) {
        guard let s, !Self.severities.contains(s.name) else { return }
        diagnostics.report(Diagnostic(
            .unknownSeverity, "unknown severity `\(s.name)`", at: s.span,
            notes: ["the severities are " + Self.severities.map { "`\($0)`" }.joined(separator: ", ")],
            help: Suggest.closest(to: s.name, in: Self.severities).map { "did you mean `\($0)`?" }))
    }

    /// Resolves `from STREAM`, marking it used.
    mutating func resolveStream(_ name: Identifier) -> StreamInfo? {
        if let s = streams[name.name] {
            usedStreams.insert(name.name)
            return s
        }
        diagnostics.report(Diagnostic(
            .unknownStream, "unknown stream `\(name.name)`", at: name.span,
            help: Suggest.closest(to: name.name, in: streams.keys).map { "did you mean `\($0)`?" }
                ?? (streams.isEmpty ? "declare it with `stream \(name.name)`" : nil)))
        return nil
    }

    /// The key of a rule or aggregate: `by` fields, else the stream's key.
    mutating func resolveKey(_ from: FromClause, _ stream: StreamInfo, owner: Identifier) -> [(name: String, type: ValueType)]? {
        if !from.by.isEmpty {
            var key: [(String, ValueType)] = []
            for p in from.by {
                if let t = requireField(p, in: stream.fields, owner: "stream `\(stream.decl.name.name)`") { key.append((p.text, t)) }
            }
            return key.count == from.by.count ? key : nil
        }
        if stream.decl.key.isEmpty {
            diagnostics.report(Diagnostic(
                .missingKey, "`\(owner.name)` has no key", at: from.span,
                notes: ["stream `\(stream.decl.name.name)` declares no `key`"],
                help: "partition it with `from \(stream.decl.name.name) by FIELD`"))
            return nil
        }
        return stream.key.count == stream.decl.key.count ? stream.key : nil
    }

    mutating func checkTemplate(_ t: Template, scope: Scope) -> CheckedTemplate {
        var ec = ExpressionChecker(scope: scope, diagnostics: DiagnosticBag(), sources: sources)
        var parts: [CheckedTemplate.Part] = []
        for part in t.parts {
            switch part {
            case .text(let s): parts.append(.text(s))
            case .placeholder(let e): if let te = ec.typed(e) { parts.append(.value(te)) }
            }
        }
        diagnostics.append(contentsOf: ec.diagnostics)
        return CheckedTemplate(parts: parts)
    }

    @discardableResult
    mutating func checkCondition(_ e: Expr, _ what: String, scope: Scope) -> TypedExpr? {
        var ec = ExpressionChecker(scope: scope, diagnostics: DiagnosticBag(), sources: sources)
        let typed = ec.condition(e, what)
        diagnostics.append(contentsOf: ec.diagnostics)
        return typed
    }

    /// Checks a select list and returns its columns. `implicit`: the columns every row
    /// of the declaration has before the selected ones (a selected column may not repeat one).
    mutating func checkSelect(_ items: [SelectItem], scope: Scope, implicit: [String] = [], rows: String = "") -> [CheckedSelectItem] {
        var ec = ExpressionChecker(scope: scope, diagnostics: DiagnosticBag(), sources: sources)
        var names: [CheckedSelectItem] = []
        var seen: [String: Span] = [:]
        for item in items {
            let typed = ec.typed(item.expr)
            let name: Identifier
            if let alias = item.alias {
                name = alias
            } else if case .path(let p) = item.expr.kind {
                name = Identifier(name: p.segments.map(\.name).joined(separator: "_"), span: p.span)
            } else {
                if case .error = item.expr.kind { continue }
                ec.diagnostics.report(Diagnostic(
                    .selectNeedsAlias, "this column needs a name", at: item.expr.span,
                    help: "add `as NAME` after the expression"))
                continue
            }
            if let first = seen[name.name] {
                ec.diagnostics.report(Diagnostic(.duplicateColumn, "column `\(name.name)` is selected twice", at: name.span,
                                                 secondary: [Label(first, "first selected here")],
                                                 help: "give one of them another name with `as`"))
                continue
            }
            if implicit.contains(name.name) {
                ec.diagnostics.report(Diagnostic(.duplicateColumn, "column `\(name.name)` is already a column of every \(rows)", at: name.span,
                                                 notes: ["every \(rows) starts with \(implicit.map { "`\($0)`" }.joined(separator: ", "))"],
                                                 help: "give the selected column another name with `as`"))
                continue
            }
            seen[name.name] = name.span
            if let typed { names.append(CheckedSelectItem(name: name.name, expr: typed)) }
        }
        diagnostics.append(contentsOf: ec.diagnostics)
        return names
    }

    /// Checks an `into table` clause against the columns the declaration produces.
    @discardableResult
    mutating func checkInto(_ into: IntoClause, columns: [String]) -> CheckedOutput {
        let segments = into.table.segments
        if segments.count != 2 {
            diagnostics.report(Diagnostic(
                .invalidTableName, "table name `\(into.table.text)` must be `LAYER.NAME`", at: into.table.span,
                notes: ["table `a.b` is written under `<lake>/a/b`"], help: "e.g. `silver.\(segments.last!.name)`"))
        } else if let first = tables[into.table.text] {
            diagnostics.report(Diagnostic(.duplicateTable, "table `\(into.table.text)` is written by two declarations", at: into.table.span,
                                          secondary: [Label(first, "also written here")],
                                          help: "give each declaration its own table"))
        } else {
            tables[into.table.text] = into.table.span
        }
        let keys: [Identifier]
        switch into.mode {
        case .append: keys = []
        case .merge(let on), .scd2(let on): keys = on
        }
        for k in keys where !columns.contains(k.name) {
            diagnostics.report(Diagnostic(
                .unknownColumn, "unknown column `\(k.name)`", at: k.span,
                notes: ["the table's columns are " + columns.map { "`\($0)`" }.joined(separator: ", ")],
                help: Suggest.closest(to: k.name, in: columns).map { "did you mean `\($0)`?" }))
        }
        let mode: CheckedOutput.Mode
        switch into.mode {
        case .append: mode = .append
        case .merge(let on): mode = .merge(on.map(\.name))
        case .scd2(let on): mode = .scd2(on.map(\.name))
        }
        return CheckedOutput(table: into.table.text, mode: mode)
    }

    /// A window or session clause in checked form.
    func checkedWindow(_ window: WindowClause?, _ session: SessionClause?) -> CheckedWindow? {
        if let s = session {
            return CheckedWindow(kind: .session, sizeMs: s.gap.milliseconds, allowedLatenessMs: s.allowedLateness?.milliseconds ?? 0)
        }
        guard let w = window else { return nil }
        let kind: CheckedWindow.Kind
        switch w.kind {
        case .tumbling: kind = .tumbling
        case .hopping(let every): kind = .hopping(everyMs: every.milliseconds)
        }
        return CheckedWindow(kind: kind, sizeMs: w.size.milliseconds, allowedLatenessMs: w.allowedLateness?.milliseconds ?? 0)
    }
}
