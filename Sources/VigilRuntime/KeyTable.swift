/// Partition keys interned to dense slots. An event is looked up by its key fields in
/// place — hashed and compared slot by slot — so the per-event path builds no key
/// array; the key's values are copied once, when the key gets a slot.
///
/// Open addressing with linear probing over a power-of-two bucket array; removed keys
/// leave tombstones until the next rehash. Equality and hashing are `Value`'s own, as a
/// `[[Value]: _]` dictionary would use.
struct KeyTable: Sendable {
    /// Per slot: the key's values (empty when the slot is free) and whether it is live.
    private(set) var keys: [[Value]] = []
    private(set) var live: [Bool] = []
    private var hashes: [Int] = []
    /// Per bucket: a slot, `empty` or `removed`.
    private var buckets: [Int32] = Array(repeating: empty, count: 16)
    private var freeSlots: [Int32] = []
    /// Live keys.
    private(set) var count = 0
    /// Buckets not empty (live keys and tombstones).
    private var used = 0

    private static let empty: Int32 = -1
    private static let removed: Int32 = -2

    init() {}

    /// Slots ever handed out (live or free): the length of arrays indexed by slot.
    var slotCount: Int { keys.count }

    static func hash(_ e: Event, _ fields: [Int]) -> Int {
        var h = Hasher()
        for f in fields { e.values[f].hash(into: &h) }
        return h.finalize()
    }

    static func hash(_ key: [Value]) -> Int {
        var h = Hasher()
        for v in key { v.hash(into: &h) }
        return h.finalize()
    }

    /// The slot of the key made of `e`'s `fields`, if it has one.
    func find(_ e: Event, fields: [Int], hash: Int) -> Int32? {
        let mask = buckets.count - 1
        var i = hash & mask
        while true {
            let b = buckets[i]
            if b == Self.empty { return nil }
            if b >= 0, hashes[Int(b)] == hash, Self.equal(keys[Int(b)], e, fields) { return b }
            i = (i + 1) & mask
        }
    }

    /// The slot of `key`, if it has one.
    func find(_ key: [Value]) -> Int32? {
        let hash = Self.hash(key)
        let mask = buckets.count - 1
        var i = hash & mask
        while true {
            let b = buckets[i]
            if b == Self.empty { return nil }
            if b >= 0, hashes[Int(b)] == hash, keys[Int(b)] == key { return b }
            i = (i + 1) & mask
        }
    }

    @inline(__always) private static func equal(_ key: [Value], _ e: Event, _ fields: [Int]) -> Bool {
        for k in fields.indices where key[k] != e.values[fields[k]] { return false }
        return true
    }

    /// Gives `key` (not present) a slot.
    mutating func insert(_ key: [Value], hash: Int) -> Int32 {
        if (used + 1) * 2 > buckets.count { rehash(minimumBuckets: max(16, (count + 1) * 4)) }
        let slot: Int32
        if let f = freeSlots.popLast() {
            slot = f
            keys[Int(f)] = key
            hashes[Int(f)] = hash
            live[Int(f)] = true
        } else {
            slot = Int32(keys.count)
            keys.append(key)
            hashes.append(hash)
            live.append(true)
        }
        let mask = buckets.count - 1
        var i = hash & mask
        while buckets[i] >= 0 { i = (i + 1) & mask }
        if buckets[i] == Self.empty { used += 1 }
        buckets[i] = slot
        count += 1
        return slot
    }

    /// Frees `slot` (its key leaves the table).
    mutating func remove(_ slot: Int32) {
        let mask = buckets.count - 1
        var i = hashes[Int(slot)] & mask
        while buckets[i] != slot { i = (i + 1) & mask }
        buckets[i] = Self.removed
        keys[Int(slot)] = []
        live[Int(slot)] = false
        freeSlots.append(slot)
        count -= 1
    }

    private mutating func rehash(minimumBuckets: Int) {
        var n = 16
        while n < minimumBuckets { n <<= 1 }
        buckets = Array(repeating: Self.empty, count: n)
        used = 0
        let mask = n - 1
        for s in keys.indices where live[s] {
            var i = hashes[s] & mask
            while buckets[i] != Self.empty { i = (i + 1) & mask }
            buckets[i] = Int32(s)
            used += 1
        }
    }
}

extension KeyTable: Codable {
    private enum CodingKeys: String, CodingKey { case keys, live }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let keys = try c.decode([[Value]].self, forKey: .keys)
        let live = try c.decode([Bool].self, forKey: .live)
        self.keys = keys
        self.live = live
        hashes = keys.map(Self.hash)
        count = live.filter { $0 }.count
        freeSlots = live.indices.filter { !live[$0] }.reversed().map { Int32($0) }
        rehash(minimumBuckets: max(16, count * 4))
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(keys, forKey: .keys)
        try c.encode(live, forKey: .live)
    }
}
