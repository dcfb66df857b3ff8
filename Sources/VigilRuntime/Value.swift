/// The type of a field at run time (mirrors the language's types without importing it).
public enum FieldType: String, Sendable, Hashable, Codable {
    case string, int, double, bool, timestamp, duration
}

/// One field value of an event, or an intermediate result.
public enum Value: Sendable, Hashable, Codable {
    case null
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case string(String)
    /// Epoch milliseconds.
    case timestamp(Int64)
    /// Milliseconds.
    case duration(Int64)

    @inlinable public var isNull: Bool { if case .null = self { true } else { false } }

    /// The value as a double, for numeric aggregates and mixed comparisons.
    @inlinable public var asDouble: Double? {
        switch self {
        case .int(let n): Double(n)
        case .double(let d): d
        case .timestamp(let t), .duration(let t): Double(t)
        default: nil
        }
    }

    /// Text for message templates: strings as they are, timestamps in RFC 3339 (UTC,
    /// milliseconds), durations like `5m30s`.
    public var templateText: String {
        switch self {
        case .null: "null"
        case .int(let n): String(n)
        case .double(let d): formatTemplateDouble(d)
        case .bool(let b): b ? "true" : "false"
        case .string(let s): s
        case .timestamp(let t): RFC3339.format(t)
        case .duration(let ms): formatDuration(ms)
        }
    }

    /// The value as a JSON literal (timestamps and durations as milliseconds).
    public var json: String {
        switch self {
        case .null: "null"
        case .int(let n): String(n)
        case .double(let d): d.isFinite ? formatDouble(d) : "null"
        case .bool(let b): b ? "true" : "false"
        case .string(let s): JSON.quote(s)
        case .timestamp(let t), .duration(let t): String(t)
        }
    }
}

/// Shortest text that reads back as the same double; integral values keep one decimal.
public func formatDouble(_ d: Double) -> String {
    if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) + ".0" }
    return "\(d)"
}

/// Doubles in messages read like amounts: at most two decimals (`1.16`, `812.4`, `500`).
public func formatTemplateDouble(_ d: Double) -> String {
    guard d.isFinite else { return "\(d)" }
    let rounded = (d * 100).rounded() / 100
    if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
    return "\(rounded)"
}

/// `1h2m3s`, `250ms`, `0s`.
public func formatDuration(_ ms: Int64) -> String {
    if ms == 0 { return "0s" }
    var rest = ms.magnitude
    var out = ms < 0 ? "-" : ""
    for (unit, size) in [("d", UInt64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where rest >= size {
        out += "\(rest / size)\(unit)"
        rest %= size
    }
    if rest > 0 { out += "\(rest)ms" }
    return out
}
