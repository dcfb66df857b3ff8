/// Which shards of a sharded run must decode a JSON line of one stream: those that own
/// its key for a rule that reads the stream (see `Shard`), guessed from the line's bytes
/// without decoding it. The other shards need only the event's time, which a shard that
/// decodes it hands on (`ShardedDetector`): each line is decoded about once, not once
/// per shard.
///
/// The guess reads each key field's `"name":` in the line, as a plain ASCII
/// string or integer. It is only a guess (the member may be nested, or named twice, or
/// spelled another way): the shard that decodes the line checks it against the
/// event's values (`owners(of:)`), and a shard it left out decodes the line after all.
/// A line whose key it cannot read that cheaply (an escape, a character beyond ASCII,
/// a number that is not a plain integer) goes to every shard.
public struct ShardRouter: Sendable {
    /// A key field: its key as a line spells it, and its type.
    private struct Field {
        var key: QuotedKey
        var type: FieldType
        var count: Int { key.count }
    }
    /// The distinct key fields of the stream's readers.
    private let fields: [Field]
    /// Per distinct key of some reader: its fields, as indexes into `fields`, and as slots.
    private let keys: [[Int]]
    private let keySlots: [[Int]]
    /// The first shard decodes every line: some reader keeps no key in this stream, or a
    /// flow reads it (the first shard runs flows on every event).
    private let first: UInt64
    private let shards: Int
    /// Per field: where its `"name":` was in the last line that had it. Lines of one
    /// input are mostly alike: it is tried first, before a search.
    private var hints: [Int]
    /// The one key field, when every reader that keeps a key keys the stream by that one
    /// field (most streams), with its hint: routed without the loops over keys and
    /// fields (they retained each key's array and checked the hints' uniqueness, about
    /// 60 instructions a line).
    private let single: Field?
    private var singleHint = 0

    /// nil when every shard must decode every line of stream `s`: a key field is nested,
    /// typed other than string or int, or named by more than 13 bytes.
    public init?(program: Program, stream s: Int, shards: Int) {
        guard shards > 1, shards <= 64 else { return nil }
        let schema = program.streams[s]
        var readerKeys: [[Int]?] = program.rules.filter { $0.streams.contains(s) }.map { $0.keySlots[s] }
        readerKeys += program.windows.filter { $0.stream == s }.map { $0.keySlots }
        var slots: [Int] = []
        var keys: [[Int]] = []
        var first: UInt64 = readerKeys.isEmpty || program.flows.contains { $0.stream == s } ? 1 : 0
        for key in readerKeys {
            guard let key else { first = 1; continue }
            let k = key.map { slot in
                if let k = slots.firstIndex(of: slot) { return k }
                slots.append(slot)
                return slots.count - 1
            }
            if !keys.contains(k) { keys.append(k) }
        }
        var fields: [Field] = []
        for slot in slots {
            let f = schema.fields[slot]
            guard f.type == .string || f.type == .int, !f.name.utf8.contains(UInt8(ascii: ".")), let key = QuotedKey(f.name) else { return nil }
            let field = Field(key: key, type: f.type)
            fields.append(field)
        }
        self.fields = fields
        self.hints = fields.map { _ in 0 }
        self.keys = keys
        self.keySlots = keys.map { $0.map { slots[$0] } }
        self.first = first
        self.shards = shards
        single = keys.count == 1 && keys[0].count == 1 ? fields[keys[0][0]] : nil
    }

    /// Every shard.
    public static func all(_ shards: Int) -> UInt64 { shards >= 64 ? .max : (1 << UInt64(shards)) - 1 }

    /// The shards that own the keys of an event whose values are `values` (bit i: shard
    /// i), exactly.
    public func owners(of values: [Value]) -> UInt64 {
        var mask = first
        for key in keySlots {
            var h = KeyHash(seed: KeyHash.fixedSeed)
            for slot in key { h.add(values[slot]) }
            mask |= 1 << UInt64(Shard.index(ofHash: h.value, count: shards))
        }
        return mask
    }

    /// The shards (bit i: shard i) that must decode `line`, as far as its bytes tell.
    public mutating func route(_ line: UnsafeBufferPointer<UInt8>) -> UInt64 {
        if let f = single {
            var h = KeyHash(seed: KeyHash.fixedSeed)
            guard Self.add(f, line, &singleHint, &h) else { return Self.all(shards) }
            return first | 1 << UInt64(Shard.index(ofHash: h.value, count: shards))
        }
        var mask = first
        for key in keys {
            var h = KeyHash(seed: KeyHash.fixedSeed)
            for k in key {
                guard Self.add(fields[k], line, &hints[k], &h) else { return Self.all(shards) }
            }
            mask |= 1 << UInt64(Shard.index(ofHash: h.value, count: shards))
        }
        return mask
    }

    @inline(__always) private static func word(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt64 { QuotedKey.word(p, i) }

    /// Where a `"name":` of `f` in `p` ends, if it has one: the one at `hint` (where it
    /// was in the last line), or else the first; `hint` is updated. (Which one, only a
    /// line that names its key twice can tell, and the guess is checked on such a line.)
    private static func find(_ f: Field, _ p: UnsafeBufferPointer<UInt8>, _ hint: inout Int) -> Int? {
        if hint < p.count, f.key.isNear(p, hint) { return hint + f.count }
        guard let at = search(f, p) else { return nil }
        hint = at - f.count
        return at
    }

    /// `find` without a hint.
    private static func search(_ f: Field, _ p: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = p.count
        var i = 0
        let ones: UInt64 = 0x0101_0101_0101_0101
        while i + 8 <= n {
            // Every quote is flagged (and perhaps a byte above one): each is tried.
            let v = word(p, i) ^ (ones &* 0x22)
            var m = (v &- ones) & ~v & (ones &* 0x80)
            while m != 0 {
                let q = i + m.trailingZeroBitCount >> 3
                if f.key.isNear(p, q) { return q + f.count }
                m &= m - 1
            }
            i += 8
        }
        while i < n {
            if p[i] == UInt8(ascii: "\""), f.key.isNear(p, i) { return i + f.count }
            i += 1
        }
        return nil
    }

    @inline(__always) private static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }

    /// Hashes the value of `f`'s first member in `p` as the decoder would make it: false
    /// when that takes decoding.
    private static func add(_ f: Field, _ p: UnsafeBufferPointer<UInt8>, _ hint: inout Int, _ h: inout KeyHash) -> Bool {
        guard var i = find(f, p, &hint) else {
            h.addNull()   // no such member: the decoder makes it null
            return true
        }
        let n = p.count
        while i < n && isSpace(p[i]) { i += 1 }
        guard i < n else { return false }
        let c = p[i]
        if c == UInt8(ascii: "n") {
            guard i + 4 <= n, p[i + 1] == UInt8(ascii: "u"), p[i + 2] == UInt8(ascii: "l"), p[i + 3] == UInt8(ascii: "l") else { return false }
            h.addNull()
            return true
        }
        switch f.type {
        case .string:
            guard c == UInt8(ascii: "\"") else { return false }
            let start = i + 1
            // Most keys: a short plain string, read in one or two words.
            if let base = p.baseAddress, let w = CanonicalLineScanner.shortString(base, start, n) {
                h.addShortASCII(low: w.low, high: w.high, count: w.count)
                return true
            }
            i = start
            // An escape, a control character or a character beyond ASCII: its hash needs
            // the decoded string.
            var high: UInt8 = 0
            guard FlatJSONScanner.toClosingQuote(p, &i, &high), high < 0x80 else { return false }
            return h.addString(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(p)[start..<i]))
        case .int:
            let negative = c == UInt8(ascii: "-")
            if negative { i += 1 }
            var n64: Int64 = 0, digits = 0
            while i < n, p[i] &- 48 < 10 {
                n64 = n64 &* 10 &+ Int64(p[i] &- 48)
                digits += 1
                i += 1
            }
            guard digits >= 1, digits <= 18, i == n || !(p[i] == UInt8(ascii: ".") || p[i] | 0x20 == UInt8(ascii: "e")) else { return false }
            h.addInt(negative ? -n64 : n64)
            return true
        default:
            return false
        }
    }
}
