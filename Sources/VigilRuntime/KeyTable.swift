import CPrefetch

/// Partition keys interned to dense slots. An event is looked up by its key fields in
/// place — hashed and compared slot by slot — so the per-event path builds no key
/// array; the key's values are copied once, when the key gets a slot.
///
/// Open addressing with linear probing over a power-of-two bucket array; removed keys
/// leave tombstones until the next rehash. Equality is `Value`'s own, as a
/// `[[Value]: _]` dictionary would use; hashing is `KeyHash`, consistent with it.
struct KeyTable: Sendable {
    /// Per slot: the key's values and whether it is live. A free slot keeps its last
    /// key's array, whose storage the next key given the slot reuses (keys come and go,
    /// and each allocated an array).
    private(set) var keys: [[Value]] = []
    /// Per slot: its key's first value (null for an empty key), compared in place: a
    /// key of one field is found without reading its array, which was a cache miss
    /// per event.
    private var firsts: [Value] = []
    private(set) var live: [Bool] = []
    private var hashes: [Int] = []
    /// Per bucket: `empty`, `removed`, or a slot (low 32 bits) with the high 32 bits of
    /// its key's hash, so a probe compares hashes without touching another array.
    private var buckets: [UInt64] = Array(repeating: empty, count: 16)
    private var freeSlots: [Int32] = []
    /// Live keys.
    private(set) var count = 0
    /// Buckets not empty (live keys and tombstones).
    private var used = 0

    private static let empty: UInt64 = .max
    private static let removed: UInt64 = .max - 1

    @inline(__always) private static func bucket(_ slot: Int32, _ hash: Int) -> UInt64 {
        UInt64(UInt32(bitPattern: Int32(truncatingIfNeeded: hash >> 32))) << 32 | UInt64(UInt32(bitPattern: slot))
    }
    @inline(__always) private static func slot(_ b: UInt64) -> Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: b)) }
    @inline(__always) private static func isSlot(_ b: UInt64) -> Bool { b < removed }

    init() {}

    /// Slots ever handed out (live or free): the length of arrays indexed by slot.
    var slotCount: Int { keys.count }

    static func hash(_ e: Event, _ fields: [Int]) -> Int {
        var h = KeyHash()
        for f in fields { h.add(e.values[f]) }
        return h.value
    }

    /// `hash(e, fields)` with `KeyHash.fixedSeed`: the same in every process.
    static func fixedHash(_ e: Event, _ fields: [Int]) -> Int {
        var h = KeyHash(seed: KeyHash.fixedSeed)
        for f in fields { h.add(e.values[f]) }
        return h.value
    }

    static func hash(row: UnsafePointer<Value>, _ fields: some Collection<Int>) -> Int {
        hash(row: row, fields, seed: KeyHash.processSeed, stringTag: ValueSlot.stringTag)
    }

    /// `hash(row:_:)` with the process's seed and `ValueSlot.stringTag` read once by the
    /// caller: each is a lazy global, and reading one is a call (`swift_once`) every time.
    @inline(__always) static func hash(row: UnsafePointer<Value>, _ fields: some Collection<Int>, seed: UInt64, stringTag: UInt8?) -> Int {
        var h = KeyHash(seed: seed)
        for f in fields { h.add(at: row + f, stringTag: stringTag) }
        return h.value
    }

    static func hash(_ key: [Value]) -> Int {
        var h = KeyHash()
        for v in key { h.add(v) }
        return h.value
    }

    /// The slot of the key made of the `fields` of the event whose values are `row`, if
    /// it has one.
    func find(row: UnsafePointer<Value>, fields: UnsafeBufferPointer<Int>, hash: Int) -> Int32? {
        let mask = buckets.count - 1
        var i = hash & mask
        let high = Self.bucket(0, hash) >> 32
        while true {
            let b = buckets[i]
            if b == Self.empty { return nil }
            if Self.isSlot(b), b >> 32 == high, case let s = Self.slot(b), equal(s, row, fields) { return s }
            i = (i + 1) & mask
        }
    }

    /// Starts loading the bucket a key with `hash` probes first.
    mutating func prefetch(hash: Int) {
        buckets.withUnsafeBufferPointer { b in vigil_prefetch(b.baseAddress! + (hash & (b.count - 1))) }
    }

    /// Starts loading slot `slot`'s key array: a match reports the key (counting a
    /// reference to it), long after the key was last read.
    @inline(__always) func prefetchKey(_ slot: Int32) {
        keys.withUnsafeBufferPointer { k in
            // The array's storage pointer, read without copying the array (a copy
            // counts a reference: the very load this is to hide).
            vigil_prefetch(UnsafeRawPointer(k.baseAddress! + Int(slot)).load(as: UnsafeRawPointer.self))
        }
    }

    /// The slot of `key`, if it has one.
    func find(_ key: [Value]) -> Int32? {
        let hash = Self.hash(key)
        let mask = buckets.count - 1
        var i = hash & mask
        let high = Self.bucket(0, hash) >> 32
        while true {
            let b = buckets[i]
            if b == Self.empty { return nil }
            if Self.isSlot(b), b >> 32 == high, case let s = Self.slot(b), keys[Int(s)] == key { return s }
            i = (i + 1) & mask
        }
    }

    /// Whether slot `s` holds the key made of `row`'s `fields`.
    @inline(__always) private func equal(_ s: Int32, _ row: UnsafePointer<Value>, _ fields: UnsafeBufferPointer<Int>) -> Bool {
        guard let first = fields.first else { return true }
        guard firsts[Int(s)] == row[first] else { return false }
        if fields.count == 1 { return true }
        let key = keys[Int(s)]
        for k in fields.indices.dropFirst() where key[k] != row[fields[k]] { return false }
        return true
    }

    /// Gives `key` (not present) a slot.
    mutating func insert(_ key: [Value], hash: Int) -> Int32 {
        let slot = newSlot(hash: hash)
        keys[Int(slot)] = key
        firsts[Int(slot)] = key.first ?? .null
        return slot
    }

    /// Gives the key made of the `fields` of the event whose values are `row` (not
    /// present) a slot; its values go into the storage the slot's last key left, when
    /// nothing else holds that.
    mutating func insert(row: UnsafePointer<Value>, fields: UnsafeBufferPointer<Int>, hash: Int) -> Int32 {
        preferFreeSlotWithOwnStorage()
        let slot = newSlot(hash: hash)
        keys[Int(slot)].removeAll(keepingCapacity: true)
        for f in fields { keys[Int(slot)].append(row[f]) }
        firsts[Int(slot)] = fields.first.map { row[$0] } ?? .null
        return slot
    }

    /// Puts a free slot whose key storage nothing else holds next in line, when one of
    /// the last few freed is: the key of a match still being reported holds its
    /// departed key's storage, and writing into that would copy it.
    private mutating func preferFreeSlotWithOwnStorage() {
        let n = freeSlots.count
        guard n > 0, !ownsKeyStorage(freeSlots[n - 1]) else { return }
        for i in stride(from: n - 2, through: max(0, n - 4), by: -1) where ownsKeyStorage(freeSlots[i]) {
            freeSlots.swapAt(i, n - 1)
            return
        }
    }

    /// Whether slot `s` has key storage and only this table holds it.
    private mutating func ownsKeyStorage(_ s: Int32) -> Bool {
        guard keys[Int(s)].capacity > 0 else { return false }
        return keys.withUnsafeMutableBufferPointer { k in
            // An array is one reference to its storage object: checked in place, as
            // reading it out would count another reference.
            UnsafeMutableRawPointer(k.baseAddress! + Int(s)).withMemoryRebound(to: AnyObject.self, capacity: 1) {
                isKnownUniquelyReferenced(&$0.pointee)
            }
        }
    }

    /// A slot for a key with `hash`, live and in its bucket; its `keys` entry is the
    /// slot's last key (or empty).
    private mutating func newSlot(hash: Int) -> Int32 {
        if (used + 1) * 2 > buckets.count { rehash(minimumBuckets: max(16, (count + 1) * 4)) }
        let slot: Int32
        if let f = freeSlots.popLast() {
            slot = f
            hashes[Int(f)] = hash
            live[Int(f)] = true
        } else {
            slot = Int32(keys.count)
            keys.append([])
            firsts.append(.null)
            hashes.append(hash)
            live.append(true)
        }
        let mask = buckets.count - 1
        var i = hash & mask
        while Self.isSlot(buckets[i]) { i = (i + 1) & mask }
        if buckets[i] == Self.empty { used += 1 }
        buckets[i] = Self.bucket(slot, hash)
        count += 1
        return slot
    }

    /// Frees `slot` (its key leaves the table).
    mutating func remove(_ slot: Int32) {
        let mask = buckets.count - 1
        let hash = hashes[Int(slot)]
        var i = hash & mask
        while buckets[i] != Self.bucket(slot, hash) { i = (i + 1) & mask }
        buckets[i] = Self.removed
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
            buckets[i] = Self.bucket(Int32(s), hashes[s])
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
        guard live.count == keys.count else {
            throw DecodingError.dataCorruptedError(forKey: .live, in: c, debugDescription: "\(keys.count) keys but \(live.count) live flags")
        }
        self.init(keys: keys, live: live)
    }

    /// A table whose slot `s` holds `keys[s]` when `live[s]` (and is free otherwise).
    init(keys: [[Value]], live: [Bool]) {
        precondition(keys.count == live.count)
        self.keys = keys
        self.firsts = keys.map { $0.first ?? .null }
        self.live = live
        hashes = keys.map(Self.hash)
        count = live.filter { $0 }.count
        freeSlots = live.indices.filter { !live[$0] }.reversed().map { Int32($0) }
        rehash(minimumBuckets: max(16, count * 4))
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // A free slot's kept storage is not part of the state.
        try c.encode(keys.indices.map { live[$0] ? keys[$0] : [] }, forKey: .keys)
        try c.encode(live, forKey: .live)
    }
}

/// A fast hash of key values, consistent with `Value`'s `==`: ASCII strings (the usual
/// key) are hashed by their bytes, eight at a time; other strings by the bytes of their
/// normalized form (NFC), which is what `==` compares. Seeded per process like `Hasher`,
/// so no order in the output can depend on it, except with `fixedSeed`.
struct KeyHash {
    private static let seed = UInt64(truncatingIfNeeded: Hasher().finalize()) | 1
    /// A seed that is the same in every process, for what must hash alike across runs
    /// (which shard owns a key: a sharded run's checkpoint is resumed by another process).
    static let fixedSeed: UInt64 = 0x243F_6A88_85A3_08D3
    private var h: UInt64

    /// Seeded per process (tables indexed by it cannot be flooded from the input).
    init() { h = KeyHash.seed }

    /// The seed `init()` uses.
    static var processSeed: UInt64 { seed }

    init(seed: UInt64) { h = seed }

    var value: Int {
        let m = h.multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        return Int(truncatingIfNeeded: m.high ^ m.low)
    }

    @inline(__always) private mutating func mix(_ v: UInt64) {
        let m = (h ^ v).multipliedFullWidth(by: 0xA076_1D64_78BD_642F)
        h = m.high ^ m.low ^ 0xE703_7ED1_A0B4_28DB
    }

    mutating func add(_ v: Value) {
        switch v {
        case .null: addNull()
        case .int(let n): addInt(n)
        case .double(let d): mix(2); mix(d == 0 ? 0 : d.bitPattern)
        case .bool(let b): mix(b ? 3 : 4)
        case .timestamp(let n): mix(5); mix(UInt64(bitPattern: n))
        case .duration(let n): mix(6); mix(UInt64(bitPattern: n))
        case .string(var s):
            let before = h
            let ascii = s.withUTF8 { addString(UnsafeRawBufferPointer($0)) }
            if !ascii {
                // Not `s.hashValue`: that is seeded per process, and `fixedSeed` must
                // hash alike in every process. The NFC bytes are what `==` compares.
                h = before
                mix(7)
                var word: UInt64 = 0, shift: UInt64 = 0, count: UInt64 = 0
                s._withNFCCodeUnits { b in
                    word |= UInt64(b) << shift
                    shift += 8
                    count += 1
                    if shift == 64 {
                        mix(word)
                        word = 0
                        shift = 0
                    }
                }
                mix(word ^ 0xFF << 56)
                mix(count)
            }
        }
    }

    /// `add(p.pointee)`, reading a short ASCII string in place (`ValueSlot`): copying
    /// the value out to hash it retained and released it, two calls per key.
    @inline(__always) mutating func add(at p: UnsafePointer<Value>, stringTag: UInt8?) {
        if let stringTag, let w = ValueSlot.smallASCII(at: p, stringTag: stringTag) {
            addShortASCII(low: w.low, high: w.high, count: w.count)
            return
        }
        add(p.pointee)
    }

    /// `addString` of a plain ASCII string of at most 15 bytes given as its words (the
    /// first 8 bytes, then the rest, zero-padded): what `addString` gives for the same
    /// bytes, a word of 8, then the rest with the count.
    @inline(__always) mutating func addShortASCII(low: UInt64, high: UInt64, count: Int) {
        mix(7)
        if count >= 8 {
            mix(low)
            mix(high ^ UInt64(count) << 56)
        } else {
            mix(low ^ UInt64(count) << 56)
        }
    }

    /// `add(.null)`.
    @inline(__always) mutating func addNull() { mix(0) }

    /// `add(.int(n))`.
    @inline(__always) mutating func addInt(_ n: Int64) {
        mix(1)
        mix(UInt64(bitPattern: n))
    }

    /// `add(.string(s))` for the UTF-8 bytes of `s`, when they are all ASCII (true);
    /// otherwise the hash is left unspecified (false).
    @inline(__always) mutating func addString(_ raw: UnsafeRawBufferPointer) -> Bool {
        mix(7)
        let n = raw.count
        var i = 0
        var all: UInt64 = 0
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            all |= w
            mix(w)
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(raw[i]) << shift
            shift += 8
            i += 1
        }
        all |= tail
        mix(tail ^ UInt64(n) << 56)
        return all & 0x8080_8080_8080_8080 == 0
    }
}

/// Per rule and stream, the slots of the rule's key fields in the stream's events (or
/// none), all in one buffer of plain integers: read per event, an array per rule and
/// stream was retained and released each time, and so was one array read through a
/// closure.
struct KeyFieldTable: @unchecked Sendable {
    /// Owns `base`.
    private let storage: Storage
    /// Per rule and stream, `[start, count]` (count -1: no key), then the slots.
    private let base: UnsafePointer<Int>
    private let streams: Int

    private final class Storage: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<Int>
        init(_ ints: [Int]) {
            pointer = .allocate(capacity: max(1, ints.count))
            pointer.initialize(from: ints, count: ints.count)
        }
        deinit { pointer.deallocate() }
    }

    /// `fields[rule][stream]`: the key field slots, or nil.
    init(_ fields: [[[Int]?]], streams: Int) {
        var slots: [Int] = [], ranges: [Int] = []
        let header = 2 * fields.count * streams
        for rule in fields {
            for s in 0..<streams {
                if s < rule.count, let f = rule[s] {
                    ranges += [header + slots.count, f.count]
                    slots += f
                } else {
                    ranges += [0, -1]
                }
            }
        }
        storage = Storage(ranges + slots)
        base = UnsafePointer(storage.pointer)
        self.streams = streams
    }

    /// Rule `r`'s key field slots for stream `s`, in place (nil: none).
    @inline(__always) func fields(rule r: Int, stream s: Int) -> UnsafeBufferPointer<Int>? {
        let i = 2 * (r * streams + s)
        let count = base[i + 1]
        guard count >= 0 else { return nil }
        return UnsafeBufferPointer(start: base + base[i], count: count)
    }
}
