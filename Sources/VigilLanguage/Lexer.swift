/// Turns one file's bytes into tokens, reporting lexical errors and carrying on.
///
/// The lexer never fails: a bad character becomes a diagnostic and is skipped, so the
/// parser always gets a well-formed token stream ending in `.endOfFile`.
struct Lexer {
    private let bytes: [UInt8]
    private let file: Int
    private var pos: Int
    private let end: Int
    private var lineHasToken = false
    private var previousKind: TokenKind? = nil
    private(set) var diagnostics = DiagnosticBag()

    /// Lexes `bytes[start..<end]` of file number `file`.
    init(bytes: [UInt8], file: Int, start: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.file = file
        self.pos = start
        self.end = end ?? bytes.count
        // A sub-range (a template placeholder) never starts a line.
        self.lineHasToken = start != 0
    }

    /// Lexes everything up to the end of the range.
    ///
    /// - Complexity: O(n) in the range length.
    mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        while true {
            let token = next()
            tokens.append(token)
            if token.kind == .endOfFile { return tokens }
        }
    }

    /// The next token; `.endOfFile` forever once the range is exhausted.
    mutating func next() -> Token { nextToken() }

    private func span(_ start: Int) -> Span { Span(file: file, start: start, end: pos) }

    private func peek(_ ahead: Int = 0) -> UInt8? {
        pos + ahead < end ? bytes[pos + ahead] : nil
    }

    private mutating func skipTrivia() {
        while let c = peek() {
            if c == UInt8(ascii: "\n") {
                lineHasToken = false
                pos += 1
            } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") {
                pos += 1
            } else if c == UInt8(ascii: "#") {
                while let c = peek(), c != UInt8(ascii: "\n") { pos += 1 }
            } else {
                return
            }
        }
    }

    private mutating func make(_ kind: TokenKind, from start: Int, value: TokenValue = .none) -> Token {
        let token = Token(kind: kind, span: span(start), value: value, startsLine: !lineHasToken)
        lineHasToken = true
        previousKind = kind
        return token
    }

    private mutating func nextToken() -> Token {
        while true {
            skipTrivia()
            guard let c = peek() else {
                return Token(kind: .endOfFile, span: Span(file: file, start: end, end: end), startsLine: !lineHasToken)
            }
            let start = pos
            if isIdentStart(c) { return lexIdentifier(start) }
            if isDigit(c) { return lexNumber(start) }
            if c == UInt8(ascii: "\"") { return lexString(start) }
            if c == UInt8(ascii: "/"), previousKind == .keyword(.matches) { return lexRegex(start) }
            if let p = lexPunct() { return make(.punct(p), from: start) }
            skipBadCharacters(start)
        }
    }

    private func isIdentStart(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == UInt8(ascii: "_")
    }
    private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private func isIdentContinue(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }

    private mutating func lexIdentifier(_ start: Int) -> Token {
        while let c = peek(), isIdentContinue(c) { pos += 1 }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        if let k = Keyword(rawValue: text) { return make(.keyword(k), from: start) }
        return make(.identifier, from: start, value: .string(text))
    }

    /// Integers, decimals (`2.00`, `1e6`) and durations (`30s`, `1500ms`).
    private mutating func lexNumber(_ start: Int) -> Token {
        while let c = peek(), isDigit(c) || c == UInt8(ascii: "_") { pos += 1 }
        var isDouble = false
        if peek() == UInt8(ascii: "."), let d = peek(1), isDigit(d) {
            isDouble = true
            pos += 1
            while let c = peek(), isDigit(c) || c == UInt8(ascii: "_") { pos += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            var look = 1
            if let s = peek(1), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { look = 2 }
            if let d = peek(look), isDigit(d) {
                isDouble = true
                pos += look
                while let c = peek(), isDigit(c) { pos += 1 }
            }
        }
        let digits = String(decoding: bytes[start..<pos].filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        // A unit glued to the number makes a duration.
        if let c = peek(), isIdentStart(c) {
            let unitStart = pos
            while let c = peek(), isIdentContinue(c) { pos += 1 }
            let unit = String(decoding: bytes[unitStart..<pos], as: UTF8.self)
            return lexDuration(start, digits: digits, isDouble: isDouble, unit: unit, unitStart: unitStart)
        }
        if isDouble {
            return make(.double, from: start, value: .double(Double(digits) ?? 0))
        }
        guard let value = Int64(digits) else {
            diagnostics.report(Diagnostic(
                .integerTooLarge, "integer literal is too large", at: span(start),
                notes: ["the largest integer is \(Int64.max)"]))
            return make(.integer, from: start)
        }
        return make(.integer, from: start, value: .integer(value))
    }

    private mutating func lexDuration(_ start: Int, digits: String, isDouble: Bool, unit: String, unitStart: Int) -> Token {
        let units: [String: Int64] = ["ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
        guard let scale = units[unit] else {
            let unitSpan = Span(file: file, start: unitStart, end: pos)
            let help = Suggest.closest(to: unit, in: ["ms", "s", "m", "h", "d"]).map { "did you mean `\($0)`?" }
                ?? "durations take one of the units `ms`, `s`, `m`, `h`, `d`"
            diagnostics.report(Diagnostic(.unknownDurationUnit, "unknown duration unit `\(unit)`", at: unitSpan, help: help))
            return make(.duration, from: start)
        }
        if isDouble {
            diagnostics.report(Diagnostic(
                .malformedNumber, "a duration must be a whole number of `\(unit)`", at: span(start),
                help: "use a smaller unit, e.g. `1500ms` instead of `1.5s`"))
            return make(.duration, from: start)
        }
        guard let n = Int64(digits) else {
            diagnostics.report(Diagnostic(.durationTooLarge, "duration is too large", at: span(start),
                                          notes: ["durations are held in milliseconds and must fit in 64 bits"]))
            return make(.duration, from: start)
        }
        let (ms, overflow) = n.multipliedReportingOverflow(by: scale)
        if overflow {
            diagnostics.report(Diagnostic(.durationTooLarge, "duration is too large", at: span(start),
                                          notes: ["durations are held in milliseconds and must fit in 64 bits"]))
            return make(.duration, from: start)
        }
        return make(.duration, from: start, value: .duration(ms))
    }

    /// Inside a placeholder, a quote right after `(`, `,`, `=`, `<`, `>` or `+` (where
    /// an expression expects a value) opens a nested string; any other quote ends the
    /// string, so `"user {user logged in"` still reports the unclosed `{`.
    private func opensNestedString() -> Bool {
        var i = pos - 1
        while i >= 0, bytes[i] == UInt8(ascii: " ") { i -= 1 }
        guard i >= 0 else { return false }
        return [UInt8(ascii: "("), UInt8(ascii: ","), UInt8(ascii: "="), UInt8(ascii: "<"), UInt8(ascii: ">"),
                UInt8(ascii: "+")].contains(bytes[i])
    }

    /// A string. Inside `{name...}` (a message placeholder) strings may nest, as in
    /// `"{count(type == "b")} bad"`; write `\{` for a literal brace before a letter.
    private mutating func lexString(_ start: Int) -> Token {
        pos += 1
        var out: [UInt8] = []
        var depth = 0
        while true {
            guard let c = peek(), c != UInt8(ascii: "\n") else {
                diagnostics.report(Diagnostic(
                    .unterminatedString, "unterminated string", at: Span(file: file, start: start, end: start + 1),
                    label: "this string is never closed", help: "add a closing `\"` before the end of the line"))
                return make(.string, from: start, value: .string(String(decoding: out, as: UTF8.self)))
            }
            if c == UInt8(ascii: "\""), depth > 0, opensNestedString() {
                // A string inside a placeholder: kept as written for the template parser.
                out.append(c)
                pos += 1
                while let d = peek(), d != UInt8(ascii: "\""), d != UInt8(ascii: "\n") {
                    out.append(d)
                    pos += 1
                    if d == UInt8(ascii: "\\"), let e = peek(), e != UInt8(ascii: "\n") {
                        out.append(e)
                        pos += 1
                    }
                }
                if peek() == UInt8(ascii: "\"") {
                    out.append(UInt8(ascii: "\""))
                    pos += 1
                }
                continue
            }
            if c == UInt8(ascii: "\"") {
                pos += 1
                return make(.string, from: start, value: .string(String(decoding: out, as: UTF8.self)))
            }
            if c == UInt8(ascii: "{"), let next = peek(1), isIdentStart(next) { depth += 1 }
            if c == UInt8(ascii: "}"), depth > 0 { depth -= 1 }
            if c == UInt8(ascii: "\\") {
                let escStart = pos
                pos += 1
                guard let e = peek(), e != UInt8(ascii: "\n") else { continue }
                pos += 1
                switch e {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "{"), UInt8(ascii: "}"): out.append(e)
                default:
                    while let c = peek(), c & 0xC0 == 0x80 { pos += 1 }
                    diagnostics.report(Diagnostic(
                        .invalidEscape, "unknown escape sequence `\(String(decoding: bytes[escStart..<pos], as: UTF8.self))`",
                        at: Span(file: file, start: escStart, end: pos),
                        help: "the escapes are `\\n`, `\\t`, `\\r`, `\\\"`, `\\\\`, `\\{` and `\\}`"))
                }
                continue
            }
            out.append(c)
            pos += 1
        }
    }

    private mutating func lexRegex(_ start: Int) -> Token {
        pos += 1
        let patternStart = pos
        var pattern: [UInt8] = []
        while true {
            guard let c = peek(), c != UInt8(ascii: "\n") else {
                diagnostics.report(Diagnostic(
                    .unterminatedRegex, "unterminated regex", at: Span(file: file, start: start, end: start + 1),
                    label: "this regex is never closed", help: "add a closing `/`; write `\\/` for a slash inside it"))
                return make(.regex, from: start, value: .regex(pattern: "", flags: "", patternStart: patternStart))
            }
            pos += 1
            if c == UInt8(ascii: "/") { break }
            if c == UInt8(ascii: "\\"), peek() == UInt8(ascii: "/") {
                pattern.append(UInt8(ascii: "/"))
                pos += 1
                continue
            }
            pattern.append(c)
        }
        let flagStart = pos
        while let c = peek(), isIdentContinue(c) { pos += 1 }
        let flags = String(decoding: bytes[flagStart..<pos], as: UTF8.self)
        return make(.regex, from: start, value: .regex(
            pattern: String(decoding: pattern, as: UTF8.self), flags: flags, patternStart: patternStart))
    }

    private mutating func lexPunct() -> Punct? {
        guard let c = peek() else { return nil }
        let followedByEquals = peek(1) == UInt8(ascii: "=")
        let p: Punct
        var length = 1
        switch c {
        case UInt8(ascii: "="): p = followedByEquals ? .eq : .assign
        case UInt8(ascii: "!"):
            guard followedByEquals else { return nil }
            p = .ne
        case UInt8(ascii: "<"): p = followedByEquals ? .le : .lt
        case UInt8(ascii: ">"): p = followedByEquals ? .ge : .gt
        case UInt8(ascii: "("): p = .lparen
        case UInt8(ascii: ")"): p = .rparen
        case UInt8(ascii: "{"): p = .lbrace
        case UInt8(ascii: "}"): p = .rbrace
        case UInt8(ascii: "["): p = .lbracket
        case UInt8(ascii: "]"): p = .rbracket
        case UInt8(ascii: ","): p = .comma
        case UInt8(ascii: ":"): p = .colon
        case UInt8(ascii: "."): p = .dot
        case UInt8(ascii: "?"): p = .question
        case UInt8(ascii: "+"): p = .plus
        case UInt8(ascii: "-"): p = .minus
        case UInt8(ascii: "*"): p = .star
        case UInt8(ascii: "/"): p = .slash
        case UInt8(ascii: "%"): p = .percent
        default: return nil
        }
        if p.rawValue.utf8.count == 2 { length = 2 }
        pos += length
        return p
    }

    /// Reports a run of characters the language has no use for as one diagnostic.
    private mutating func skipBadCharacters(_ start: Int) {
        let first = decodeScalar(at: pos)
        pos += first.length
        while let c = peek(), !isIdentStart(c), !isDigit(c), c != UInt8(ascii: " "), c != UInt8(ascii: "\n"),
              c != UInt8(ascii: "\t"), c != UInt8(ascii: "\r"), c != UInt8(ascii: "\""), c != UInt8(ascii: "#") {
            let save = pos
            if lexPunct() != nil { pos = save; break }
            pos += decodeScalar(at: pos).length
        }
        let shown = first.scalar.map { s in
            s.value < 0x20 || s.value == 0x7F
                ? "U+\(hex4(s.value))"
                : "`\(Character(s))`"
        } ?? "byte"
        diagnostics.report(Diagnostic(
            .unexpectedCharacter, "unexpected character \(shown)", at: span(start),
            label: pos - start > first.length ? "these characters are not part of the language" : nil))
        // Keep line tracking honest across the skipped run.
        lineHasToken = true
    }

    private func hex4(_ v: UInt32) -> String {
        let digits = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private func decodeScalar(at i: Int) -> (scalar: Unicode.Scalar?, length: Int) {
        let b = bytes[i]
        let length = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
        let n = min(length, end - i)
        let s = String(decoding: bytes[i..<(i + n)], as: UTF8.self).unicodeScalars.first
        return (s, max(1, n))
    }
}
