/// The events a partial match has bound, in the order they were bound.
public struct BoundEvents: Sendable, Codable {
    public struct Entry: Sendable, Codable {
        public var binding: Int32
        public var event: Event
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    /// Makes room for `n` events: appending them allocates once.
    mutating func reserve(_ n: Int) { entries.reserveCapacity(n) }

    mutating func append(_ binding: Int, _ event: Event) {
        entries.append(Entry(binding: Int32(binding), event: event))
    }

    /// The first or last event bound under `binding`.
    public func event(_ binding: Int, last: Bool) -> Event? {
        if last {
            return entries.last { $0.binding == binding }?.event
        }
        return entries.first { $0.binding == binding }?.event
    }

    /// Every event bound under `binding`, in order.
    public func events(_ binding: Int) -> [Event] {
        entries.compactMap { $0.binding == binding ? $0.event : nil }
    }

    public func count(_ binding: Int) -> Int {
        entries.reduce(0) { $0 + ($1.binding == binding ? 1 : 0) }
    }

    public var last: Event? { entries.last?.event }
}

extension BoundEvents {
    /// Appends a binding; for benchmarks and tests that build contexts by hand.
    public mutating func appendForBenchmark(_ binding: Int, _ event: Event) {
        append(binding, event)
    }
}

/// An event a partial match bound, as the matcher keeps it: its binding, and its slot
/// in the detector's `EventStore`.
struct BoundSlot: Sendable, Hashable {
    var binding: Int32
    var slot: Int32
}

/// The events a partial match bound, by slot: up to three in place, more in a spilled
/// buffer. Most partial matches bind one to three events, so starting one allocates
/// nothing, binding checks no buffer's uniqueness, and marking reads them where the
/// partial match is. A spilled buffer is shared by copies (branches) until one of them
/// appends, which copies it unless it holds it alone, as an array would; the buffers of
/// partial matches that ended are the matcher's spares (`SpareBuffers`), so that a run
/// that spills or grows in the steady state takes one instead of allocating.
struct BoundList: RandomAccessCollection, Sendable, Equatable {
    private var a = BoundSlot(binding: 0, slot: 0)
    private var b = BoundSlot(binding: 0, slot: 0)
    private var c = BoundSlot(binding: 0, slot: 0)
    private var length: Int32 = 0
    /// Every slot once there are more than three (then the three above are unused): its
    /// first `length` (what lies past them is a former holder's).
    // Written only while one list holds it (copy-on-write), like an array's storage.
    nonisolated(unsafe) private var spilled: SpillBuffer? = nil

    init() {}

    init(_ slots: some Sequence<BoundSlot>) {
        var none = SpareBuffers<SpillBuffer>()
        for s in slots { append(s, spares: &none) }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { Int(length) }

    /// Its slots are in a spilled buffer (it has bound more than three).
    var isSpilled: Bool { spilled != nil }

    subscript(i: Int) -> BoundSlot {
        precondition(i >= 0 && i < Int(length), "BoundList index out of range")
        if let spilled { return spilled.withUnsafeMutablePointerToElements { $0[i] } }
        switch i {
        case 0: return a
        case 1: return b
        default: return c
        }
    }

    /// Appends `s`; a buffer it spills into, or grows into, comes from `spares` when one
    /// there has room, and the one it outgrows goes back.
    mutating func append(_ s: BoundSlot, spares: inout SpareBuffers<SpillBuffer>) {
        let n = Int(length)
        length += 1
        if spilled == nil {
            switch n {
            case 0: a = s
            case 1: b = s
            case 2: c = s
            default:
                let new = spares.take(atLeast: 8) ?? SpillBuffer.make(room: 8)
                new.withUnsafeMutablePointerToElements { p in
                    p.initialize(to: a)
                    (p + 1).initialize(to: b)
                    (p + 2).initialize(to: c)
                    (p + 3).initialize(to: s)
                }
                spilled = new
            }
            return
        }
        if isKnownUniquelyReferenced(&spilled!), n < spilled!.room {
            spilled!.withUnsafeMutablePointerToElements { ($0 + n).initialize(to: s) }
            return
        }
        // Shared with a copy, or full: into another buffer.
        let old = spilled.take()!
        let new = spares.take(atLeast: 2 * n) ?? SpillBuffer.make(room: 2 * n)
        new.withUnsafeMutablePointerToElements { p in
            old.withUnsafeMutablePointerToElements { p.initialize(from: $0, count: n) }
            (p + n).initialize(to: s)
        }
        spilled = new
        spares.put(consume old)
    }

    /// Empties the list, its spilled buffer (when it held one) going to `spares`.
    mutating func release(to spares: inout SpareBuffers<SpillBuffer>) {
        length = 0
        if let old = spilled.take() { spares.put(consume old) }
    }

    static func == (l: BoundList, r: BoundList) -> Bool { l.elementsEqual(r) }
}

/// The bound slots of a `BoundList` past its first three. Slots are plain values: the
/// buffer neither initializes nor deinitializes them (a list reads only those it wrote).
final class SpillBuffer: ManagedBuffer<Int, BoundSlot> {
    /// A buffer with room for `room` slots.
    static func make(room: Int) -> SpillBuffer {
        unsafeDowncast(create(minimumCapacity: room) { _ in room }, to: SpillBuffer.self)
    }

    /// Slots it has room for.
    var room: Int { header }
}

extension SpillBuffer: SpareBuffer {
    func empty() {}
    static func isOwned(_ buffer: inout SpillBuffer) -> Bool { isKnownUniquelyReferenced(&buffer) }
}
