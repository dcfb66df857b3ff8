/// Operators on values with the language's rules: numeric promotion, SQL-style null
/// (a comparison with null is false, arithmetic with null is null).
public enum ValueOps {
    /// -1, 0, 1, or nil when either side is null or the types do not compare.
    @inlinable
    public static func compare(_ a: Value, _ b: Value) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.string(let x), .string(let y)): return x < y ? -1 : (x == y ? 0 : 1)
        case (.timestamp(let x), .timestamp(let y)), (.duration(let x), .duration(let y)):
            return x < y ? -1 : (x == y ? 0 : 1)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
        case (.double, _), (_, .double):
            guard let x = a.asDouble, let y = b.asDouble, !a.isTemporal, !b.isTemporal else { return nil }
            return x < y ? -1 : (x == y ? 0 : 1)
        default: return nil
        }
    }

    public static func arithmetic(_ op: String, _ a: Value, _ b: Value) -> Value {
        switch (a, b) {
        case (.null, _), (_, .null): return .null
        case (.int(let x), .int(let y)):
            switch op {
            case "+": return .int(x &+ y)
            case "-": return .int(x &- y)
            case "*": return .int(x &* y)
            case "/": return y == 0 ? .null : .int(x / y)
            default: return y == 0 ? .null : .int(x % y)
            }
        case (.string(let x), .string(let y)) where op == "+": return .string(x + y)
        case (.timestamp(let x), .timestamp(let y)) where op == "-": return .duration(x &- y)
        case (.timestamp(let x), .duration(let y)): return .timestamp(op == "+" ? x &+ y : x &- y)
        case (.duration(let x), .timestamp(let y)): return .timestamp(x &+ y)
        case (.duration(let x), .duration(let y)): return .duration(op == "+" ? x &+ y : x &- y)
        case (.duration(let x), .int(let y)):
            if op == "*" { return .duration(x &* y) }
            return y == 0 ? .null : .duration(x / y)
        default:
            guard let x = a.asDouble, let y = b.asDouble else { return .null }
            switch op {
            case "+": return .double(x + y)
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/": return y == 0 ? .null : .double(x / y)
            default: return y == 0 ? .null : .double(x.truncatingRemainder(dividingBy: y))
            }
        }
    }
}

extension Value {
    @inlinable var isTemporal: Bool {
        switch self {
        case .timestamp, .duration: true
        default: false
        }
    }

    /// True only for `.bool(true)`; null and everything else is false.
    @inlinable public var isTrue: Bool { if case .bool(true) = self { true } else { false } }
}
