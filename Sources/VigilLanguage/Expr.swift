/// An expression with its span.
public struct Expr: Sendable {
    public indirect enum Kind: Sendable {
        case integer(Int64)
        case double(Double)
        case string(String)
        case bool(Bool)
        case null
        case duration(Int64)
        /// A field, a step binding (`big.amount`, `small.first.country`) or a built-in name.
        case path(Path)
        case call(Identifier, [Expr])
        case unary(UnaryOperator, Expr)
        case binary(BinaryOperator, Expr, Expr)
        case inList(Expr, [Expr], negated: Bool)
        case isNull(Expr, negated: Bool)
        case matches(Expr, RegexLiteral)
        /// Stands in for an expression the parser could not read; already reported.
        case error
    }

    public var kind: Kind
    public var span: Span
}

/// `/pattern/flags`
public struct RegexLiteral: Sendable {
    public var pattern: String
    public var flags: String
    public var span: Span
    /// Byte offset of the pattern's first byte in the file, to map PCRE2's error offset.
    public var patternStart: Int
}

public enum UnaryOperator: String, Sendable {
    case not
    case negate = "-"
}

public enum BinaryOperator: String, Sendable {
    case or, and
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"

    var isComparison: Bool {
        switch self {
        case .eq, .ne, .lt, .le, .gt, .ge: true
        default: false
        }
    }
}
