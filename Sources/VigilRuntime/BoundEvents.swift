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

/// The events a partial match bound, by slot: up to three in place, more in an array.
/// Most partial matches bind one to three events, so starting one allocates nothing,
/// binding checks no array's uniqueness, and marking reads them where the partial
/// match is.
struct BoundList: RandomAccessCollection, Sendable, Equatable {
    private var a = BoundSlot(binding: 0, slot: 0)
    private var b = BoundSlot(binding: 0, slot: 0)
    private var c = BoundSlot(binding: 0, slot: 0)
    private var inPlace: Int32 = 0
    /// Every slot once there are more than three (then the three above are unused).
    private var spilled: [BoundSlot]? = nil

    init() {}

    init(_ slots: some Sequence<BoundSlot>) {
        for s in slots { append(s) }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { spilled?.count ?? Int(inPlace) }

    subscript(i: Int) -> BoundSlot {
        if let spilled { return spilled[i] }
        precondition(i >= 0 && i < Int(inPlace), "BoundList index out of range")
        switch i {
        case 0: return a
        case 1: return b
        default: return c
        }
    }

    mutating func append(_ s: BoundSlot) {
        if spilled != nil {
            spilled!.append(s)
            return
        }
        switch inPlace {
        case 0: a = s
        case 1: b = s
        case 2: c = s
        default:
            spilled = [a, b, c, s]
            return
        }
        inPlace += 1
    }

    static func == (l: BoundList, r: BoundList) -> Bool { l.elementsEqual(r) }
}
