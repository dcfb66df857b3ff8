/// An alert: a match rendered for people and systems.
public struct Alert: Sendable {
    /// 16 hex digits for the alerts rules make (their ids are hashes).
    public var id: String {
        get { idHash.map { FNV1a.hex($0) } ?? idText }
        set {
            idText = newValue
            idHash = nil
        }
    }
    /// A pattern alert's id as the hash it is written from: its 16 digits would be a
    /// string one byte too long to be stored in place, an allocation per alert.
    private(set) var idHash: UInt64?
    private var idText = ""
    public var rule: String
    public var severity: String
    public var tags: [String]
    /// The key's field names and values, in key order (kept apart: both are shared with
    /// the rule and the matcher, where pairing them cost an array per alert).
    public var keyNames: [String]
    public var keyValues: [Value]
    public var message: String
    public var detectedAt: Int64
    /// For window and session rules: the group's start and end (session: last event).
    public var window: (start: Int64, end: Int64)?
    /// Alerts of the same rule and `suppress ... by` values folded into this one since
    /// the last one emitted.
    public var suppressed = 0
    /// The matched events: a pattern rule's alert keeps the match's bound events and
    /// its rule's plan, and groups them by step as it is written (building the groups
    /// cost four arrays per alert); an alert built from given steps keeps those.
    private var events: MatchedEvents

    private enum MatchedEvents: Sendable {
        case steps([(step: String, events: [Event])])
        case bound(BoundEvents, MatchPlan)
    }

    public var key: [(name: String, value: Value)] {
        get { zip(keyNames, keyValues).map { (name: $0, value: $1) } }
        set {
            keyNames = newValue.map(\.name)
            keyValues = newValue.map(\.value)
        }
    }

    /// Steps in pattern order, each with the events it bound.
    public var matched: [(step: String, events: [Event])] {
        get {
            switch events {
            case .steps(let steps): return steps
            case .bound(let bound, let plan):
                var steps: [(step: String, events: [Event])] = []
                plan.visit(bound, step: { steps.append(($0, [])) }, event: { steps[steps.count - 1].events.append($0) })
                return steps
            }
        }
        set { events = .steps(newValue) }
    }

    public init(id: String, rule: String, severity: String, tags: [String], key: [(name: String, value: Value)],
                message: String, detectedAt: Int64, matched: [(step: String, events: [Event])],
                window: (start: Int64, end: Int64)? = nil) {
        self.idText = id
        self.rule = rule
        self.severity = severity
        self.tags = tags
        self.keyNames = key.map(\.name)
        self.keyValues = key.map(\.value)
        self.message = message
        self.detectedAt = detectedAt
        self.events = .steps(matched)
        self.window = window
    }

    /// A pattern rule's alert: its matched events are `bound`, reported by `plan`.
    public init(id: String, rule: String, severity: String, tags: [String], keyNames: [String], keyValues: [Value],
                message: String, detectedAt: Int64, bound: BoundEvents, plan: MatchPlan) {
        self.init(idHash: nil, rule: rule, severity: severity, tags: tags, keyNames: keyNames, keyValues: keyValues,
                  message: message, detectedAt: detectedAt, bound: bound, plan: plan)
        self.idText = id
    }

    /// A pattern rule's alert whose id is `idHash` in hex.
    init(idHash: UInt64?, rule: String, severity: String, tags: [String], keyNames: [String], keyValues: [Value],
         message: String, detectedAt: Int64, bound: BoundEvents, plan: MatchPlan) {
        self.idHash = idHash
        self.rule = rule
        self.severity = severity
        self.tags = tags
        self.keyNames = keyNames
        self.keyValues = keyValues
        self.message = message
        self.detectedAt = detectedAt
        self.events = .bound(bound, plan)
    }

    /// Calls `step` for each step reported (its name) and then `event` for each of its
    /// events, in the order `matched` lists them, without building the list.
    public func visitMatched(step: (String) -> Void, event: (Event) -> Void) {
        switch events {
        case .steps(let steps):
            for s in steps {
                step(s.step)
                for e in s.events { event(e) }
            }
        case .bound(let bound, let plan):
            plan.visit(bound, step: step, event: event)
        }
    }

    /// `visitMatched`, with each event's stream and values in place (no copies).
    func visitMatchedRows(step: (String) -> Void, event: (Int32, UnsafeBufferPointer<Value>) -> Void) {
        switch events {
        case .steps(let steps):
            for s in steps {
                step(s.step)
                for e in s.events { e.values.withUnsafeBufferPointer { event(e.stream, $0) } }
            }
        case .bound(let bound, let plan):
            plan.visitRows(bound, step: step, event: event)
        }
    }

    /// The default alert line: one JSON object, event time only, so replays are
    /// byte-identical. (`write(to:streams:)` appends the same bytes without a String.)
    public func json(streams: [StreamSchema]) -> String {
        var w = JSONWriter()
        write(to: &w, streams: streams)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

/// How a pattern rule's alerts report the events a match bound: per positive step, in
/// pattern order, the events of its one alternative under the alternative's name (the
/// step's name when it bound none); a step with several alternatives reports each run
/// of events under the alternative that bound it.
public struct MatchPlan: Sendable {
    struct Step: Sendable {
        var name: String
        var bindings: [Int32]
    }
    var steps: [Step]
    var bindingNames: [String]

    public init(_ pattern: CompiledPattern) {
        steps = pattern.steps.filter { !$0.negated }.map { Step(name: $0.name, bindings: $0.alternatives.map { Int32($0.binding) }) }
        bindingNames = pattern.bindingNames
    }

    /// Calls `step` with each reported step's name, then `event` with each of its events.
    func visit(_ bound: BoundEvents, step: (String) -> Void, event: (Event) -> Void) {
        bound.entries.withUnsafeBufferPointer { entries in
            visit(entries, step: step) { event(entries[$0].event) }
        }
    }

    /// `visit`, with each event's stream and values in place: for writing alert lines
    /// (iterating the entries copied each, a retain and a release of its values).
    func visitRows(_ bound: BoundEvents, step: (String) -> Void, event: (Int32, UnsafeBufferPointer<Value>) -> Void) {
        bound.entries.withUnsafeBufferPointer { entries in
            visit(entries, step: step) { i in
                entries[i].event.values.withUnsafeBufferPointer { event(entries[i].event.stream, $0) }
            }
        }
    }

    /// The order both walk: `event` gets the index of each entry reported.
    private func visit(_ entries: UnsafeBufferPointer<BoundEvents.Entry>, step: (String) -> Void, event: (Int) -> Void) {
        for s in steps {
            if s.bindings.count == 1 {
                let b = s.bindings[0]
                guard entries.contains(where: { $0.binding == b }) else {
                    step(s.name)
                    continue
                }
                step(bindingNames[Int(b)])
                for i in entries.indices where entries[i].binding == b { event(i) }
                continue
            }
            var current: Int32?
            for i in entries.indices where s.bindings.contains(entries[i].binding) {
                if entries[i].binding != current {
                    current = entries[i].binding
                    step(bindingNames[Int(entries[i].binding)])
                }
                event(i)
            }
            if current == nil { step(s.name) }
        }
    }
}

/// FNV-1a, 64 bits: a small, stable hash for deterministic ids (not for security).
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func add(_ bytes: some Sequence<UInt8>) {
        for b in bytes {
            value ^= UInt64(b)
            value = value &* 0x0000_0100_0000_01B3
        }
    }

    public mutating func add(_ s: String) {
        add(s.utf8)
        add([0xFF])
    }

    public mutating func add(_ n: Int64) {
        withUnsafeBytes(of: n.littleEndian) { add($0) }
    }

    /// Adds a value's JSON text and the separator, as `add(value.json)` does, without
    /// building the text for plain strings.
    public mutating func add(json v: Value) {
        guard case .string(var s) = v else { add(v.json); return }
        guard s.withUTF8(JSONWriter.isPlain) else { add(v.json); return }
        add(CollectionOfOne(UInt8(ascii: "\"")))
        s.withUTF8 { add($0) }
        add([UInt8(ascii: "\""), 0xFF])
    }

    /// 16 lowercase hex digits, zero-padded.
    public var hex: String { Self.hex(value) }

    /// `value` as 16 lowercase hex digits, zero-padded.
    public static func hex(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { buf in
            let digits: StaticString = "0123456789abcdef"
            var v = value
            for i in stride(from: 15, through: 0, by: -1) {
                buf[i] = digits.utf8Start[Int(v & 15)]
                v >>= 4
            }
            return 16
        }
    }
}

extension Match {
    /// The match as a row of its rule's detections table: the alert's id, rule,
    /// severity, detection time, key and message, then the selected columns.
    public func detectionRow(_ alert: Alert, _ rows: RowOutput) -> Row {
        let ctx = EvalContext(event: trigger ?? bound.last, bound: bound, key: key, detectedAt: detectedAt)
        var values: [Value] = [.string(alert.id), .string(alert.rule), .string(alert.severity), .timestamp(detectedAt)]
        values += key
        values.append(.string(alert.message))
        for e in rows.select { values.append(e(ctx)) }
        return Row(table: rows.table, rule: alert.rule, op: .upsert, version: 1, columns: rows.columns, values: values, at: detectedAt)
    }

    /// Renders the match as an alert of `rule`. The id derives from the rule, the key and
    /// the identities (input, line) of the matched events.
    public func alert(_ rule: PatternRule) -> Alert {
        var h = FNV1a()
        h.add(rule.name)
        for v in key { h.add(json: v) }
        for entry in bound.entries {
            h.add(Int64(entry.event.origin.input))
            h.add(entry.event.origin.line)
        }
        let ctx = EvalContext(event: trigger ?? bound.last, bound: bound, key: key, detectedAt: detectedAt)
        return Alert(idHash: h.value, rule: rule.name, severity: rule.severity, tags: rule.tags, keyNames: rule.keyNames, keyValues: key,
                     message: rule.message.render(ctx), detectedAt: detectedAt, bound: bound, plan: rule.matchPlan)
    }
}
