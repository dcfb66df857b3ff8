/// Declarations and their clauses.
extension Parser {
    static let streamClauses = ["key", "time", "lateness", "idle", "fields"]
    static let referenceClauses = ["from", "key", "fields"]
    static let ruleClauses = [
        "severity", "tags", "from", "match", "within", "after", "session", "window", "having",
        "select", "alert", "suppress", "into",
    ]
    static let flowClauses = ["tags", "from", "where", "enrich", "expect", "select", "into"]
    static let aggregateClauses = ["tags", "from", "session", "window", "having", "select", "into"]
    static let allClauses = Set(streamClauses + referenceClauses + ruleClauses + flowClauses + aggregateClauses)

    /// Parses the whole file.
    mutating func parseFile() -> SourceUnit {
        var declarations: [Declaration] = []
        var incomplete: Set<Span> = []
        while !isAtEnd {
            if diagnostics.isFull { break }
            let t = current
            if t.kind == .identifier, case .string(let word) = t.value, Self.declarationKeywords.contains(word) {
                recovering = false
                let errorsBefore = diagnostics.errorCount + lexer.diagnostics.errorCount
                if let d = parseDeclaration(word) {
                    declarations.append(d)
                    if diagnostics.errorCount + lexer.diagnostics.errorCount > errorsBefore { incomplete.insert(d.name.span) }
                }
                continue
            }
            reportUnexpectedTopLevel(t)
            advance()
            synchronize(clauses: [])
        }
        return SourceUnit(file: file, declarations: declarations, incomplete: incomplete)
    }

    private mutating func reportUnexpectedTopLevel(_ t: Token) {
        var help: String? = "a file holds `stream`, `reference`, `rule`, `flow` and `aggregate` declarations"
        if t.kind == .identifier, case .string(let word) = t.value {
            if let s = Suggest.closest(to: word, in: Self.declarationKeywords) {
                help = "did you mean `\(s)`?"
            } else if Self.allClauses.contains(word) {
                help = "`\(word)` is a clause; it belongs inside a declaration"
            }
        }
        if case .punct(let p) = t.kind, [.rparen, .rbrace, .rbracket].contains(p) {
            error(Diagnostic(.unexpectedClosingDelimiter, "unexpected closing delimiter `\(p.rawValue)`", at: t.span))
            return
        }
        error(Diagnostic(.expectedDeclaration, "expected a declaration, found \(describe(t))", at: t.span, help: help))
    }

    private mutating func parseDeclaration(_ word: String) -> Declaration? {
        let keyword = advance().span
        guard let name = expectIdentifier("a \(word) name") else {
            synchronize(clauses: [])
            return nil
        }
        switch word {
        case "stream":
            var d = StreamDecl(name: name, keyword: keyword)
            parseClauses(Self.streamClauses, in: word) { p, clause, span in p.streamClause(&d, clause, span) }
            return .stream(d)
        case "reference":
            var d = ReferenceDecl(name: name, keyword: keyword)
            parseClauses(Self.referenceClauses, in: word) { p, clause, span in p.referenceClause(&d, clause, span) }
            return .reference(d)
        case "rule":
            var d = RuleDecl(name: name, keyword: keyword)
            parseClauses(Self.ruleClauses, in: word) { p, clause, span in p.ruleClause(&d, clause, span) }
            return .rule(d)
        case "flow":
            var d = FlowDecl(name: name, keyword: keyword)
            parseClauses(Self.flowClauses, in: word) { p, clause, span in p.flowClause(&d, clause, span) }
            return .flow(d)
        default:
            var d = AggregateDecl(name: name, keyword: keyword)
            parseClauses(Self.aggregateClauses, in: word) { p, clause, span in p.aggregateClause(&d, clause, span) }
            return .aggregate(d)
        }
    }

    /// Reads clauses until the next declaration. `body` parses one clause whose
    /// keyword has been consumed; repeated single-use clauses are reported here.
    private mutating func parseClauses(
        _ allowed: [String], in declaration: String, _ body: (inout Parser, String, Span) -> Void
    ) {
        let repeatable: Set<String> = ["where", "enrich", "expect", "tags"]
        var seen: [String: Span] = [:]
        while !isAtEnd {
            if diagnostics.isFull { return }
            let t = current
            // `within` is reserved (it also ends a step), yet it starts a clause.
            let word: String
            if t.kind == .identifier, case .string(let w) = t.value {
                word = w
            } else if t.kind == .keyword(.within) {
                word = "within"
            } else {
                reportUnexpectedClause(t, allowed: allowed, in: declaration)
                continue
            }
            if Self.declarationKeywords.contains(word) && !allowed.contains(word) { return }
            if t.startsLine, !allowed.contains(word), source.position(of: t.span.start).column == 1,
               Suggest.closest(to: word, in: Self.declarationKeywords) != nil {
                return  // a misspelt declaration keyword; `parseFile` reports it
            }
            guard allowed.contains(word) else {
                reportUnexpectedClause(t, allowed: allowed, in: declaration)
                continue
            }
            advance()
            if let first = seen[word], !repeatable.contains(word) {
                diagnostics.report(Diagnostic(
                    .duplicateClause, "`\(word)` is given twice", at: t.span, label: "second `\(word)`",
                    secondary: [Label(first, "first given here")], help: "remove one of them"))
            }
            seen[word] = seen[word] ?? t.span
            recovering = false
            body(&self, word, t.span)
            if recovering { synchronize(clauses: allowed) }
        }
    }

    private mutating func reportUnexpectedClause(_ t: Token, allowed: [String], in declaration: String) {
        if t.kind == .identifier, case .string(let word) = t.value {
            var help = "a \(declaration) takes: " + allowed.map { "`\($0)`" }.joined(separator: ", ")
            if let s = Suggest.closest(to: word, in: allowed) { help = "did you mean `\(s)`?" }
            error(Diagnostic(.unknownClause, "unknown clause `\(word)` in a \(declaration)", at: t.span, help: help))
        } else if case .punct(let p) = t.kind, [.rparen, .rbrace, .rbracket].contains(p) {
            error(Diagnostic(.unexpectedClosingDelimiter, "unexpected closing delimiter `\(p.rawValue)`", at: t.span))
        } else {
            expected("a clause of the \(declaration)")
        }
        advance()
        synchronize(clauses: allowed)
    }

    // MARK: stream / reference

    private mutating func streamClause(_ d: inout StreamDecl, _ clause: String, _ span: Span) {
        switch clause {
        case "key": d.key = parsePathList("a key field")
        case "time": d.time = expectPath("the time field")
        case "lateness": d.lateness = expectDuration("lateness")
        case "idle":
            _ = expectWord("timeout")
            d.idleTimeout = expectDuration("idle timeout")
        default: d.fields = parseFields()
        }
    }

    private mutating func referenceClause(_ d: inout ReferenceDecl, _ clause: String, _ span: Span) {
        switch clause {
        case "from":
            if current.kind == .string, case .string(let path) = current.value {
                d.source = StringLiteral(value: path, span: advance().span)
            } else {
                expected("the table's file path in quotes")
            }
        case "key": d.key = expectPath("the key field")
        default: d.fields = parseFields()
        }
    }

    /// `fields` followed by `path: type` entries, until something else.
    private mutating func parseFields() -> [FieldDecl] {
        var fields: [FieldDecl] = []
        while current.kind == .identifier, !isFieldsEnd() {
            guard let path = expectPath("a field name") else { break }
            guard expect(.colon, "`:` and a type after the field name") != nil else { return fields }
            guard let type = expectIdentifier("a type") else { return fields }
            fields.append(FieldDecl(path: path, type: type))
            _ = accept(.comma)
        }
        if fields.isEmpty && !recovering {
            expected("a field declaration like `amount: double`")
        }
        return fields
    }

    /// A fields block ends at the first identifier that is not followed by `:` or `.`.
    private mutating func isFieldsEnd() -> Bool {
        var i = 1
        while peek(i).kind == .punct(.dot), peek(i + 1).kind == .identifier { i += 2 }
        return peek(i).kind != .punct(.colon)
    }

    mutating func parsePathList(_ what: String) -> [Path] {
        var paths: [Path] = []
        repeat {
            guard let p = expectPath(what) else { break }
            paths.append(p)
        } while accept(.comma) != nil
        return paths
    }

    // MARK: rule / flow / aggregate

    private mutating func commonClause(_ c: inout CommonClauses, _ clause: String, _ span: Span) {
        switch clause {
        case "tags":
            repeat {
                if current.kind == .string, case .string(let s) = current.value {
                    c.tags.append(Identifier(name: s, span: advance().span))
                } else if let id = expectIdentifier("a tag") {
                    c.tags.append(id)
                }
            } while accept(.comma) != nil && !recovering
        case "from":
            guard let stream = expectIdentifier("a stream name") else { return }
            var by: [Path] = []
            if acceptWord("by") != nil { by = parsePathList("a key field") }
            c.from = FromClause(stream: stream, by: by, span: span.to(previousSpan))
        case "select": c.select = parseSelectList()
        case "into": c.into = parseInto(span)
        default: break
        }
    }

    private mutating func ruleClause(_ d: inout RuleDecl, _ clause: String, _ span: Span) {
        switch clause {
        case "severity": d.severity = expectIdentifier("a severity (info, low, medium, high, critical)")
        case "match": d.match = parsePattern(span)
        case "within": d.within = expectDuration("`within`")
        case "after": d.skip = parseSkip(span)
        case "session": d.session = parseSession(span)
        case "window": d.window = parseWindow(span)
        case "having": d.having = parseExpression()
        case "alert": d.alert = parseAlert(span)
        case "suppress":
            guard let period = expectDuration("the suppression period") else { return }
            var by: [Path] = []
            if acceptWord("by") != nil { by = parsePathList("a field") }
            d.suppress = SuppressClause(period: period, by: by, span: span.to(previousSpan))
        default: commonClause(&d.common, clause, span)
        }
    }

    private mutating func flowClause(_ d: inout FlowDecl, _ clause: String, _ span: Span) {
        switch clause {
        case "where": d.filters.append(parseExpression())
        case "enrich":
            guard expectWord("with") != nil, let ref = expectIdentifier("a reference table name"),
                  expectWord("on") != nil, let on = expectPath("the field to join on") else { return }
            d.enrich.append(EnrichClause(reference: ref, on: on, span: span.to(previousSpan)))
        case "expect":
            guard let name = expectIdentifier("an expectation name") else { return }
            guard expect(.colon, "`:` after the expectation name") != nil else { return }
            let condition = parseExpression()
            guard expectWord("else") != nil else { return }
            guard let action = expectIdentifier("`warn`, `drop`, `quarantine` or `fail`") else { return }
            d.expectations.append(ExpectClause(name: name, condition: condition, action: action, span: span.to(previousSpan)))
        default: commonClause(&d.common, clause, span)
        }
    }

    private mutating func aggregateClause(_ d: inout AggregateDecl, _ clause: String, _ span: Span) {
        switch clause {
        case "session": d.session = parseSession(span)
        case "window": d.window = parseWindow(span)
        case "having": d.having = parseExpression()
        default: commonClause(&d.common, clause, span)
        }
    }

    private mutating func parseSelectList() -> [SelectItem] {
        var items: [SelectItem] = []
        repeat {
            let e = parseExpression()
            var alias: Identifier?
            if acceptWord("as") != nil { alias = expectIdentifier("a column name") }
            items.append(SelectItem(expr: e, alias: alias))
        } while accept(.comma) != nil && !recovering
        return items
    }

    private mutating func parseInto(_ span: Span) -> IntoClause? {
        guard expectWord("table") != nil, let table = expectPath("a table name like `silver.payments`") else { return nil }
        var mode = WriteMode.append
        if acceptWord("merge") != nil {
            mode = .merge(on: parseOnColumns())
        } else if acceptWord("scd2") != nil {
            mode = .scd2(on: parseOnColumns())
        } else {
            _ = acceptWord("append")
        }
        return IntoClause(table: table, mode: mode, span: span.to(previousSpan))
    }

    private mutating func parseOnColumns() -> [Identifier] {
        guard expectWord("on") != nil else { return [] }
        let parenthesised = accept(.lparen)
        var columns: [Identifier] = []
        repeat {
            guard let c = expectIdentifier("a column name") else { return columns }
            columns.append(c)
        } while accept(.comma) != nil
        if let open = parenthesised, accept(.rparen) == nil {
            expected("`)`", secondary: [Label(open.span, "unclosed delimiter")])
        }
        return columns
    }

    private mutating func parseSkip(_ span: Span) -> SkipClause? {
        guard expectWord("match") != nil else { return nil }
        if acceptWord("no") != nil {
            guard expectWord("skip") != nil else { return nil }
            return SkipClause(strategy: .noSkip, span: span.to(previousSpan))
        }
        guard expectWord("skip") != nil else { return nil }
        if acceptWord("past") != nil {
            guard expectWord("last") != nil else { return nil }
            return SkipClause(strategy: .pastLast, span: span.to(previousSpan))
        }
        if acceptWord("to") != nil {
            if accept(.next) != nil { return SkipClause(strategy: .toNext, span: span.to(previousSpan)) }
            if acceptWord("first") != nil, let step = expectIdentifier("a step name") {
                return SkipClause(strategy: .toFirst(step), span: span.to(previousSpan))
            }
            if acceptWord("last") != nil, let step = expectIdentifier("a step name") {
                return SkipClause(strategy: .toLast(step), span: span.to(previousSpan))
            }
        }
        if !recovering {
            error(Diagnostic(
                .unknownSkipStrategy, "unknown after-match skip strategy", at: current.span,
                notes: ["the strategies are `no skip`, `skip to next`, `skip past last`, `skip to first STEP` and `skip to last STEP`"]))
        }
        return nil
    }

    private mutating func parseSession(_ span: Span) -> SessionClause? {
        guard expectWord("gap") != nil, let gap = expectDuration("the session gap") else { return nil }
        let lateness = parseAllowedLateness()
        return SessionClause(gap: gap, allowedLateness: lateness, span: span.to(previousSpan))
    }

    private mutating func parseWindow(_ span: Span) -> WindowClause? {
        let kind: WindowKind
        let size: DurationLiteral
        if acceptWord("tumbling") != nil {
            guard let s = expectDuration("the window size") else { return nil }
            size = s
            kind = .tumbling
        } else if acceptWord("hopping") != nil {
            guard let s = expectDuration("the window size"), expectWord("every") != nil,
                  let every = expectDuration("the hop") else { return nil }
            size = s
            kind = .hopping(every: every)
        } else {
            var help: String? = nil
            if current.kind == .identifier, case .string(let w) = current.value,
               let s = Suggest.closest(to: w, in: ["tumbling", "hopping"]) { help = "did you mean `\(s)`?" }
            expected("`tumbling` or `hopping`", help: help)
            return nil
        }
        let lateness = parseAllowedLateness()
        return WindowClause(kind: kind, size: size, allowedLateness: lateness, span: span.to(previousSpan))
    }

    private mutating func parseAllowedLateness() -> DurationLiteral? {
        guard acceptWord("allowed") != nil else { return nil }
        guard expectWord("lateness") != nil else { return nil }
        return expectDuration("allowed lateness")
    }

    private mutating func parseAlert(_ span: Span) -> AlertClause? {
        var severity: Identifier?
        if current.kind == .identifier, case .string(let s) = current.value {
            severity = Identifier(name: s, span: advance().span)
        }
        guard current.kind == .string else {
            expected("the alert message in quotes")
            return nil
        }
        let t = advance()
        guard let template = parseTemplate(t) else { return nil }
        return AlertClause(severity: severity, template: template, span: span.to(t.span))
    }
}
