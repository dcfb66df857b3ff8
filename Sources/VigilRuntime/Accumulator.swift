/// The running state of one aggregate over a window or session: O(1) per event
/// (count_distinct holds the distinct values; quantiles a DDSketch).
public enum Accumulator: Sendable, Codable, Equatable {
    case count(Int64)
    case sumInt(Int64, seen: Bool)
    case sumDouble(Double, seen: Bool)
    case sumDuration(Int64, seen: Bool)
    case avg(sum: Double, count: Int64, duration: Bool)
    case minimum(Value)
    case maximum(Value)
    /// First / last by event time, then input and line (late updates can arrive earlier).
    case first(Value, ts: Int64, origin: EventOrigin?)
    case last(Value, ts: Int64, origin: EventOrigin?)
    case distinct(Set<Value>)
    case quantile(DDSketch, q: Double, duration: Bool)

    /// An empty accumulator for `function` over values of `type`.
    public static func start(_ function: String, type: FieldType?) -> Accumulator {
        switch function {
        case "count": return .count(0)
        case "sum":
            switch type {
            case .int?: return .sumInt(0, seen: false)
            case .duration?: return .sumDuration(0, seen: false)
            default: return .sumDouble(0, seen: false)
            }
        case "avg": return .avg(sum: 0, count: 0, duration: type == .duration)
        case "min": return .minimum(.null)
        case "max": return .maximum(.null)
        case "first": return .first(.null, ts: .max, origin: nil)
        case "last": return .last(.null, ts: .min, origin: nil)
        case "count_distinct": return .distinct([])
        case "p50": return .quantile(DDSketch(), q: 0.5, duration: type == .duration)
        case "p95": return .quantile(DDSketch(), q: 0.95, duration: type == .duration)
        default: return .quantile(DDSketch(), q: 0.99, duration: type == .duration)
        }
    }

    /// Adds one value (for `count`: 1 when it counts, as a bool or non-null value).
    public mutating func add(_ v: Value, ts: Int64, origin: EventOrigin) {
        switch self {
        case .count(let n):
            // count(): the caller passes true; count(cond): the condition's value.
            if v.isTrue { self = .count(n + 1) }
        case .sumInt(let s, let seen):
            if case .int(let x) = v { self = .sumInt(s &+ x, seen: true) } else { self = .sumInt(s, seen: seen) }
        case .sumDouble(let s, let seen):
            if let x = v.asDouble { self = .sumDouble(s + x, seen: true) } else { self = .sumDouble(s, seen: seen) }
        case .sumDuration(let s, let seen):
            if case .duration(let x) = v { self = .sumDuration(s &+ x, seen: true) } else { self = .sumDuration(s, seen: seen) }
        case .avg(let s, let n, let d):
            if let x = v.asDouble { self = .avg(sum: s + x, count: n + 1, duration: d) }
        case .minimum(let m):
            if !v.isNull, m.isNull || (ValueOps.compare(v, m) ?? 0) < 0 { self = .minimum(v) }
        case .maximum(let m):
            if !v.isNull, m.isNull || (ValueOps.compare(v, m) ?? 0) > 0 { self = .maximum(v) }
        case .first(_, let t, let o):
            if !v.isNull, Self.earlier((ts, origin), than: (t, o)) { self = .first(v, ts: ts, origin: origin) }
        case .last(_, let t, let o):
            if !v.isNull, o == nil || Self.earlier((t, o!), than: (ts, origin)) { self = .last(v, ts: ts, origin: origin) }
        case .distinct(var set):
            guard !v.isNull else { return }
            // Drop self's reference first so the insert does not copy the set.
            self = .count(0)
            set.insert(v)
            self = .distinct(set)
        case .quantile(var sketch, let q, let d):
            guard let x = v.asDouble else { return }
            self = .count(0)
            sketch.add(x)
            self = .quantile(sketch, q: q, duration: d)
        }
    }

    /// Folds in another accumulator of the same aggregate (two sessions joined by a late
    /// event): the result is the one a single accumulator over both groups' events gives.
    public mutating func merge(_ other: Accumulator) {
        switch (self, other) {
        case (.count(let a), .count(let b)): self = .count(a &+ b)
        case (.sumInt(let a, let x), .sumInt(let b, let y)): self = .sumInt(a &+ b, seen: x || y)
        case (.sumDouble(let a, let x), .sumDouble(let b, let y)): self = .sumDouble(a + b, seen: x || y)
        case (.sumDuration(let a, let x), .sumDuration(let b, let y)): self = .sumDuration(a &+ b, seen: x || y)
        case (.avg(let s, let n, let d), .avg(let t, let m, _)): self = .avg(sum: s + t, count: n + m, duration: d)
        case (.minimum, .minimum(let v)), (.maximum, .maximum(let v)):
            if !v.isNull { add(v, ts: 0, origin: EventOrigin(input: 0, line: 0)) }
        case (.first, .first(let v, let ts, let o?)), (.last, .last(let v, let ts, let o?)):
            add(v, ts: ts, origin: o)
        case (.distinct(var a), .distinct(let b)):
            self = .count(0)
            a.formUnion(b)
            self = .distinct(a)
        case (.quantile(var a, let q, let d), .quantile(let b, _, _)):
            self = .count(0)
            a.merge(b)
            self = .quantile(a, q: q, duration: d)
        default: break
        }
    }

    /// The aggregate's value so far.
    public var result: Value {
        switch self {
        case .count(let n): return .int(n)
        case .sumInt(let s, let seen): return seen ? .int(s) : .null
        case .sumDouble(let s, let seen): return seen ? .double(s) : .null
        case .sumDuration(let s, let seen): return seen ? .duration(s) : .null
        case .avg(let s, let n, let d):
            guard n > 0 else { return .null }
            return d ? .duration(Int64((s / Double(n)).rounded())) : .double(s / Double(n))
        case .minimum(let v), .maximum(let v), .first(let v, _, _), .last(let v, _, _): return v
        case .distinct(let set): return .int(Int64(set.count))
        case .quantile(let sketch, let q, let d):
            guard let x = sketch.quantile(q) else { return .null }
            return d ? .duration(Int64(x.rounded())) : .double(x)
        }
    }
}

extension Accumulator {
    /// Event-time order with input and line as tie-breakers; nil sorts last.
    static func earlier(_ a: (Int64, EventOrigin), than b: (Int64, EventOrigin?)) -> Bool {
        guard let bo = b.1 else { return true }
        return a.0 < b.0 || (a.0 == b.0 && a.1 < bo)
    }
}
