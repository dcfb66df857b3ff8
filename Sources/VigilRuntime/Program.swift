/// What an expression is evaluated against: the event, the events a partial match
/// bound, the key, the detection time, and (windows) the group.
///
/// The detector evaluates in place: the event's values where its `EventStore` keeps
/// them (`row`), and the bound events by slot (`boundSlots`). Expressions read fields
/// through `field`, `boundField`, `boundCount` and `boundEvents`, which serve either form.
public struct EvalContext: @unchecked Sendable {
    /// The event being matched (nil when rendering an alert fired by the watermark, or
    /// when the event is given in place).
    public var event: Event?
    public var bound: BoundEvents
    /// The key values of the partition, in key order.
    public var key: [Value]
    /// Event time of the detection (when rendering alerts).
    public var detectedAt: Int64
    /// The window or session being closed, for `having`, templates and `select`.
    public var group: GroupView?
    /// The event's values in place (the detector's store), instead of `event`.
    @usableFromInline var row: UnsafePointer<Value>?
    /// The bound events by slot of `store`, instead of `bound`.
    var boundSlots = BoundList()
    var store: StoreView?
}

// The initializers are in an extension so that the struct keeps its memberwise one,
// which builds a context in place (one of its own built it aside and copied it, a count
// per reference, per predicate evaluated against a partial match's events).
extension EvalContext {
    public init(event: Event?, bound: BoundEvents, key: [Value], detectedAt: Int64, group: GroupView? = nil) {
        self.init(event: event, bound: bound, key: key, detectedAt: detectedAt, group: group, row: nil, boundSlots: BoundList(), store: nil)
    }

    /// A context over an event in place, with the bound events of a partial match.
    init(row: UnsafePointer<Value>?, store: StoreView?, boundSlots: BoundList = BoundList(), key: [Value] = [], detectedAt: Int64) {
        self.init(event: nil, bound: BoundEvents(), key: key, detectedAt: detectedAt, group: nil, row: row, boundSlots: boundSlots, store: store)
    }

    /// Field `slot` of the event.
    @inlinable public func field(_ slot: Int) -> Value {
        if let row { return row[slot] }
        return event?.values[slot] ?? .null
    }

    /// Field `slot` of the first or last event bound under `binding`.
    public func boundField(_ binding: Int, last: Bool, _ slot: Int) -> Value {
        if let store {
            let b = Int32(binding)
            let found = last ? boundSlots.last { $0.binding == b } : boundSlots.first { $0.binding == b }
            return found.map { store.row($0.slot)[slot] } ?? .null
        }
        return bound.event(binding, last: last)?.values[slot] ?? .null
    }

    /// How many events are bound under `binding`.
    public func boundCount(_ binding: Int) -> Int {
        if store != nil {
            let b = Int32(binding)
            return boundSlots.reduce(0) { $0 + ($1.binding == b ? 1 : 0) }
        }
        return bound.count(binding)
    }

    /// Every event bound under `binding`, in order.
    public func boundEvents(_ binding: Int) -> [Event] {
        if let store {
            let b = Int32(binding)
            return boundSlots.compactMap { $0.binding == b ? store.event($0.slot) : nil }
        }
        return bound.events(binding)
    }
}

/// `field OP literal` over the event, as the matcher tests it without a closure: true
/// exactly when the compiled comparison gives `true` (a null, or types that do not
/// compare, give null, which does not hold).
public struct FieldTest: Sendable {
    public enum Op: Sendable { case eq, ne, lt, le, gt, ge }
    public var slot: Int
    public var op: Op
    public var literal: Value

    /// The literal's words, flags included, when it is a short ASCII string kept in place
    /// (`SmallASCII`): such a string equals another exactly when their words are equal,
    /// so a field that is one too is compared in two loads (the standard library's call
    /// was most of what testing an event that fails the test cost).
    let literalWords: (low: UInt64, high: UInt64)?

    public init(slot: Int, op: Op, literal: Value) {
        self.slot = slot
        self.op = op
        self.literal = literal
        if SmallASCII.isAvailable, case .string(let s) = literal, SmallASCII.words(s) != nil {
            let bits = unsafeBitCast(s, to: (UInt64, UInt64).self)
            literalWords = (bits.0, bits.1)
        } else {
            literalWords = nil
        }
    }

    /// `x == k`, `k` being the literal.
    @inline(__always) private func equal(_ x: String, _ k: String) -> Bool {
        if let w = literalWords {
            let bits = unsafeBitCast(x, to: (UInt64, UInt64).self)
            if bits.0 == w.low && bits.1 == w.high { return true }
            if bits.1 >> 60 == 0xE { return false }
        }
        return x == k
    }

    /// Whether the comparison holds for the event whose values are `row`.
    @inline(__always) public func holds(_ row: UnsafePointer<Value>) -> Bool {
        let c: Int
        // The commonest case first: a string field against a string.
        if case .string(let k) = literal, case .string(let x) = row[slot] {
            if op == .eq { return equal(x, k) }
            if op == .ne { return !equal(x, k) }
            c = x < k ? -1 : (x == k ? 0 : 1)
        } else {
            guard let found = ValueOps.compare(row[slot], literal) else { return false }
            c = found
        }
        switch op {
        case .eq: return c == 0
        case .ne: return c != 0
        case .lt: return c < 0
        case .le: return c <= 0
        case .gt: return c > 0
        case .ge: return c >= 0
        }
    }
}

/// A closed window or session as expressions see it.
public struct GroupView: Sendable {
    /// One value per aggregate of the rule, by slot.
    public var results: [Value]
    /// Window start, or the session's first event time.
    public var start: Int64
    /// Window end (exclusive), or the session's last event time.
    public var end: Int64
    public var events: Int64

    public init(results: [Value], start: Int64, end: Int64, events: Int64) {
        self.results = results
        self.start = start
        self.end = end
        self.events = events
    }
}

/// A compiled expression: a closure over the typed slots of events.
public typealias CompiledExpr = @Sendable (borrowing EvalContext) -> Value

/// One conjunct of a condition (`a and b` has two), with the values it reads: what an
/// explanation shows when the condition is false.
public struct PredicatePart: Sendable {
    public var text: String
    public var eval: CompiledExpr
    /// Each field, step field or step aggregate the conjunct reads, as text and code.
    public var operands: [(text: String, eval: CompiledExpr)]

    public init(text: String, eval: @escaping CompiledExpr, operands: [(text: String, eval: CompiledExpr)]) {
        self.text = text
        self.eval = eval
        self.operands = operands
    }
}

/// A compiled step condition.
public struct CompiledPredicate: Sendable {
    /// Index into the rule's predicate table; conditions that read only the current
    /// event are evaluated once per event and remembered under this index.
    public var id: Int
    /// Whether it reads earlier bindings (then it is evaluated per partial match).
    public var usesBindings: Bool
    public var eval: CompiledExpr
    /// The same condition as plain comparisons of the event's fields with literals,
    /// all of which must hold, when it is one (`type == "A" and amount < 10`): the
    /// matcher tests those in place instead of calling `eval`. nil otherwise.
    public var tests: [FieldTest]?
    /// Plain comparisons of the event's fields with literals that must all hold for the
    /// condition to hold: those of its top-level `and`s (all of `tests` when it has
    /// them). Empty when it has none. What the detector's prefilter tests.
    public var necessary: [FieldTest] = []
    /// Source-like text for dumps and explanations.
    public var text: String
    /// Its top-level conjuncts, for explanations (not on the matching path).
    public var parts: [PredicatePart]

    public init(id: Int, usesBindings: Bool, text: String, eval: @escaping CompiledExpr, parts: [PredicatePart] = []) {
        self.id = id
        self.usesBindings = usesBindings
        self.eval = eval
        self.text = text
        self.parts = parts
    }
}

/// Flink-style after-match skip strategies.
public enum SkipPolicy: Sendable, Hashable {
    case noSkip, toNext, pastLast
    /// Skip to the first / last event bound by a step (the binding indices of its alternatives).
    case toFirst([Int]), toLast([Int])
}

/// Contiguity between a step and what came before it.
public enum StepContiguity: String, Sendable {
    case start, relaxed = "then", any = "then any", strict = "next"
}

/// One step of a compiled pattern.
public struct PatternStep: Sendable {
    public struct Alternative: Sendable {
        /// Index of the binding (the name events are reported under).
        public var binding: Int
        /// Stream the alternative reads.
        public var stream: Int
        public var predicate: CompiledPredicate

        public init(binding: Int, stream: Int, predicate: CompiledPredicate) {
            self.binding = binding
            self.stream = stream
            self.predicate = predicate
        }
    }
    public var name: String
    public var negated: Bool
    public var contiguity: StepContiguity
    public var min: Int64
    /// nil: unbounded.
    public var max: Int64?
    public var isQuantified: Bool
    public var alternatives: [Alternative]
    public var until: CompiledPredicate?

    public init(name: String, negated: Bool, contiguity: StepContiguity, min: Int64, max: Int64?, isQuantified: Bool,
                alternatives: [Alternative], until: CompiledPredicate?) {
        self.name = name
        self.negated = negated
        self.contiguity = contiguity
        self.min = min
        self.max = max
        self.isQuantified = isQuantified
        self.alternatives = alternatives
        self.until = until
    }
}

/// A compiled `match` pattern: the immutable NFA shared by every key.
public struct CompiledPattern: Sendable {
    public var steps: [PatternStep]
    public var withinMs: Int64?
    public var skip: SkipPolicy
    /// Names of the bindings (steps and alternatives), by binding index.
    public var bindingNames: [String]
    /// For each binding, the stream its events come from.
    public var bindingStreams: [Int]
    /// Number of predicates (for the per-event memo).
    public var predicateCount: Int

    public init(steps: [PatternStep], withinMs: Int64?, skip: SkipPolicy, bindingNames: [String],
                bindingStreams: [Int], predicateCount: Int) {
        self.steps = steps
        self.withinMs = withinMs
        self.skip = skip
        self.bindingNames = bindingNames
        self.bindingStreams = bindingStreams
        self.predicateCount = predicateCount
    }
}

/// An alert message template.
public struct MessageTemplate: Sendable {
    public enum Part: Sendable {
        case text(String)
        case value(CompiledExpr)
        /// A key field's value, by key position: what `value` of the bare field gives,
        /// read without a context.
        case key(Int)
    }
    public var parts: [Part] {
        didSet { readsOnlyKey = Self.readsOnlyKey(parts) }
    }
    /// Whether the text needs nothing but the key (`forEachPiece(key:_:)`): an alert's
    /// message is then written with no context built, which cost as much as writing
    /// the rest of a short alert line.
    public private(set) var readsOnlyKey: Bool

    public init(parts: [Part]) {
        self.parts = parts
        readsOnlyKey = Self.readsOnlyKey(parts)
    }

    private static func readsOnlyKey(_ parts: [Part]) -> Bool {
        !parts.contains { if case .value = $0 { return true } else { return false } }
    }

    public func render(_ ctx: borrowing EvalContext) -> String {
        var out = ""
        forEachPiece(ctx) { out += $0 }
        return out
    }

    /// Calls `body` with each piece of the rendered text in turn (what `render` joins).
    func forEachPiece(_ ctx: borrowing EvalContext, _ body: (String) -> Void) {
        for p in parts {
            switch p {
            case .text(let s): body(s)
            case .value(let e): body(e(ctx).templateText)
            case .key(let i): body(i < ctx.key.count ? ctx.key[i].templateText : "null")
            }
        }
    }

    /// `forEachPiece` for a template that `readsOnlyKey`, given the key's values.
    func forEachPiece(key: [Value], _ body: (String) -> Void) {
        for p in parts {
            switch p {
            case .text(let s): body(s)
            case .value: preconditionFailure("a template that reads more than the key, rendered from the key")
            case .key(let i): body(i < key.count ? key[i].templateText : "null")
            }
        }
    }
}

/// A compiled pattern rule.
public struct PatternRule: Sendable {
    public var name: String
    public var severity: String
    public var tags: [String]
    /// Streams the rule reads (its own first).
    public var streams: [Int]
    /// For each stream id, the slots holding the key (nil for streams it does not read).
    public var keySlots: [Int: [Int]]
    /// Names of the key fields, in key order.
    public var keyNames: [String]
    public var pattern: CompiledPattern { didSet { matchPlan = MatchPlan(pattern) } }
    /// How its matches report their events by step (derived from `pattern`).
    public private(set) var matchPlan: MatchPlan
    public var message: MessageTemplate
    public var hasAlert: Bool
    public var suppress: Suppression?
    /// The detections table (`into table`): a row per match.
    public var rows: RowOutput?

    public init(name: String, severity: String, tags: [String], streams: [Int], keySlots: [Int: [Int]],
                keyNames: [String], pattern: CompiledPattern, message: MessageTemplate, hasAlert: Bool) {
        self.name = name
        self.severity = severity
        self.tags = tags
        self.streams = streams
        self.keySlots = keySlots
        self.keyNames = keyNames
        self.pattern = pattern
        self.matchPlan = MatchPlan(pattern)
        self.message = message
        self.hasAlert = hasAlert
    }
}

/// One aggregate a window rule computes: `count()`, `count(cond)`, `sum(amount)`, ...
public struct AggregateSpec: Sendable {
    public var function: String
    /// Evaluated on each event of the group; nil for `count()`.
    public var argument: CompiledExpr?
    /// The argument's type (decides int / double / duration sums).
    public var type: FieldType?
    /// Source-like text (`sum(amount)`) for dumps.
    public var text: String

    public init(function: String, argument: CompiledExpr?, type: FieldType?, text: String = "") {
        self.function = function
        self.argument = argument
        self.type = type
        self.text = text
    }
}

/// What a window rule writes for each group, when it writes rows.
public struct RowOutput: Sendable {
    public var table: String
    /// Key columns, the group bounds (`boundColumns`), then the selected columns.
    public var columns: [String]
    /// The selected expressions, after the key and bound columns.
    public var select: [CompiledExpr]
    /// Source-like text of each selected expression, for dumps.
    public var selectTexts: [String]
    /// Each column's type (nil: only ever null), for table schemas.
    public var types: [FieldType?] = []
    /// How the table takes the rows.
    public var mode: WriteMode = .append
    /// Whether the declaration names a table (`into table`), rather than only selecting.
    public var intoTable = false

    public enum WriteMode: Sendable, Hashable {
        case append
        case merge(on: [String])
        case scd2(on: [String])
    }

    /// The columns every row of a window (or session) has after its key, in the order
    /// `WindowOperator` writes them.
    public static func boundColumns(session: Bool) -> [String] {
        session ? ["session_start", "session_end", "events"] : ["window_start", "window_end"]
    }

    /// `keyColumns`: the key fields with dots as `_`; `selected`: name, code and text.
    public init(table: String, keyColumns: [String], session: Bool, selected: [(name: String, code: CompiledExpr, text: String)]) {
        self.table = table
        self.columns = keyColumns + Self.boundColumns(session: session) + selected.map(\.name)
        self.select = selected.map(\.code)
        self.selectTexts = selected.map(\.text)
    }

    /// A key field's column name: `device.os` is `device_os` (the checker's
    /// `replacingDots` is the same rule on the front end's side).
    public static func column(forKey name: String) -> String {
        name.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "_")
    }

    /// A flow's table: exactly the selected columns.
    public init(flowTable table: String, selected: [(name: String, code: CompiledExpr, text: String)]) {
        self.table = table
        self.columns = selected.map(\.name)
        self.select = selected.map(\.code)
        self.selectTexts = selected.map(\.text)
    }

    /// The columns every detection row of a pattern rule has before its key.
    public static let detectionColumns = ["id", "rule", "severity", "detected_at"]

    /// A pattern rule's detections table: `id`, `rule`, `severity`, `detected_at`, the
    /// key, `message`, then the selected columns.
    public init(detectionsTable table: String, keyColumns: [String], selected: [(name: String, code: CompiledExpr, text: String)]) {
        self.table = table
        self.columns = Self.detectionColumns + keyColumns + ["message"] + selected.map(\.name)
        self.select = selected.map(\.code)
        self.selectTexts = selected.map(\.text)
    }
}

/// A compiled window or session rule, or an `aggregate` declaration (rows, no alert).
public struct WindowRule: Sendable {
    public enum Kind: Sendable, Hashable {
        case tumbling(sizeMs: Int64)
        case hopping(sizeMs: Int64, everyMs: Int64)
        case session(gapMs: Int64)
    }
    public var name: String
    public var severity: String
    public var tags: [String]
    public var stream: Int
    public var keySlots: [Int]
    public var keyNames: [String]
    public var kind: Kind
    /// How far behind the watermark an event may be and still update its group.
    public var allowedLatenessMs: Int64
    public var aggregates: [AggregateSpec]
    public var having: CompiledExpr?
    /// Source-like text of `having`, for dumps.
    public var havingText: String?
    /// The conjuncts of `having`, for explanations.
    public var havingParts: [PredicatePart] = []
    public var message: MessageTemplate
    public var hasAlert: Bool
    public var rows: RowOutput?
    /// An `aggregate` declaration (rows only) rather than a rule.
    public var isAggregate = false
    public var suppress: Suppression?

    public init(name: String, severity: String, tags: [String], stream: Int, keySlots: [Int], keyNames: [String],
                kind: Kind, allowedLatenessMs: Int64 = 0, aggregates: [AggregateSpec], having: CompiledExpr?,
                havingText: String? = nil, message: MessageTemplate, hasAlert: Bool, rows: RowOutput? = nil) {
        self.name = name
        self.severity = severity
        self.tags = tags
        self.stream = stream
        self.keySlots = keySlots
        self.keyNames = keyNames
        self.kind = kind
        self.allowedLatenessMs = allowedLatenessMs
        self.aggregates = aggregates
        self.having = having
        self.havingText = havingText
        self.message = message
        self.hasAlert = hasAlert
        self.rows = rows
    }

    public var isSession: Bool {
        if case .session = kind { return true }
        return false
    }
}

/// Everything the runtime executes: stream schemas and compiled rules.
public struct Program: Sendable {
    public var streams: [StreamSchema]
    public var rules: [PatternRule]
    public var windows: [WindowRule]
    public var flows: [FlowRule]
    /// The reference tables flows enrich with (their rows are loaded by the caller).
    public var references: [ReferenceSpec]

    public init(streams: [StreamSchema], rules: [PatternRule], windows: [WindowRule] = [], flows: [FlowRule] = [],
                references: [ReferenceSpec] = []) {
        self.streams = streams
        self.rules = rules
        self.windows = windows
        self.flows = flows
        self.references = references
    }

    /// Every `into table` output: windows, sessions and aggregates, pattern rules'
    /// detections, flows and their quarantine tables.
    public var tableOutputs: [RowOutput] {
        (windows.compactMap(\.rows) + rules.compactMap(\.rows) + flows.flatMap { [$0.rows] + [$0.quarantine].compactMap { $0 } })
            .filter(\.intoTable)
    }

    public func streamIndex(_ name: String) -> Int? { streams.firstIndex { $0.name == name } }

    /// Per rule (pattern rules, then windows, as outputs are tagged): whether its
    /// suppression reads fields of its alerts' matched events (`suppress ... by` a field),
    /// so that they must keep them rather than only their written form (`Alert.detach`).
    public var suppressionReadsMatched: [Bool] {
        func reads(_ s: Suppression?) -> Bool { s?.by.contains { if case .field = $0 { true } else { false } } ?? false }
        return rules.map { reads($0.suppress) } + windows.map { reads($0.suppress) }
    }
}
