import VigilLanguage
import VigilRuntime

/// Prints typed expressions back as Vigil source, fully parenthesised only where
/// precedence needs it. Used by NFA dumps and explanations.
public enum ExprPrinter {
    /// The expression as Vigil source.
    public static func print(_ e: TypedExpr) -> String { text(e, 0) }

    private static func precedence(_ op: BinaryOperator) -> Int {
        switch op {
        case .or: 1
        case .and: 2
        case .eq, .ne, .lt, .le, .gt, .ge: 4
        case .add, .subtract: 5
        case .multiply, .divide, .remainder: 6
        }
    }

    private static func text(_ e: TypedExpr, _ outer: Int) -> String {
        switch e.node {
        case .literal(let l):
            switch l {
            case .null: return "null"
            case .int(let n): return String(n)
            case .double(let d): return formatDouble(d)
            case .string(let s): return JSON.quote(s)
            case .bool(let b): return b ? "true" : "false"
            case .duration(let ms): return formatDuration(ms)
            }
        case .field(let n): return n
        case .tableField(let t, let f): return "\(t).\(f)"
        case .builtin(let n): return n
        case .stepField(let step, let sel, let field):
            return sel == .single ? "\(step).\(field)" : "\(step).\(sel.rawValue).\(field)"
        case .stepCount(let step): return "count(\(step))"
        case .stepAggregate(let f, let step, let field): return "\(f)(\(step).\(field))"
        case .groupAggregate(let f, let arg): return "\(f)(\(arg.map { text($0, 0) } ?? ""))"
        case .unary(.not, let x): return wrap("not " + text(x, 3), outer > 3)
        case .unary(.negate, let x): return "-" + text(x, 7)
        case .binary(let op, let l, let r):
            let p = precedence(op)
            return wrap("\(text(l, p)) \(op.rawValue) \(text(r, p + 1))", outer > p)
        case .inList(let x, let items, let negated):
            return wrap("\(text(x, 5)) \(negated ? "not in" : "in") (\(items.map { text($0, 0) }.joined(separator: ", ")))", outer > 4)
        case .isNull(let x, let negated): return wrap("\(text(x, 5)) is \(negated ? "not " : "")null", outer > 4)
        case .matches(let x, let pattern, let flags): return wrap("\(text(x, 5)) matches /\(pattern)/\(flags)", outer > 4)
        case .call(let name, let args): return "\(name)(\(args.map { text($0, 0) }.joined(separator: ", ")))"
        }
    }

    private static func wrap(_ s: String, _ yes: Bool) -> String { yes ? "(\(s))" : s }
}

extension ExprPrinter {
    /// An alert message template as it would be written: `"card {card}: {count(small)}"`.
    public static func template(_ t: CheckedTemplate) -> String {
        var out = ""
        for part in t.parts {
            switch part {
            case .text(let s):
                for c in s {
                    switch c {
                    case "{": out += "\\{"
                    case "}": out += "\\}"
                    case "\"": out += "\\\""
                    case "\\": out += "\\\\"
                    case "\n": out += "\\n"
                    default: out.append(c)
                    }
                }
            case .value(let e): out += "{" + print(e) + "}"
            }
        }
        return "\"" + out + "\""
    }
}
