/// Aggregate functions over a list of values (a step's events; later windows).
public enum Aggregates {
    public static func apply(_ function: String, _ values: [Value], type: FieldType) -> Value {
        let present = values.filter { !$0.isNull }
        switch function {
        case "count": return .int(Int64(present.count))
        case "first": return present.first ?? .null
        case "last": return present.last ?? .null
        case "count_distinct": return .int(Int64(Set(present).count))
        case "min": return present.min { (ValueOps.compare($0, $1) ?? 0) < 0 } ?? .null
        case "max": return present.max { (ValueOps.compare($0, $1) ?? 0) < 0 } ?? .null
        case "sum":
            if present.isEmpty { return .null }
            switch type {
            case .int: return .int(present.reduce(0) { if case .int(let n) = $1 { $0 &+ n } else { $0 } })
            case .duration: return .duration(present.reduce(0) { if case .duration(let n) = $1 { $0 &+ n } else { $0 } })
            default: return .double(present.reduce(0.0) { $0 + ($1.asDouble ?? 0) })
            }
        case "avg":
            if present.isEmpty { return .null }
            let mean = present.reduce(0.0) { $0 + ($1.asDouble ?? 0) } / Double(present.count)
            return type == .duration ? .duration(Int64(mean.rounded())) : .double(mean)
        case "p50", "p95", "p99":
            if present.isEmpty { return .null }
            let q = function == "p50" ? 0.50 : function == "p95" ? 0.95 : 0.99
            let sorted = present.compactMap(\.asDouble).sorted()
            // Nearest rank.
            let rank = max(1, Int((q * Double(sorted.count)).rounded(.up)))
            let v = sorted[min(rank, sorted.count) - 1]
            return type == .duration ? .duration(Int64(v)) : .double(v)
        default: return .null
        }
    }
}
