/// A stream's declared shape, as the runtime needs it: typed slots in declaration order.
public struct StreamSchema: Sendable, Codable {
    public var name: String
    /// Field names (dotted for nested fields) and types; an event's values use these slots.
    public var fields: [Field] { didSet { jsonKeys = Self.jsonKeys(fields) } }
    /// Per field, `"name":` as JSON bytes: alert lines write every matched event's
    /// field names, and quoting them again for each one showed in profiles.
    public private(set) var jsonKeys: JSONKeys
    /// Slots of the key fields, in key order.
    public var keySlots: [Int]
    /// Slot of the time field.
    public var timeSlot: Int
    public var latenessMs: Int64
    public var idleTimeoutMs: Int64?

    public struct Field: Sendable, Codable, Hashable {
        public var name: String
        public var type: FieldType
        public init(name: String, type: FieldType) {
            self.name = name
            self.type = type
        }
    }

    public init(name: String, fields: [Field], keySlots: [Int], timeSlot: Int, latenessMs: Int64, idleTimeoutMs: Int64?) {
        self.name = name
        self.fields = fields
        self.jsonKeys = Self.jsonKeys(fields)
        self.keySlots = keySlots
        self.timeSlot = timeSlot
        self.latenessMs = latenessMs
        self.idleTimeoutMs = idleTimeoutMs
    }

    public func slot(of name: String) -> Int? { fields.firstIndex { $0.name == name } }

    private static func jsonKeys(_ fields: [Field]) -> JSONKeys {
        JSONKeys(fields.map { f in
            var w = JSONWriter(capacity: f.name.utf8.count + 3)
            w.key(f.name)
            return w.bytes
        })
    }

    private enum CodingKeys: String, CodingKey { case name, fields, keySlots, timeSlot, latenessMs, idleTimeoutMs }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(name: c.decode(String.self, forKey: .name), fields: c.decode([Field].self, forKey: .fields),
                      keySlots: c.decode([Int].self, forKey: .keySlots), timeSlot: c.decode(Int.self, forKey: .timeSlot),
                      latenessMs: c.decode(Int64.self, forKey: .latenessMs),
                      idleTimeoutMs: c.decodeIfPresent(Int64.self, forKey: .idleTimeoutMs))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(fields, forKey: .fields)
        try c.encode(keySlots, forKey: .keySlots)
        try c.encode(timeSlot, forKey: .timeSlot)
        try c.encode(latenessMs, forKey: .latenessMs)
        try c.encodeIfPresent(idleTimeoutMs, forKey: .idleTimeoutMs)
    }
}

/// Where an event came from: which `--input` and which line (1-based).
public struct EventOrigin: Sendable, Hashable, Codable, Comparable {
    public var input: Int32
    public var line: Int64

    public init(input: Int32, line: Int64) {
        self.input = input
        self.line = line
    }

    public static func < (a: EventOrigin, b: EventOrigin) -> Bool { (a.input, a.line) < (b.input, b.line) }
}

/// A decoded event: stream, event time, origin, and one value per schema slot.
public struct Event: Sendable, Codable {
    public var stream: Int32
    public var ts: Int64
    public var origin: EventOrigin
    public var values: [Value]

    public init(stream: Int32, ts: Int64, origin: EventOrigin, values: [Value]) {
        self.stream = stream
        self.ts = ts
        self.origin = origin
        self.values = values
    }

    /// Event-time order: time, then input, then line.
    public func precedes(_ other: Event) -> Bool { EventStamp(self) < EventStamp(other) }
}

/// A line that could not become an event, with why and where.
public struct DeadLetter: Sendable, Codable, Equatable {
    public var stream: String
    public var source: String
    public var line: Int64
    public var reason: String
    public var raw: String

    public init(stream: String, source: String, line: Int64, reason: String, raw: String) {
        self.stream = stream
        self.source = source
        self.line = line
        self.reason = reason
        self.raw = raw
    }

    /// One JSON object: `stream`, `source`, `line`, `reason`, `raw`.
    public var json: String {
        JSON.object([("stream", JSON.quote(stream)), ("source", JSON.quote(source)), ("line", String(line)),
                     ("reason", JSON.quote(reason)), ("raw", JSON.quote(raw))])
    }
}

/// Each field's `"name":` as JSON bytes, all in one array (an array per field was a
/// reference count touched per field written).
public struct JSONKeys: Sendable {
    /// Every key's bytes, one after another, then 16 zeros: a key is copied in two
    /// word loads, which may read past its end.
    let bytes: [UInt8]
    /// Where key f ends in `bytes` (it starts where key f-1 ends).
    let ends: [Int]

    public init(_ keys: [[UInt8]]) {
        bytes = keys.flatMap { $0 } + [UInt8](repeating: 0, count: 16)
        var end = 0
        ends = keys.map { end += $0.count; return end }
    }

    public var count: Int { ends.count }

    /// Key `f`'s bytes.
    public subscript(f: Int) -> ArraySlice<UInt8> { bytes[(f == 0 ? 0 : ends[f - 1])..<ends[f]] }
}
