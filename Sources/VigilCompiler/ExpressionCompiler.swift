import VigilLanguage
import VigilRegex
import VigilRuntime

/// Lowers typed expressions to closures over event slots and bindings.
struct ExpressionCompiler {
    /// Where a bare field name is read from.
    enum FieldSource {
        /// A slot of the current event of this stream.
        case event(StreamSchema)
        /// The partition key (alert templates of pattern rules).
        case key([String])
        /// A flow's enriched event: the stream's slots, then each joined reference's
        /// columns from its offset on.
        case enriched(StreamSchema, tables: [String: (offset: Int, schema: StreamSchema)])
    }

    var fields: FieldSource
    /// Binding name -> (binding index, schema of its stream).
    var bindings: [String: (index: Int, schema: StreamSchema)]
    /// For window and session rules: collects the aggregates and gives each a slot.
    var aggregates: AggregateCollector? = nil

    func compile(_ e: TypedExpr) -> CompiledExpr {
        switch e.node {
        case .literal(let l):
            let v = Self.value(l)
            return { _ in v }
        case .tableField(let table, let name):
            if case .enriched(_, let tables) = fields, let (offset, schema) = tables[table] {
                let slot = offset + schema.slot(of: name)!
                return { ctx in ctx.field(slot) }
            }
            return compileField(name)
        case .field(let name):
            return compileField(name)
        case .builtin(let name):
            switch name {
            case "detected_at": return { ctx in .timestamp(ctx.detectedAt) }
            case "window_start", "session_start": return { ctx in ctx.group.map { .timestamp($0.start) } ?? .null }
            case "window_end", "session_end": return { ctx in ctx.group.map { .timestamp($0.end) } ?? .null }
            case "duration": return { ctx in ctx.group.map { .duration($0.end.minus($0.start)) } ?? .null }
            default: return { _ in .null }
            }
        case .stepField(let step, let selector, let field):
            let (b, schema) = bindings[step]!
            let slot = schema.slot(of: field)!
            let last = selector == .last
            return { ctx in ctx.boundField(b, last: last, slot) }
        case .stepCount(let step):
            let b = bindings[step]!.index
            return { ctx in .int(Int64(ctx.boundCount(b))) }
        case .stepAggregate(let function, let step, let field):
            let (b, schema) = bindings[step]!
            let slot = schema.slot(of: field)!
            let type = schema.fields[slot].type
            return { ctx in Aggregates.apply(function, ctx.boundEvents(b), slot: slot, type: type) }
        case .groupAggregate(let function, let argument):
            guard let collector = aggregates else { return { _ in .null } }
            let slot = collector.slot(function, argument)
            return { ctx in ctx.group?.results[slot] ?? .null }
        case .unary(let op, let x):
            let fx = compile(x)
            if op == .not {
                return { ctx in
                    if case .bool(let b) = fx(ctx) { return .bool(!b) }
                    return .null
                }
            }
            return { ctx in
                switch fx(ctx) {
                case .int(let n): return .int(0 &- n)
                case .double(let d): return .double(-d)
                case .duration(let d): return .duration(0 &- d)
                default: return .null
                }
            }
        case .binary(let op, let l, let r):
            if let fast = fieldAgainstLiteral(op, l, r) { return fast }
            return binary(op, compile(l), compile(r))
        case .inList(let x, let items, let negated):
            let fx = compile(x)
            let fitems = items.map(compile)
            return { ctx in
                let v = fx(ctx)
                if v.isNull { return .null }
                var found = false
                for f in fitems where ValueOps.compare(v, f(ctx)) == 0 {
                    found = true
                    break
                }
                return .bool(found != negated)
            }
        case .isNull(let x, let negated):
            let fx = compile(x)
            return { ctx in .bool(fx(ctx).isNull != negated) }
        case .matches(let x, let pattern, let flags):
            let fx = compile(x)
            // Checked by the front end already; compiled and JIT-ed once here, at load.
            guard let regex = try? CompiledRegex(pattern: pattern, flags: flags) else { return { _ in .null } }
            return { ctx in
                guard case .string(let s) = fx(ctx) else { return .null }
                return .bool(regex.matches(s))
            }
        case .call(let name, let args):
            return Functions.compile(name, args.map(compile))
        }
    }

    private func compileField(_ name: String) -> CompiledExpr {
        switch fields {
        case .event(let schema), .enriched(let schema, _):
            let slot = schema.slot(of: name)!
            return { ctx in ctx.field(slot) }
        case .key(let names):
            guard let i = names.firstIndex(of: name) else { return { _ in .null } }
            return { ctx in ctx.key[i] }
        }
    }

    /// `field OP literal` over the current event, the commonest condition: the field's
    /// own type is compared in place (same ordering as `ValueOps.compare`); anything
    /// else — null, another type — goes through the general comparison.
    private func fieldAgainstLiteral(_ op: BinaryOperator, _ l: TypedExpr, _ r: TypedExpr) -> CompiledExpr? {
        guard [.eq, .ne, .lt, .le, .gt, .ge].contains(op), case .field(let name) = l.node, case .literal(let literal) = r.node,
              case .event(let schema) = fields, let slot = schema.slot(of: name) else { return nil }
        let general = binary(op, compile(l), compile(r))
        switch literal {
        case .string(let k):
            if op == .eq || op == .ne {
                return { ctx in
                    if case .string(let x) = ctx.field(slot) { return Self.holds(op, x == k ? 0 : 1) }
                    return general(ctx)
                }
            }
            return { ctx in
                if case .string(let x) = ctx.field(slot) { return Self.holds(op, x < k ? -1 : (x == k ? 0 : 1)) }
                return general(ctx)
            }
        case .double(let k):
            return { ctx in
                switch ctx.field(slot) {
                case .double(let x): return Self.holds(op, x < k ? -1 : (x == k ? 0 : 1))
                case .int(let n): let x = Double(n); return Self.holds(op, x < k ? -1 : (x == k ? 0 : 1))
                default: return general(ctx)
                }
            }
        case .int(let k):
            let kd = Double(k)
            return { ctx in
                switch ctx.field(slot) {
                case .int(let x): return Self.holds(op, x < k ? -1 : (x == k ? 0 : 1))
                case .double(let x): return Self.holds(op, x < kd ? -1 : (x == kd ? 0 : 1))
                default: return general(ctx)
                }
            }
        default:
            return nil
        }
    }

    @inline(__always) private static func holds(_ op: BinaryOperator, _ c: Int) -> Value {
        switch op {
        case .eq: .bool(c == 0)
        case .ne: .bool(c != 0)
        case .lt: .bool(c < 0)
        case .le: .bool(c <= 0)
        case .gt: .bool(c > 0)
        default: .bool(c >= 0)
        }
    }

    private func binary(_ op: BinaryOperator, _ l: @escaping CompiledExpr, _ r: @escaping CompiledExpr) -> CompiledExpr {
        switch op {
        case .and:
            return { ctx in
                let a = l(ctx)
                if case .bool(false) = a { return .bool(false) }
                let b = r(ctx)
                if case .bool(false) = b { return .bool(false) }
                return a.isNull || b.isNull ? .null : .bool(true)
            }
        case .or:
            return { ctx in
                let a = l(ctx)
                if case .bool(true) = a { return .bool(true) }
                let b = r(ctx)
                if case .bool(true) = b { return .bool(true) }
                return a.isNull || b.isNull ? .null : .bool(false)
            }
        case .eq: return { ctx in ValueOps.compare(l(ctx), r(ctx)).map { .bool($0 == 0) } ?? .null }
        case .ne: return { ctx in ValueOps.compare(l(ctx), r(ctx)).map { .bool($0 != 0) } ?? .null }
        case .lt: return { ctx in ValueOps.compare(l(ctx), r(ctx)).map { .bool($0 < 0) } ?? .null }
        case .le: return { ctx in ValueOps.compare(l(ctx), r(ctx)).map { .bool($0 <= 0) } ?? .null }
        case .gt: return { ctx in ValueOps.compare(l(ctx), r(ctx)).map { .bool($0 > 0) } ?? .null }
        case .ge: return { ctx in ValueOps.compare(l(ctx), r(ctx)).map { .bool($0 >= 0) } ?? .null }
        case .add, .subtract, .multiply, .divide, .remainder:
            let symbol = op.rawValue
            return { ctx in ValueOps.arithmetic(symbol, l(ctx), r(ctx)) }
        }
    }

    static func value(_ l: TypedExpr.Literal) -> Value {
        switch l {
        case .null: .null
        case .int(let n): .int(n)
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        case .bool(let b): .bool(b)
        case .duration(let ms): .duration(ms)
        }
    }

    /// Whether `e` reads bindings of earlier steps (then it cannot be memoised per event).
    /// `e` as plain tests of the event's fields against literals, all of which must
    /// hold (a chain of `and`s of `field OP literal`); nil when it is anything else.
    static func fieldTests(_ e: TypedExpr, _ schema: StreamSchema) -> [FieldTest]? {
        switch e.node {
        case .binary(.and, let l, let r):
            guard let a = fieldTests(l, schema), let b = fieldTests(r, schema) else { return nil }
            return a + b
        case .binary(let op, let l, let r):
            guard case .field(let name) = l.node, let literal = constant(r), let slot = schema.slot(of: name) else { return nil }
            let test: FieldTest.Op
            switch op {
            case .eq: test = .eq
            case .ne: test = .ne
            case .lt: test = .lt
            case .le: test = .le
            case .gt: test = .gt
            case .ge: test = .ge
            default: return nil
            }
            return [FieldTest(slot: slot, op: test, literal: literal)]
        default:
            return nil
        }
    }

    /// The plain tests among `e`'s top-level `and`ed conjuncts: each must hold for `e`
    /// to (a conjunct that is not true makes the conjunction not true, null included).
    static func necessaryTests(_ e: TypedExpr, _ schema: StreamSchema) -> [FieldTest] {
        if case .binary(.and, let l, let r) = e.node { return necessaryTests(l, schema) + necessaryTests(r, schema) }
        return fieldTests(e, schema) ?? []
    }

    /// A literal, or a negated one (`-1` is `-` applied to `1`), as its value: what the
    /// compiled expression always evaluates to.
    private static func constant(_ e: TypedExpr) -> Value? {
        switch e.node {
        case .literal(let l): return value(l)
        case .unary(.negate, let x):
            guard case .literal(let l) = x.node else { return nil }
            switch value(l) {
            case .int(let n): return .int(0 &- n)
            case .double(let d): return .double(-d)
            case .duration(let d): return .duration(0 &- d)
            default: return .null
            }
        default: return nil
        }
    }

    static func usesBindings(_ e: TypedExpr) -> Bool {
        switch e.node {
        case .stepField, .stepCount, .stepAggregate: return true
        case .literal, .field, .tableField, .builtin: return false
        case .groupAggregate(_, let a): return a.map(usesBindings) ?? false
        case .unary(_, let x), .isNull(let x, _), .matches(let x, _, _): return usesBindings(x)
        case .binary(_, let l, let r): return usesBindings(l) || usesBindings(r)
        case .inList(let x, let items, _): return usesBindings(x) || items.contains(where: usesBindings)
        case .call(_, let args): return args.contains(where: usesBindings)
        }
    }
}
