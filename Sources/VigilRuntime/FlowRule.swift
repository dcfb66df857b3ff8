/// A reference table as a flow's `enrich` reads it: its columns, and the column it is
/// keyed on. The rows are data loaded by the caller (`ReferenceTable`), not program.
public struct ReferenceSpec: Sendable {
    public var name: String
    /// The file (CSV, JSON Lines) or Delta table directory the rule names.
    public var path: String
    /// The columns in declaration order; `keySlots` holds the key's slot, `timeSlot` is -1.
    public var schema: StreamSchema

    public init(name: String, path: String, schema: StreamSchema) {
        self.name = name
        self.path = path
        self.schema = schema
    }

    public var keySlot: Int { schema.keySlots[0] }
}

/// `expect NAME: EXPR else ACTION`.
public struct Expectation: Sendable {
    public enum Action: String, Sendable, Codable, Comparable {
        case warn, drop, quarantine, fail

        /// When a row fails several expectations, the strongest action decides:
        /// fail, then quarantine (the row is kept, with every name), then drop, then warn.
        var strength: Int {
            switch self {
            case .warn: 0
            case .drop: 1
            case .quarantine: 2
            case .fail: 3
            }
        }

        public static func < (a: Action, b: Action) -> Bool { a.strength < b.strength }
    }

    public var name: String
    public var action: Action
    /// True when the row meets the expectation; false or null fails it.
    public var check: CompiledExpr
    /// Source-like text, and the conjuncts with the values they read, for the error a
    /// failing `fail` expectation stops the detector with.
    public var text: String
    public var parts: [PredicatePart]

    public init(name: String, action: Action, check: @escaping CompiledExpr, text: String, parts: [PredicatePart] = []) {
        self.name = name
        self.action = action
        self.check = check
        self.text = text
        self.parts = parts
    }
}

/// A compiled `flow`: for each event of its stream, in arrival order — enrich, filter
/// (`where`), check the expectations, project (`select`), write a row.
public struct FlowRule: Sendable {
    public var name: String
    public var stream: Int
    /// Each `enrich`: the reference (index into `Program.references`) and the slot of the
    /// event field joined on its key.
    public var enrich: [(reference: Int, onSlot: Int)]
    public var filters: [CompiledExpr]
    /// Source-like text of each `where`, for dumps.
    public var filterTexts: [String] = []
    public var expectations: [Expectation]
    /// The row's table, columns, types and write mode; `select` has one expression per
    /// column.
    public var rows: RowOutput

    public init(name: String, stream: Int, enrich: [(reference: Int, onSlot: Int)], filters: [CompiledExpr],
                expectations: [Expectation], rows: RowOutput) {
        self.name = name
        self.stream = stream
        self.enrich = enrich
        self.filters = filters
        self.expectations = expectations
        self.rows = rows
    }

    /// The quarantine table's rows: the flow's columns, then which expectations failed
    /// (their names, comma-separated, in declaration order) and the event's time.
    public var quarantine: RowOutput? {
        guard expectations.contains(where: { $0.action == .quarantine }) else { return nil }
        var q = rows
        q.table = rows.table + "_quarantine"
        q.columns += ["_failed_expectations", "_event_time"]
        q.types += [.string, .timestamp]
        q.mode = .append
        return q
    }
}
