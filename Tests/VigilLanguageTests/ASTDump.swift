@testable import VigilLanguage

/// A compact S-expression dump of the AST, so parser tests read as one line each.
enum ASTDump {
    static func expr(_ e: Expr) -> String {
        switch e.kind {
        case .integer(let n): return "\(n)"
        case .double(let d): return "\(d)"
        case .string(let s): return "\"\(s)\""
        case .bool(let b): return "\(b)"
        case .null: return "null"
        case .duration(let ms): return "\(ms)ms"
        case .path(let p): return p.text
        case .call(let n, let args): return "\(n.name)(" + args.map(expr).joined(separator: ", ") + ")"
        case .unary(let op, let x): return "(\(op.rawValue) \(expr(x)))"
        case .binary(let op, let l, let r): return "(\(op.rawValue) \(expr(l)) \(expr(r)))"
        case .inList(let x, let items, let neg): return "(\(neg ? "not in" : "in") \(expr(x)) [" + items.map(expr).joined(separator: ", ") + "])"
        case .isNull(let x, let neg): return "(\(neg ? "is not null" : "is null") \(expr(x)))"
        case .matches(let x, let r): return "(matches \(expr(x)) /\(r.pattern)/\(r.flags))"
        case .error: return "<error>"
        }
    }

    static func quantifier(_ q: Quantifier?) -> String {
        guard let q else { return "" }
        return "{\(q.min),\(q.max.map(String.init) ?? "")}"
    }

    static func step(_ s: Step) -> String {
        var out = s.contiguity == .start ? "" : s.contiguity.rawValue + " "
        if s.negation != nil { out += "not " }
        if let l = s.label { out += l.name + ": " }
        switch s.body {
        case .predicate(let stream, let e):
            if let stream { out += stream.name + " where " }
            out += expr(e)
        case .alternatives(let alts, _):
            out += "(" + alts.map { "\($0.label.name): " + ($0.stream.map { $0.name + " where " } ?? "") + expr($0.predicate) }
                .joined(separator: " | ") + ")"
        }
        out += quantifier(s.quantifier)
        if let u = s.until { out += " until " + expr(u) }
        return out
    }

    static func pattern(_ p: Pattern?) -> String {
        p.map { $0.steps.map(step).joined(separator: " ; ") } ?? "-"
    }

    static func template(_ t: Template) -> String {
        t.parts.map {
            switch $0 {
            case .text(let s): return s
            case .placeholder(let e): return "{" + expr(e) + "}"
            }
        }.joined()
    }
}
