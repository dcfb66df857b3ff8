/// The rows of a reference table, loaded by the caller and looked up by key when a flow
/// enriches an event. A left join: a key with no row gives nulls.
public struct ReferenceTable: Sendable {
    public let spec: ReferenceSpec
    private var rows: [Value: [Value]] = [:]
    private let nulls: [Value]

    /// Two rows with the same key: the table cannot say which one an event joins.
    public struct DuplicateKey: Error, CustomStringConvertible {
        public var key: Value
        public var first: Int
        public var second: Int
        public var description: String { "key \(key.json) appears twice (rows \(first) and \(second))" }
    }

    public init(spec: ReferenceSpec) {
        self.spec = spec
        nulls = Array(repeating: .null, count: spec.schema.fields.count)
    }

    /// Adds the rows in order (`values` per row, one per column, 1-based positions for
    /// errors). A row whose key is null can never be joined and is skipped.
    public init(spec: ReferenceSpec, rows: [[Value]], positions: [Int]? = nil) throws(DuplicateKey) {
        self.init(spec: spec)
        var seenAt: [Value: Int] = [:]
        for (i, r) in rows.enumerated() {
            let key = Self.joinKey(r[spec.keySlot])
            if key.isNull { continue }
            let at = positions?[i] ?? i + 1
            if let first = seenAt[key] { throw DuplicateKey(key: r[spec.keySlot], first: first, second: at) }
            seenAt[key] = at
            self.rows[key] = r
        }
    }

    public var count: Int { rows.count }

    /// The row joined to `value`, or nulls.
    public func lookup(_ value: Value) -> [Value] { rows[Self.joinKey(value)] ?? nulls }

    /// Numbers join by value, whatever their declared type (`7` joins `7.0`).
    static func joinKey(_ v: Value) -> Value {
        if case .int(let n) = v { return .double(Double(n)) }
        return v
    }
}
