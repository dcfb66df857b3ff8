/// One row a window, session or aggregate produces for its table. A group emits a row
/// when it closes; a late event that updates it (within `allowed lateness`) emits the
/// next version, and a session merged into an earlier one is withdrawn with a delete.
/// Applied in order, by identity (key and group start), rows give the table's state —
/// what a merge-on-key table does with them.
public struct Row: Sendable {
    public enum Op: String, Sendable {
        case upsert, delete
    }
    /// The `into table` name, or the rule's name when it has none.
    public var table: String
    public var rule: String
    public var op: Op
    /// 1 for a group's first row; each later row of the same group counts up.
    public var version: Int
    /// Column names (key, group bounds, selected), shared by every row of the rule.
    public var columns: [String]
    public var values: [Value]
    /// The event time the row speaks for: when its group closed (or a late event updated
    /// it), the match was detected, or the flow's event happened. SCD2 tables take it
    /// as `valid_from`.
    public var at: Int64

    public init(table: String, rule: String, op: Op, version: Int, columns: [String], values: [Value], at: Int64 = 0) {
        self.table = table
        self.rule = rule
        self.op = op
        self.version = version
        self.columns = columns
        self.values = values
        self.at = at
    }

    /// `{"table":...,"rule":...,"op":...,"version":n,"row":{...}}`, event time only.
    public func write(to w: inout JSONWriter) {
        w.raw("{\"table\":")
        w.string(table)
        w.raw(",\"rule\":")
        w.string(rule)
        w.raw(",\"op\":")
        w.string(op.rawValue)
        w.raw(",\"version\":")
        w.int(Int64(version))
        w.raw(",\"row\":{")
        for (i, (c, v)) in zip(columns, values).enumerated() {
            if i > 0 { w.byte(UInt8(ascii: ",")) }
            w.key(c)
            w.value(v)
        }
        w.raw("}}")
    }

    public var json: String {
        var w = JSONWriter(capacity: 128)
        write(to: &w)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
