/// The kinds of token the lexer produces.
public enum TokenKind: Equatable, Sendable {
    case identifier
    case keyword(Keyword)
    case integer
    case double
    case duration
    case string
    case regex
    case punct(Punct)
    case endOfFile

    /// How the kind reads in "expected X, found Y" messages.
    var description: String {
        switch self {
        case .identifier: "identifier"
        case .keyword(let k): "`\(k.rawValue)`"
        case .integer: "integer"
        case .double: "number"
        case .duration: "duration"
        case .string: "string"
        case .regex: "regex"
        case .punct(let p): "`\(p.rawValue)`"
        case .endOfFile: "end of file"
        }
    }
}

/// Reserved words: they can never be field or step names. Everything else that reads
/// like a keyword (`rule`, `where`, `alert`, ...) is contextual, so a field may be
/// called `type`, `severity` or `window`.
public enum Keyword: String, CaseIterable, Sendable {
    case and, or, not, `in`, `is`, matches, then, next, within, until
    case `true`, `false`, null
}

/// Punctuation and operators.
public enum Punct: String, CaseIterable, Sendable {
    case lparen = "(", rparen = ")", lbrace = "{", rbrace = "}", lbracket = "[", rbracket = "]"
    case comma = ",", colon = ":", dot = ".", question = "?"
    case plus = "+", minus = "-", star = "*", slash = "/", percent = "%"
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", assign = "="
}

/// A decoded literal value carried by a token.
public enum TokenValue: Sendable, Equatable {
    case none
    case integer(Int64)
    case double(Double)
    /// Milliseconds.
    case duration(Int64)
    case string(String)
    /// Pattern and flags of a `/.../flags` literal.
    case regex(pattern: String, flags: String, patternStart: Int)
}

/// One token with its span and decoded value.
public struct Token: Sendable {
    public var kind: TokenKind
    public var span: Span
    public var value: TokenValue
    /// The token is the first one on its line; used for error recovery and to tell a
    /// trailing quantifier `+` from a binary `+`.
    public var startsLine: Bool

    public init(kind: TokenKind, span: Span, value: TokenValue = .none, startsLine: Bool) {
        self.kind = kind
        self.span = span
        self.value = value
        self.startsLine = startsLine
    }
}
