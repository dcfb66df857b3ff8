/// The types of the Vigil language.
public enum ValueType: String, Sendable, Hashable, CaseIterable {
    case string, int, double, bool, timestamp, duration
    /// The type of the `null` literal only; fields are of a real type and may be null.
    case null

    /// The names a `fields` block accepts.
    public static let declarable: [String] = ["string", "int", "double", "bool", "timestamp", "duration"]

    var isNumeric: Bool { self == .int || self == .double }

    /// Whether two types may be compared with `==`: equal, or both numeric (int is
    /// promoted to double).
    func isComparable(with other: ValueType) -> Bool {
        self == other || (isNumeric && other.isNumeric)
    }

    /// Whether `<`, `<=`, `>`, `>=` are defined.
    var isOrdered: Bool {
        switch self {
        case .int, .double, .string, .timestamp, .duration: true
        default: false
        }
    }

    /// The common type of two comparable types (numeric promotion).
    func unified(with other: ValueType) -> ValueType {
        self == other ? self : (isNumeric && other.isNumeric ? .double : self)
    }
}
