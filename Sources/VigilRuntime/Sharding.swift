/// An event's place in event-time order: time, then input, then line.
public struct EventStamp: Comparable, Sendable, Codable {
    public var ts: Int64
    public var input: Int32
    public var line: Int64

    public init(ts: Int64, input: Int32, line: Int64) {
        self.ts = ts
        self.input = input
        self.line = line
    }

    public init(_ e: borrowing Event) {
        self.init(ts: e.ts, input: e.origin.input, line: e.origin.line)
    }

    public static func < (a: EventStamp, b: EventStamp) -> Bool {
        if a.ts != b.ts { return a.ts < b.ts }
        if a.input != b.input { return a.input < b.input }
        return a.line < b.line
    }
}

/// Where an output stands in the order one detector over all keys emits it, so that
/// the outputs of detectors sharded by key merge back into exactly that order:
/// - `step`: which call produced it (the n-th `accept` or `markIdle`; `finish` is last);
/// - `phase`: flows (0), then each rule in rule order (1 + its index), late (last);
/// - within a rule, the release that caused it: an event released at `time` (kind 0)
///   comes before an absence whose deadline is `time` (kind 1); a window closing at
///   `time` (kind 0). Ties between keys break on `at`: the releasing event, the
///   absence's first bound event, the window's first event — never shared by two keys.
public struct OutputTag: Comparable, Sendable {
    public var step: Int64
    public var phase: Int32
    public var time: Int64
    public var kind: Int32
    public var at: EventStamp

    static let latePhase = Int32.max

    public static func < (a: OutputTag, b: OutputTag) -> Bool {
        if a.step != b.step { return a.step < b.step }
        if a.phase != b.phase { return a.phase < b.phase }
        if a.time != b.time { return a.time < b.time }
        if a.kind != b.kind { return a.kind < b.kind }
        return a.at < b.at
    }

    public static func == (a: OutputTag, b: OutputTag) -> Bool {
        a.step == b.step && a.phase == b.phase && a.time == b.time && a.kind == b.kind && a.at == b.at
    }
}

/// One shard's share of a run: which keys it owns. Every shard sees every event's time
/// (so each keeps the same watermarks and makes the same lateness decisions): the
/// events it owns a key of whole, the others as a time (`Detector.pass(stream:ts:into:)`)
/// when `ShardRouter` can tell; a rule matches an event only in the shard that owns the
/// event's key for that rule.
public struct Shard: Sendable {
    public var index: Int
    public var count: Int

    public init(_ index: Int, of count: Int) {
        precondition(count >= 1 && index >= 0 && index < count)
        self.index = index
        self.count = count
    }

    public static let whole = Shard(0, of: 1)

    /// The shard that owns the key made of `e`'s `fields`: from a hash seeded the same in
    /// every process (`KeyTable.fixedHash`), so that a sharded run's checkpoint, resumed
    /// by another process, finds each key's state in the shard that owns it. Which shard
    /// owns a key never shows in the output, whose order comes from the tags.
    /// The shard comes from the hash's high bits (a multiply, not a modulo).
    func owns(_ e: Event, fields: [Int]) -> Bool { owns(hash: KeyTable.fixedHash(e, fields)) }

    /// `owns(_:fields:)` for the event whose values are `row`, reading short strings in
    /// place (`KeyHash.add(at:stringTag:)`; `stringTag`: `ValueSlot.stringTag`).
    @inline(__always) func owns(row: UnsafePointer<Value>, fields: [Int], stringTag: UInt8?) -> Bool {
        owns(hash: KeyTable.hash(row: row, fields, seed: KeyHash.fixedSeed, stringTag: stringTag))
    }

    /// Whether it owns the key whose `KeyTable.fixedHash` is `hash`.
    private func owns(hash: Int) -> Bool { Self.index(ofHash: hash, count: count) == index }

    /// The shard of `count` that owns the key whose `KeyTable.fixedHash` is `hash`.
    static func index(ofHash hash: Int, count: Int) -> Int {
        Int(UInt(bitPattern: hash).multipliedFullWidth(by: UInt(count)).high)
    }
}
