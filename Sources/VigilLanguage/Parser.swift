/// Recursive-descent parser for one file. It never throws and never stops early: each
/// error is reported with a span, the parser skips to a point it can resume from (the
/// next clause or declaration that starts a line) and carries on, so one pass reports
/// every error of the file.
struct Parser {
    /// Deepest nesting of parentheses and operators accepted; deeper input is reported
    /// (V0105) rather than overflowing the stack.
    static let maxNesting = 128

    /// Words that start a declaration at the top level.
    static let declarationKeywords = ["stream", "reference", "rule", "flow", "aggregate"]

    /// Tokens are pulled from the lexer on demand and consumed ones are dropped, so a
    /// huge file never holds all its tokens in memory at once.
    var lexer: Lexer
    var buffer: [Token] = []
    var bufferIndex = 0
    var lastConsumed: Token?
    let file: Int
    let source: SourceFile
    var diagnostics = DiagnosticBag()
    /// Set after an error until the next synchronisation point, so that one mistake
    /// does not cascade into a dozen "expected" errors.
    var recovering = false
    var depth = 0
    var reportedDepth = false
    var context = ExpressionContext()

    /// Parses `source` (file number `file`), or only `range` of it for a template placeholder.
    init(source: SourceFile, file: Int, range: Range<Int>? = nil) {
        self.lexer = Lexer(bytes: source.bytes, file: file, start: range?.lowerBound ?? 0, end: range?.upperBound)
        self.file = file
        self.source = source
    }

    /// Lexical diagnostics first, then syntax ones, in one bag.
    mutating func takeDiagnostics() -> DiagnosticBag {
        var all = lexer.diagnostics
        all.append(contentsOf: diagnostics)
        return all
    }

    // MARK: Cursor

    private mutating func fill(_ ahead: Int) {
        while buffer.count - bufferIndex <= ahead {
            if let last = buffer.last, last.kind == .endOfFile {
                buffer.append(last)
            } else {
                buffer.append(lexer.next())
            }
        }
    }

    var current: Token {
        mutating get {
            fill(0)
            return buffer[bufferIndex]
        }
    }

    var isAtEnd: Bool { mutating get { current.kind == .endOfFile } }

    mutating func peek(_ ahead: Int) -> Token {
        fill(ahead)
        return buffer[bufferIndex + ahead]
    }

    @discardableResult
    mutating func advance() -> Token {
        let t = current
        if t.kind != .endOfFile {
            bufferIndex += 1
            lastConsumed = t
            if bufferIndex > 1024 {
                buffer.removeFirst(bufferIndex)
                bufferIndex = 0
            }
        }
        return t
    }

    var previousSpan: Span { mutating get { lastConsumed?.span ?? current.span } }

    mutating func check(_ kind: TokenKind) -> Bool { current.kind == kind }
    mutating func check(_ p: Punct) -> Bool { current.kind == .punct(p) }
    mutating func check(_ k: Keyword) -> Bool { current.kind == .keyword(k) }

    /// The current token is the contextual keyword `word`.
    mutating func checkWord(_ word: String) -> Bool { isWord(current, word) }
    func isWord(_ t: Token, _ word: String) -> Bool {
        t.kind == .identifier && t.value == .string(word)
    }

    mutating func accept(_ p: Punct) -> Token? { check(p) ? advance() : nil }
    mutating func accept(_ k: Keyword) -> Token? { check(k) ? advance() : nil }
    mutating func acceptWord(_ w: String) -> Token? { checkWord(w) ? advance() : nil }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .identifier: "`\(source.text(of: t.span))`"
        case .endOfFile: "end of file"
        case .string: "string \(source.text(of: t.span).prefix(40))"
        case .integer, .double, .duration: "`\(source.text(of: t.span))`"
        default: t.kind.description
        }
    }

    // MARK: Errors

    mutating func error(_ d: Diagnostic) {
        if !recovering { diagnostics.report(d) }
        recovering = true
    }

    /// Reports "expected X, found Y" at the current token.
    mutating func expected(_ what: String, help: String? = nil, secondary: [Label] = []) {
        let t = current
        var d = Diagnostic(.expectedToken, "expected \(what), found \(describe(t))", at: t.span,
                           label: "expected \(what)", secondary: secondary, help: help)
        if case .punct(let p) = t.kind, [.rparen, .rbrace, .rbracket].contains(p) {
            d = Diagnostic(.unexpectedClosingDelimiter, "unexpected closing delimiter `\(p.rawValue)`", at: t.span,
                           label: "expected \(what)", secondary: secondary)
        }
        error(d)
    }

    mutating func expect(_ p: Punct, _ what: String? = nil) -> Token? {
        if let t = accept(p) { return t }
        expected(what ?? "`\(p.rawValue)`")
        return nil
    }

    mutating func expectWord(_ w: String) -> Token? {
        if let t = acceptWord(w) { return t }
        expected("`\(w)`")
        return nil
    }

    mutating func expectIdentifier(_ what: String) -> Identifier? {
        if current.kind == .identifier, case .string(let name) = current.value {
            let t = advance()
            return Identifier(name: name, span: t.span)
        }
        if case .keyword(let k) = current.kind {
            error(Diagnostic(.reservedWord, "`\(k.rawValue)` is a reserved word and cannot be used as \(what)",
                             at: current.span, help: "choose another name, e.g. `\(k.rawValue)_`"))
            advance()
            return nil
        }
        expected(what)
        return nil
    }

    mutating func expectPath(_ what: String) -> Path? {
        guard let first = expectIdentifier(what) else { return nil }
        var segments = [first]
        while check(.dot), peek(1).kind == .identifier {
            advance()
            if let next = expectIdentifier("a field name") { segments.append(next) }
        }
        return Path(segments: segments)
    }

    mutating func expectDuration(_ what: String) -> DurationLiteral? {
        if current.kind == .duration, case .duration(let ms) = current.value {
            let t = advance()
            return DurationLiteral(milliseconds: ms, span: t.span)
        }
        if current.kind == .duration {
            // A malformed duration, already reported by the lexer.
            advance()
            return nil
        }
        if current.kind == .integer {
            error(Diagnostic(.missingDurationUnit, "\(what) needs a unit", at: current.span,
                             help: "write e.g. `\(source.text(of: current.span))s` or `\(source.text(of: current.span))m`"))
            advance()
            return nil
        }
        expected("\(what) (a duration such as `30s` or `10m`)")
        return nil
    }

    // MARK: Recovery

    /// A token at which a clause or declaration may resume: first on its line and a
    /// known clause or declaration word.
    func isSyncPoint(_ t: Token, clauses: [String]) -> Bool {
        if t.startsLine, t.kind == .keyword(.within) { return clauses.contains("within") }
        guard t.startsLine, t.kind == .identifier, case .string(let w) = t.value else { return false }
        return Self.declarationKeywords.contains(w) || clauses.contains(w)
    }

    /// Skips to the next clause or declaration that starts a line.
    mutating func synchronize(clauses: [String]) {
        while !isAtEnd && !isSyncPoint(current, clauses: clauses) { advance() }
        recovering = false
    }

    // MARK: Nesting

    /// Enters one level of nesting; false (and one V0105) when past `maxNesting`.
    mutating func enter() -> Bool {
        depth += 1
        if depth > Self.maxNesting {
            if !reportedDepth {
                reportedDepth = true
                error(Diagnostic(.nestingTooDeep, "expression nests too deeply", at: current.span,
                                 notes: ["expressions may nest at most \(Self.maxNesting) levels"],
                                 help: "split the condition into several steps or `expect` clauses"))
            }
            recovering = true
            return false
        }
        return true
    }

    mutating func leave() { depth -= 1 }
}
