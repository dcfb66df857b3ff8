/// What every alert of a rule shares, read through one reference: an alert held these
/// as fields of its own, and moving one from the matcher to its line copied it several
/// times, a count per field per copy (a fifth of a short alert's cost).
public final class AlertSource: Sendable {
    public let rule: String
    public let severity: String
    public let tags: [String]
    /// The key's field names, in key order.
    public let keyNames: [String]
    /// A pattern rule's: how its matches report their events by step.
    let plan: MatchPlan?
    /// A pattern rule's message, for alerts that render it as it is read.
    let template: MessageTemplate?
    /// An alert id's hash once the rule's name is added (the rest is the match's).
    let idSeed: FNV1a
    /// What every line of the rule writes between its id and its key's first value
    /// (`,"rule":…,"severity":…,"tags":[…],"key":{"name":`), escaped once, not per
    /// alert; and before each key value, `keyHeads[i]`: empty for the first (its name
    /// ends `lineHead`), `,"name":` for the others.
    let lineHead: [UInt8]
    let keyHeads: [[UInt8]]
    /// A message template that reads only the key, as the JSON string it writes: its
    /// literal text escaped once, quotes included.
    let keyOnlyMessage: KeyOnlyMessage?

    struct KeyOnlyMessage: Sendable {
        var text: [UInt8]
        /// In order: a range of `text`, then the key's value `key` (-1: none).
        var pieces: [(text: Range<Int32>, key: Int32)]
    }

    public convenience init(rule: String, severity: String, tags: [String], keyNames: [String]) {
        self.init(rule: rule, severity: severity, tags: tags, keyNames: keyNames, plan: nil, template: nil)
    }

    init(rule: String, severity: String, tags: [String], keyNames: [String], plan: MatchPlan?, template: MessageTemplate?) {
        self.rule = rule
        self.severity = severity
        self.tags = tags
        self.keyNames = keyNames
        self.plan = plan
        self.template = template
        var h = FNV1a()
        h.add(rule)
        idSeed = h
        var w = JSONWriter(capacity: 128)
        w.raw(",\"rule\":")
        w.string(rule)
        w.raw(",\"severity\":")
        w.string(severity)
        if !tags.isEmpty {
            w.raw(",\"tags\":[")
            for (i, t) in tags.enumerated() {
                if i > 0 { w.byte(UInt8(ascii: ",")) }
                w.string(t)
            }
            w.byte(UInt8(ascii: "]"))
        }
        w.raw(",\"key\":{")
        var heads: [[UInt8]] = []
        for (i, name) in keyNames.enumerated() {
            var k = JSONWriter(capacity: 32)
            if i > 0 { k.byte(UInt8(ascii: ",")) }
            k.key(name)
            if i == 0 { w.append(k) } else { heads.append(k.bytes) }
        }
        lineHead = w.bytes
        // The first key's is in the head.
        keyHeads = keyNames.isEmpty ? [] : [[]] + heads
        keyOnlyMessage = template.flatMap { t in
            guard t.readsOnlyKey else { return nil }
            var w = JSONWriter(capacity: 64)
            var pieces: [(text: Range<Int32>, key: Int32)] = []
            var start: Int32 = 0
            w.byte(UInt8(ascii: "\""))
            for part in t.parts {
                switch part {
                case .text(let s): w.stringPart(s)
                case .key(let i):
                    pieces.append((start..<Int32(w.count), Int32(i)))
                    start = Int32(w.count)
                case .value: preconditionFailure("a template that reads only the key has no value part")
                }
            }
            w.byte(UInt8(ascii: "\""))
            pieces.append((start..<Int32(w.count), -1))
            return KeyOnlyMessage(text: w.bytes, pieces: pieces)
        }
    }

    /// A pattern rule's.
    convenience init(_ rule: PatternRule) {
        self.init(rule: rule.name, severity: rule.severity, tags: rule.tags, keyNames: rule.keyNames, plan: rule.matchPlan, template: rule.message)
    }

    /// The same with some fields replaced.
    func replacing(rule: String? = nil, severity: String? = nil, tags: [String]? = nil, keyNames: [String]? = nil) -> AlertSource {
        AlertSource(rule: rule ?? self.rule, severity: severity ?? self.severity, tags: tags ?? self.tags,
                    keyNames: keyNames ?? self.keyNames, plan: plan, template: template)
    }
}

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
    /// The rule's name, severity, tags and key names (and a pattern rule's plan and
    /// template), shared with every alert of the rule.
    public private(set) var source: AlertSource
    public var rule: String {
        get { source.rule }
        set { source = source.replacing(rule: newValue) }
    }
    public var severity: String {
        get { source.severity }
        set { source = source.replacing(severity: newValue) }
    }
    public var tags: [String] {
        get { source.tags }
        set { source = source.replacing(tags: newValue) }
    }
    /// The key's field names and values, in key order (kept apart: the names are the
    /// rule's, the values the matcher's, where pairing them cost an array per alert).
    public var keyNames: [String] {
        get { source.keyNames }
        set { source = source.replacing(keyNames: newValue) }
    }
    public var keyValues: [Value]
    /// The rendered message. A pattern alert that reads its events in place renders its
    /// template when asked (its line is written from the template, with no string
    /// built): reading it follows the rule of its events.
    public var message: String {
        get {
            if let text = messageText { return text }
            if let template = keyOnlyTemplate {
                var out = ""
                template.forEachPiece(key: keyValues) { out += $0 }
                return out
            }
            guard let pending = unrenderedMessage else { return "" }
            return pending.template.render(pending.context)
        }
        set { messageText = newValue }
    }
    private var messageText: String?
    public var detectedAt: Int64
    /// For window and session rules: the group's start and end (session: last event).
    public var window: (start: Int64, end: Int64)?
    /// Alerts of the same rule and `suppress ... by` values folded into this one since
    /// the last one emitted.
    public var suppressed = 0
    /// The matched events: a pattern rule's alert keeps the match's bound events (its
    /// rule's plan, in `source`, groups them by step as it is written: building the
    /// groups cost four arrays per alert); an alert built from given steps keeps those.
    private var events: MatchedEvents

    private enum MatchedEvents: Sendable {
        case steps([(step: String, events: [Event])])
        case bound(BoundEvents)
        case stored(StoredEvents)
        /// Written: the `matched` array of the alert's line, these bytes of `bytes` (see
        /// `detach`).
        case written(AlertBytes, Range<Int>)
    }

    /// `writeMatched` for events in the store when every step has one alternative: the
    /// order `MatchPlan.visitRows` walks, each step's opening written whole (through
    /// the visit's closures, the line's `matched` array cost a third of the line).
    /// False when the alert's events are not of that kind (nothing is written).
    func writeStoredMatched(to w: inout JSONWriter, streams: [StreamSchema], omitNulls: Bool) -> Bool {
        guard case .stored(let stored) = events, let plan = source.plan, let steps = plan.singleSteps else { return false }
        let view = stored.view
        let slots = stored.slots
        w.byte(UInt8(ascii: "["))
        plan.openings.withUnsafeBufferPointer { openings in
            steps.withUnsafeBufferPointer { steps in
                for k in steps.indices {
                    if k > 0 { w.byte(UInt8(ascii: ",")) }
                    let binding = steps[k].binding
                    var events = 0
                    for i in 0..<slots.count where slots[i].binding == binding {
                        let slot = slots[i].slot
                        if events == 0 {
                            let r = steps[k].bound
                            w.append(openings.baseAddress! + Int(r.lowerBound), count: r.count)
                        } else {
                            w.byte(UInt8(ascii: ","))
                        }
                        events += 1
                        let stream = Int(view.streams[Int(slot)])
                        w.matchedEvent(UnsafeBufferPointer(start: view.row(slot), count: view.widths[stream]), of: stream, streams,
                                       line: view.line(slot), omitNulls: omitNulls)
                    }
                    if events == 0 {
                        let r = steps[k].empty
                        w.append(openings.baseAddress! + Int(r.lowerBound), count: r.count)
                    }
                    w.raw("]}")
                }
            }
        }
        w.byte(UInt8(ascii: "]"))
        return true
    }

    /// Appends the `matched` array of the alert's line to `w`, when that is all it keeps
    /// of its events; false otherwise (nothing is written).
    func appendWrittenMatched(to w: inout JSONWriter) -> Bool {
        guard case .written(let bytes, let range) = events else { return false }
        bytes.writer.withBytes { w.append(UnsafeBufferPointer(rebasing: $0[range])) }
        return true
    }

    /// Makes the alert stand on its own, to be read after its detector's next call (and
    /// on another thread): its message rendered, and its matched events copied — or,
    /// with `writingMatchedFor` (the streams), written as its line's `matched` array,
    /// which is then all it keeps of them: its line is the same, and `matched` is empty.
    /// (`vigil run --threads` writes them where the alert was made, in the shard, which
    /// reads them in place there; copying them for the writing thread cost more than
    /// writing them.)
    /// `into`: where to write them (a sharded run's batch writes every alert's into one:
    /// a buffer of its own per alert was an allocation each); a buffer of the alert's own
    /// when nil.
    public mutating func detach(writingMatchedFor streams: [StreamSchema]?, into bytes: AlertBytes? = nil) {
        // A message that reads only the key, of an alert whose events are written here, is
        // rendered from the key (which the alert keeps) when its line is written.
        let rendersFromKey = streams != nil && keyOnlyTemplate != nil
        if messageText == nil && !rendersFromKey { messageText = message }
        if let streams {
            let bytes = bytes ?? AlertBytes(capacity: 256)
            let start = bytes.writer.count
            writeMatched(to: &bytes.writer, streams: streams, omitNulls: false)
            events = .written(bytes, start..<bytes.writer.count)
        } else if case .stored = events {
            events = .steps(matched)
        }
    }

    public var key: [(name: String, value: Value)] {
        get { zip(keyNames, keyValues).map { (name: $0, value: $1) } }
        set {
            keyNames = newValue.map(\.name)
            keyValues = newValue.map(\.value)
        }
    }

    /// Steps in pattern order, each with the events it bound (none once written: see
    /// `detach`).
    public var matched: [(step: String, events: [Event])] {
        get {
            var steps: [(step: String, events: [Event])] = []
            switch events {
            case .steps(let given): return given
            case .bound(let bound):
                source.plan!.visit(bound, step: { steps.append(($0, [])) }, event: { steps[steps.count - 1].events.append($0) })
            case .stored(let stored):
                source.plan!.visit(stored, step: { steps.append(($0, [])) }, event: { steps[steps.count - 1].events.append($0) })
            case .written: break
            }
            return steps
        }
        set {
            // The message may read the events being replaced.
            messageText = message
            events = .steps(newValue)
        }
    }

    /// The template of a message still to be rendered (an alert that reads its events
    /// in place), and the context it renders in: the match's.
    private var unrenderedMessage: (template: MessageTemplate, context: EvalContext)? {
        guard messageText == nil, case .stored(let stored) = events, let template = source.template else { return nil }
        return (template, EvalContext(match: stored.current, slots: stored.slots, key: keyValues, detectedAt: detectedAt, stored.view))
    }

    /// The template of a message still to be rendered that reads only the key.
    private var keyOnlyTemplate: MessageTemplate? {
        guard messageText == nil, readsOnlyItsKey, let template = source.template, template.readsOnlyKey else { return nil }
        return template
    }

    /// Whether a message template that reads only the key can still be rendered from the
    /// alert: it reads its events in place, or keeps them written (`detach`), and so has
    /// not rendered its message yet.
    private var readsOnlyItsKey: Bool {
        switch events {
        case .stored, .written: true
        case .steps, .bound: false
        }
    }

    /// Writes the message as a JSON string: one still to be rendered is written piece by
    /// piece from its template.
    func writeMessage(to w: inout JSONWriter) {
        if messageText == nil, readsOnlyItsKey, let m = source.keyOnlyMessage {
            // `forEachPiece(key:)` with the literal text escaped beforehand, and the key's
            // values read in place.
            m.text.withUnsafeBufferPointer { text in
                m.pieces.withUnsafeBufferPointer { pieces in
                    keyValues.withUnsafeBufferPointer { keys in
                        for p in pieces {
                            w.append(text.baseAddress! + Int(p.text.lowerBound), count: p.text.count)
                            guard p.key >= 0 else { continue }
                            let i = Int(p.key)
                            guard i < keys.count else {
                                w.raw("null")
                                continue
                            }
                            if !w.stringPart(at: keys.baseAddress! + i) { w.stringPart(keys[i].templateText) }
                        }
                    }
                }
            }
            return
        }
        guard let pending = unrenderedMessage else {
            w.string(message)
            return
        }
        w.byte(UInt8(ascii: "\""))
        pending.template.forEachPiece(pending.context) { w.stringPart($0) }
        w.byte(UInt8(ascii: "\""))
    }

}

// The initializers are in an extension so that the struct keeps its memberwise one,
// which builds an alert in place (an initializer of its own built it aside and copied
// it, a count per reference, and released the first: a few hundred instructions per alert).
extension Alert {
    public init(id: String, rule: String, severity: String, tags: [String], key: [(name: String, value: Value)],
                message: String, detectedAt: Int64, matched: [(step: String, events: [Event])],
                window: (start: Int64, end: Int64)? = nil) {
        self.init(id: id, source: AlertSource(rule: rule, severity: severity, tags: tags, keyNames: key.map(\.name)),
                  keyValues: key.map(\.value), message: message, detectedAt: detectedAt, matched: matched, window: window)
    }

    /// An alert of `source`'s rule with the given steps.
    public init(id: String, source: AlertSource, keyValues: [Value], message: String, detectedAt: Int64,
                matched: [(step: String, events: [Event])], window: (start: Int64, end: Int64)? = nil) {
        self.idText = id
        self.source = source
        self.keyValues = keyValues
        self.messageText = message
        self.detectedAt = detectedAt
        self.events = .steps(matched)
        self.window = window
    }

    /// A pattern rule's alert: its matched events are `bound`, reported by `plan`.
    public init(id: String, rule: String, severity: String, tags: [String], keyNames: [String], keyValues: [Value],
                message: String, detectedAt: Int64, bound: BoundEvents, plan: MatchPlan) {
        self.init(idHash: nil, source: AlertSource(rule: rule, severity: severity, tags: tags, keyNames: keyNames, plan: plan, template: nil),
                  keyValues: keyValues, message: message, detectedAt: detectedAt, events: .bound(bound))
        self.idText = id
    }

    /// A pattern rule's alert (of `source`, which has its plan) whose id is `idHash` in
    /// hex, and whose matched events are `bound`.
    init(idHash: UInt64, source: AlertSource, keyValues: [Value], message: String?, detectedAt: Int64, bound: BoundEvents) {
        self.init(idHash: idHash, source: source, keyValues: keyValues, message: message, detectedAt: detectedAt, events: .bound(bound))
    }

    /// The same, its matched events read where the detector stores them (until its next
    /// sweep: see `Detector.accept(taking:into:)`), its message rendered from `source`'s
    /// template when asked. (The memberwise initializer, called here, builds the alert
    /// in place.)
    static func reading(_ stored: StoredEvents, idHash: UInt64, source: AlertSource, keyValues: [Value], detectedAt: Int64) -> Alert {
        Alert(idHash: idHash, source: source, keyValues: keyValues, messageText: nil, detectedAt: detectedAt, events: .stored(stored))
    }

    private init(idHash: UInt64?, source: AlertSource, keyValues: [Value], message: String?, detectedAt: Int64, events: MatchedEvents) {
        self.init(idHash: idHash, source: source, keyValues: keyValues, messageText: message, detectedAt: detectedAt, events: events)
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
        case .bound(let bound):
            source.plan!.visit(bound, step: step, event: event)
        case .stored(let stored):
            source.plan!.visit(stored, step: step, event: event)
        case .written: break
        }
    }

    /// `visitMatched`, with each event's stream and values in place (no copies), and its
    /// line when the store kept it (see `EventStore.add(taking:line:)`).
    func visitMatchedRows(step: (String) -> Void, event: (Int32, UnsafeBufferPointer<Value>, UnsafeBufferPointer<UInt8>?) -> Void) {
        switch events {
        case .steps(let steps):
            for s in steps {
                step(s.step)
                for e in s.events { e.values.withUnsafeBufferPointer { event(e.stream, $0, nil) } }
            }
        case .bound(let bound):
            source.plan!.visitRows(bound, step: step, event: event)
        case .stored(let stored):
            source.plan!.visitRows(stored, step: step, event: event)
        case .written: break
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
    let steps: [Step]
    let bindingNames: [String]
    /// When every reported step has one alternative (the usual pattern): per step, its
    /// binding and where `openings` has the `{"step":"name","events":[` that opens it in
    /// an alert line, under the binding's name (`bound`) and under the step's (`empty`,
    /// when it bound none), escaped once.
    let singleSteps: [SingleStep]?
    let openings: [UInt8]

    struct SingleStep: Sendable {
        var binding: Int32
        var bound: Range<Int32>
        var empty: Range<Int32>
    }

    public init(_ pattern: CompiledPattern) {
        steps = pattern.steps.filter { !$0.negated }.map { Step(name: $0.name, bindings: $0.alternatives.map { Int32($0.binding) }) }
        bindingNames = pattern.bindingNames
        var w = JSONWriter(capacity: 256)
        func opening(_ name: String) -> Range<Int32> {
            let start = Int32(w.count)
            w.raw("{\"step\":")
            w.string(name)
            w.raw(",\"events\":[")
            return start..<Int32(w.count)
        }
        let names = bindingNames
        singleSteps = steps.allSatisfy { $0.bindings.count == 1 }
            ? steps.map { SingleStep(binding: $0.bindings[0], bound: opening(names[Int($0.bindings[0])]), empty: opening($0.name)) }
            : nil
        openings = w.bytes
    }

    /// Calls `step` with each reported step's name, then `event` with each of its events.
    func visit(_ bound: BoundEvents, step: (String) -> Void, event: (Event) -> Void) {
        bound.entries.withUnsafeBufferPointer { entries in
            visit(entries.count, { entries[$0].binding }, step: step) { event(entries[$0].event) }
        }
    }

    /// `visit`, with each event's stream and values in place: for writing alert lines
    /// (iterating the entries copied each, a retain and a release of its values).
    func visitRows(_ bound: BoundEvents, step: (String) -> Void, event: (Int32, UnsafeBufferPointer<Value>, UnsafeBufferPointer<UInt8>?) -> Void) {
        bound.entries.withUnsafeBufferPointer { entries in
            visit(entries.count, { entries[$0].binding }, step: step) { i in
                entries[i].event.values.withUnsafeBufferPointer { event(entries[i].event.stream, $0, nil) }
            }
        }
    }

    /// `visit` over events in the detector's store.
    func visit(_ stored: StoredEvents, step: (String) -> Void, event: (Event) -> Void) {
        let view = stored.view
        visit(stored.slots.count, { stored.slots[$0].binding }, step: step) { event(view.event(stored.slots[$0].slot)) }
    }

    /// `visitRows` over events in the detector's store: their rows, read in place.
    func visitRows(_ stored: StoredEvents, step: (String) -> Void, event: (Int32, UnsafeBufferPointer<Value>, UnsafeBufferPointer<UInt8>?) -> Void) {
        let view = stored.view
        visit(stored.slots.count, { stored.slots[$0].binding }, step: step) { i in
            let slot = stored.slots[i].slot
            let stream = view.streams[Int(slot)]
            event(stream, UnsafeBufferPointer(start: view.row(slot), count: view.widths[Int(stream)]), view.line(slot))
        }
    }

    /// The order every visit walks, over `count` events whose bindings `binding` gives:
    /// `event` gets the index of each one reported.
    private func visit(_ count: Int, _ binding: (Int) -> Int32, step: (String) -> Void, event: (Int) -> Void) {
        for s in steps {
            if s.bindings.count == 1 {
                let b = s.bindings[0]
                guard (0..<count).contains(where: { binding($0) == b }) else {
                    step(s.name)
                    continue
                }
                step(bindingNames[Int(b)])
                for i in 0..<count where binding(i) == b { event(i) }
                continue
            }
            var current: Int32?
            for i in 0..<count where s.bindings.contains(binding(i)) {
                if binding(i) != current {
                    current = binding(i)
                    step(bindingNames[Int(binding(i))])
                }
                event(i)
            }
            if current == nil { step(s.name) }
        }
    }
}

/// A match's events where the detector stores them: valid until the store's next sweep,
/// which only an event added after the call that made the alert can cause.
struct StoredEvents: @unchecked Sendable {
    let store: EventStore
    /// The store's sweeps when the alert was made.
    let sweeps: Int
    let slots: BoundList
    /// The slot of the event the message reads as the current one (`StoredMatch.current`).
    var current: Int32? = nil

    /// The store, checked: reading events the store has reclaimed is a caller's error,
    /// reported rather than read.
    var view: StoreView {
        precondition(store.sweeps == sweeps, "an alert's matched events were read after its detector reclaimed them: read alerts from accept(taking:into:) before the next call")
        return store.view
    }
}

/// FNV-1a, 64 bits: a small, stable hash for deterministic ids (not for security).
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func add(_ bytes: some Sequence<UInt8>) {
        for b in bytes {
            value ^= UInt64(b)
            value = value &* Self.prime
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
        // One pass over the text, byte by byte as `add` goes (an alert hashes its key).
        let plain = s.withUTF8 { utf8 -> Bool in
            guard JSONWriter.isPlain(utf8) else { return false }
            var h = value
            h = (h ^ UInt64(UInt8(ascii: "\""))) &* Self.prime
            for b in utf8 { h = (h ^ UInt64(b)) &* Self.prime }
            h = (h ^ UInt64(UInt8(ascii: "\""))) &* Self.prime
            value = (h ^ 0xFF) &* Self.prime
            return true
        }
        if !plain { add(v.json) }
    }

    private static var prime: UInt64 { 0x0000_0100_0000_01B3 }

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

extension StoredMatch {
    /// The context templates and `select` are evaluated in: the completing event (or
    /// the last bound one) and the bound events, in place in `store`.
    func context(_ store: StoreView) -> EvalContext {
        EvalContext(match: current, slots: slots, key: key, detectedAt: detectedAt, store)
    }

    /// The match as a row of its rule's detections table: the alert's id, rule,
    /// severity, detection time, key and message, then the selected columns.
    func detectionRow(_ alert: Alert, _ rows: RowOutput, _ store: StoreView) -> Row {
        let ctx = context(store)
        var values: [Value] = [.string(alert.id), .string(alert.rule), .string(alert.severity), .timestamp(detectedAt)]
        values += key
        values.append(.string(alert.message))
        for e in rows.select { values.append(e(ctx)) }
        return Row(table: rows.table, rule: alert.rule, op: .upsert, version: 1, columns: rows.columns, values: values, at: detectedAt)
    }

    /// Renders the match as an alert of `rule` (`source` is its). The id derives from
    /// the rule, the key and the identities (input, line) of the matched events.
    /// `inPlace`: the alert reads its events from `store` (until its next sweep) instead
    /// of copies of its own.
    func alert(_ rule: PatternRule, _ source: AlertSource, _ store: EventStore, _ view: StoreView, inPlace: Bool) -> Alert {
        var h = source.idSeed
        for v in key { h.add(json: v) }
        for s in slots {
            let origin = view.origins[Int(s.slot)]
            h.add(Int64(origin.input))
            h.add(origin.line)
        }
        if inPlace {
            // Its message is rendered as it is read (its line written from the template):
            // a message longer than 15 bytes was a string allocated per alert.
            return Alert.reading(StoredEvents(store: store, sweeps: store.sweeps, slots: slots, current: current),
                                 idHash: h.value, source: source, keyValues: key, detectedAt: detectedAt)
        }
        let message = rule.message.render(context(view))
        return Alert(idHash: h.value, source: source, keyValues: key, message: message, detectedAt: detectedAt,
                     bound: PatternMatcher.events(slots, view))
    }
}

extension EvalContext {
    /// The context of a match's templates and selections: its `current` event's row (the
    /// completing one, or the last bound for an absence), its bound slots and key.
    init(match current: Int32?, slots: BoundList, key: [Value], detectedAt: Int64, _ store: StoreView) {
        self.init(row: current.map { store.row($0) }, store: store, boundSlots: slots, key: key, detectedAt: detectedAt)
    }
}

/// Bytes written for alerts that keep their `matched` array written (`Alert.detach`):
/// each keeps its range. Written by one thread, then only read (by the thread that
/// writes the alerts' lines, once it has them).
public final class AlertBytes: @unchecked Sendable {
    var writer: JSONWriter

    public init(capacity: Int = 16 << 10) {
        writer = JSONWriter(capacity: capacity)
    }

    /// Bytes written.
    public var count: Int { writer.count }
}
