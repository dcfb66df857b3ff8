/// Built-in scalar functions and aggregates, with their signatures.
enum Builtins {
    /// Scalar functions: name -> (parameter types, result). `nil` parameters mean the
    /// signature is checked by hand (coalesce, abs).
    static let scalar: [String: (params: [ValueType]?, result: ValueType?)] = [
        "lower": ([.string], .string),
        "upper": ([.string], .string),
        "trim": ([.string], .string),
        "len": ([.string], .int),
        "starts_with": ([.string, .string], .bool),
        "ends_with": ([.string, .string], .bool),
        "contains": ([.string, .string], .bool),
        "cidr_match": ([.string, .string], .bool),
        "abs": (nil, nil),
        "coalesce": (nil, nil),
        "hour": ([.timestamp], .int),
        "day_of_week": ([.timestamp], .int),
    ]

    /// Aggregates over a group of events (a window, a session) or over the events a
    /// quantified step bound.
    static let aggregates: Set<String> = [
        "count", "sum", "avg", "min", "max", "first", "last", "count_distinct", "p50", "p95", "p99",
    ]

    static var allNames: [String] { Array(scalar.keys) + Array(aggregates) }
}
