import CPrefetch

/// A detector's events, each stored once: a row of values per event (rows as wide as
/// the widest stream), with its time, origin and stream beside it. Reorder buffers and
/// partial matches refer to events by slot and copy nothing, so binding an event or
/// moving a partial match counts no references.
///
/// Nothing counts references to slots either. When every slot is taken, the detector
/// marks the slots still referred to (`mark`) and `sweep` frees the rest; if fewer than
/// half came free, the store doubles, so a sweep is paid for by at least as many adds
/// as there are slots. A slot's values stay where they are until the slot is reused or
/// the store grows: a pointer to them (`row`) is valid while no event is added.
///
/// A class, so that pointers into it are stable and reading it copies nothing; a
/// `Detector` copies it before changing it when it is shared (`copy`).
final class EventStore: @unchecked Sendable {
    /// Values per row: the widest stream's field count.
    let width: Int
    /// Per stream: its field count.
    let widths: [Int]
    private let widthsPointer: UnsafeMutablePointer<Int>
    private(set) var capacity: Int
    private(set) var values: UnsafeMutablePointer<Value>
    private(set) var times: UnsafeMutablePointer<Int64>
    private(set) var origins: UnsafeMutablePointer<EventOrigin>
    private(set) var streams: UnsafeMutablePointer<Int32>
    /// Free slots; the last is taken first.
    private var free: [Int32] = []
    // A plain buffer: an array here was checked for uniqueness at every mark.
    private var marks = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    private var markWords = 0
    /// Sweeps so far: a slot read by number is what it was while this is unchanged.
    private(set) var sweeps = 0
    /// Per slot, up to `lineRoom` bytes: the event's line when it is exactly the event as
    /// an alert writes it (`FlatJSONScanner`'s canonical lines), so that an alert line
    /// copies it instead of writing the event field by field, which was a third of a
    /// short alert's cost. Allocated with the first such line; `lineLengths` -1: none.
    private(set) var lines: UnsafeMutablePointer<UInt8>? = nil
    private(set) var lineLengths: UnsafeMutablePointer<Int32>? = nil
    /// Bytes kept per slot: longer lines are written field by field.
    static let lineRoom = 112

    /// `widths`: each stream's field count.
    init(widths: [Int], capacity: Int = 1024) {
        self.widths = widths
        widthsPointer = .allocate(capacity: max(1, widths.count))
        widthsPointer.initialize(from: widths, count: widths.count)
        width = max(1, widths.max() ?? 1)
        self.capacity = max(1, capacity)
        values = .allocate(capacity: self.capacity * width)
        values.initialize(repeating: .null, count: self.capacity * width)
        times = .allocate(capacity: self.capacity)
        origins = .allocate(capacity: self.capacity)
        streams = .allocate(capacity: self.capacity)
        free = (0..<Int32(self.capacity)).reversed()
    }

    deinit {
        lines?.deallocate()
        lineLengths?.deallocate()
        values.deinitialize(count: capacity * width)
        values.deallocate()
        times.deallocate()
        origins.deallocate()
        streams.deallocate()
        widthsPointer.deallocate()
        marks.deallocate()
    }

    /// The store as plain pointers, for reading on the hot path without counting
    /// references to the store; valid until the next `add` (which may grow it).
    var view: StoreView {
        StoreView(values: values, times: times, origins: origins, streams: streams, widths: widthsPointer, width: width,
                  lines: lines, lineLengths: lineLengths)
    }

    /// Every slot is taken: the next `add` grows the store unless slots are swept first.
    var isFull: Bool { free.isEmpty }

    /// Slots taken (referred to or not yet swept).
    var taken: Int { capacity - free.count }

    /// Stores `e` (copying its values) and returns its slot.
    func add(_ e: borrowing Event) -> Int32 {
        let slot = take(e)
        lineLengths?[Int(slot)] = -1
        e.values.withUnsafeBufferPointer { v in
            if let base = v.baseAddress { (values + Int(slot) * width).update(from: base, count: min(v.count, width)) }
        }
        return slot
    }

    /// Stores `e` by taking its values: they change places with the slot's old ones, so
    /// nothing is copied or counted when `e` holds the only reference to its values (an
    /// event just decoded). `e` is left with the old values.
    ///
    /// `line`: the event's line, when it is the event exactly as an alert writes it.
    func add(taking e: inout Event, line: UnsafeBufferPointer<UInt8>? = nil) -> Int32 {
        let slot = take(e)
        let row = values + Int(slot) * width
        e.values.withUnsafeMutableBufferPointer { v in
            for i in 0..<min(v.count, width) { swap(&v[i], &row[i]) }
        }
        if let line, line.count <= Self.lineRoom, let base = line.baseAddress {
            if lines == nil { allocateLines() }
            (lines! + Int(slot) * Self.lineRoom).update(from: base, count: line.count)
            lineLengths![Int(slot)] = Int32(line.count)
        } else {
            lineLengths?[Int(slot)] = -1
        }
        return slot
    }

    private func allocateLines() {
        lines = .allocate(capacity: capacity * Self.lineRoom)
        lineLengths = .allocate(capacity: capacity)
        lineLengths!.initialize(repeating: -1, count: capacity)
    }

    private func take(_ e: borrowing Event) -> Int32 {
        if free.isEmpty { grow() }
        let slot = free.removeLast()
        // The next slot's row was last touched when its event was stored, long ago:
        // fetch it now, so that writing it does not wait on memory.
        if let next = free.last { view.prefetch(next) }
        let s = Int(slot)
        times[s] = e.ts
        origins[s] = e.origin
        streams[s] = e.stream
        return slot
    }

    /// The values of the event in `slot`, in place.
    @inline(__always) func row(_ slot: Int32) -> UnsafePointer<Value> { view.row(slot) }

    /// The event in `slot`, as an `Event` of its own.
    func event(_ slot: Int32) -> Event { view.event(slot) }

    /// The event's place in event-time order.
    func stamp(_ slot: Int32) -> EventStamp { view.stamp(slot) }

    // MARK: Reclaiming

    /// Starts marking: no slot is marked.
    func beginMark() {
        let words = (capacity + 63) / 64
        if markWords != words {
            marks.deallocate()
            marks = .allocate(capacity: words)
            markWords = words
        }
        marks.update(repeating: 0, count: words)
    }

    /// Marks `slot` as referred to.
    @inline(__always) func mark(_ slot: Int32) {
        marks[Int(slot) >> 6] |= 1 << UInt64(Int(slot) & 63)
    }

    /// Frees every slot not marked since `beginMark`; doubles the store when fewer than
    /// half came free.
    func sweep() {
        sweeps += 1
        // Filled as a local: appending to the property checked its uniqueness per slot.
        var f: [Int32] = []
        swap(&f, &free)
        f.removeAll(keepingCapacity: true)
        for s in stride(from: capacity - 1, through: 0, by: -1) where marks[s >> 6] & (1 << UInt64(s & 63)) == 0 {
            f.append(Int32(s))
        }
        swap(&f, &free)
        if free.count < capacity / 2 { grow() }
    }

    /// Doubles the capacity; the new slots are free.
    private func grow() {
        let old = capacity
        let new = old * 2
        let v = UnsafeMutablePointer<Value>.allocate(capacity: new * width)
        v.moveInitialize(from: values, count: old * width)
        (v + old * width).initialize(repeating: .null, count: (new - old) * width)
        values.deallocate()
        values = v
        func moved<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<T> {
            let q = UnsafeMutablePointer<T>.allocate(capacity: new)
            q.moveInitialize(from: p, count: old)
            p.deallocate()
            return q
        }
        times = moved(times)
        origins = moved(origins)
        streams = moved(streams)
        if let oldLines = lines, let oldLengths = lineLengths {
            lines = .allocate(capacity: new * Self.lineRoom)
            lines!.update(from: oldLines, count: old * Self.lineRoom)
            oldLines.deallocate()
            lineLengths = moved(oldLengths)
            (lineLengths! + old).initialize(repeating: -1, count: new - old)
        }
        capacity = new
        // Under the free slots already there, which are taken first.
        free.insert(contentsOf: (Int32(old)..<Int32(new)).reversed(), at: 0)
    }

    /// A store with the same events in the same slots (for a copied detector).
    func copy() -> EventStore {
        let c = EventStore(widths: widths, capacity: capacity)
        c.values.update(from: values, count: capacity * width)
        c.times.update(from: times, count: capacity)
        c.origins.update(from: origins, count: capacity)
        c.streams.update(from: streams, count: capacity)
        if let lines, let lineLengths {
            c.allocateLines()
            c.lines!.update(from: lines, count: capacity * Self.lineRoom)
            c.lineLengths!.update(from: lineLengths, count: capacity)
        }
        c.free = free
        return c
    }
}

/// An `EventStore`'s contents as plain pointers: what the matcher, the reorder buffer
/// and predicates read. Passing it counts no references (passing the store, a class,
/// retained and released it per call). Valid until the store's next `add`.
struct StoreView: @unchecked Sendable {
    let values: UnsafeMutablePointer<Value>
    let times: UnsafeMutablePointer<Int64>
    let origins: UnsafeMutablePointer<EventOrigin>
    let streams: UnsafeMutablePointer<Int32>
    let widths: UnsafeMutablePointer<Int>
    let width: Int
    let lines: UnsafeMutablePointer<UInt8>?
    let lineLengths: UnsafeMutablePointer<Int32>?

    /// The line of the event in `slot`, when it was kept (see `EventStore.add(taking:line:)`).
    @inline(__always) func line(_ slot: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard let lines, let lineLengths else { return nil }
        let n = lineLengths[Int(slot)]
        return n < 0 ? nil : UnsafeBufferPointer(start: lines + Int(slot) * EventStore.lineRoom, count: Int(n))
    }

    /// The values of the event in `slot`, in place.
    @inline(__always) func row(_ slot: Int32) -> UnsafePointer<Value> { UnsafePointer(values + Int(slot) * width) }

    /// The event in `slot`, as an `Event` of its own.
    func event(_ slot: Int32) -> Event {
        let s = Int(slot)
        let n = widths[Int(streams[s])]
        return Event(stream: streams[s], ts: times[s], origin: origins[s],
                     values: Array(UnsafeBufferPointer(start: values + s * width, count: n)))
    }

    /// The event's place in event-time order.
    @inline(__always) func stamp(_ slot: Int32) -> EventStamp {
        EventStamp(ts: times[Int(slot)], input: origins[Int(slot)].input, line: origins[Int(slot)].line)
    }

    /// Starts loading the event in `slot`: its whole row, its time, origin and stream.
    @inline(__always) func prefetch(_ slot: Int32) {
        let p = UnsafeRawPointer(row(slot))
        for line in stride(from: 0, to: width * MemoryLayout<Value>.stride, by: 64) { vigil_prefetch(p + line) }
        vigil_prefetch(UnsafeRawPointer(times + Int(slot)))
        vigil_prefetch(UnsafeRawPointer(origins + Int(slot)))
        vigil_prefetch(UnsafeRawPointer(streams + Int(slot)))
    }
}
