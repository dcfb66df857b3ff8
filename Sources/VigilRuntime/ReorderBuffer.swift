import CPrefetch

/// Events waiting for their rules' watermarks. Each event is stored once, in the
/// detector's `EventStore`, however many rules read it; every rule orders small
/// references to it (time, input, line, slot, and the hash of the event's key for that
/// rule) in its own queues, so sifting moves 32 plain bytes instead of an event and its
/// reference counts.
///
/// The key is hashed on arrival, while the event is in the cache: by the time the
/// watermark releases it (thousands of events later) it is not, and the matcher would
/// wait on memory twice, for the event and for its key's bucket. Releasing, the buffer
/// prefetches the events a few places ahead instead.
struct ReorderBuffer: Sendable {
    struct Ref: Comparable, Sendable {
        var ts: Int64
        var line: Int64
        var input: Int32
        var slot: Int32
        /// `KeyTable.hash` of the event's key fields for the rule (0: the rule has none).
        var hash: Int

        /// Event-time order: time, then input, then line (as `EventStamp`; kept apart
        /// so that the slot and the hash pack into 32 bytes).
        static func < (a: Ref, b: Ref) -> Bool {
            if a.ts != b.ts { return a.ts < b.ts }
            if a.input != b.input { return a.input < b.input }
            return a.line < b.line
        }
        static func == (a: Ref, b: Ref) -> Bool { a.ts == b.ts && a.input == b.input && a.line == b.line }
    }

    /// Per rule, two sorted sources merged on pop: refs that arrived in event-time
    /// order queue in `inOrder` (O(1) each way, the common case), the rest sift through
    /// the heap.
    private var heaps: [MinHeap<Ref>]
    private var inOrder: [FIFO]

    /// A queue of refs in ascending order: appended at the back, taken at the front.
    struct FIFO: Sendable {
        var items: [Ref] = []
        var head = 0
        var first: Ref? { head < items.count ? items[head] : nil }
        var last: Ref? { head < items.count ? items[items.count - 1] : nil }
        mutating func pop() -> Ref {
            let r = items[head]
            drop(upTo: head + 1)
            return r
        }
        /// Takes the refs before position `end` (past `head`).
        mutating func drop(upTo end: Int) {
            head = end
            if head == items.count {
                items.clearKeepingCapacity()
                head = 0
            } else if head >= 4096, head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
        }
        var waiting: ArraySlice<Ref> { items[head...] }
    }

    /// Per rule, per stream: the fields hashed into `Ref.hash` (nil: none).
    let keyFields: KeyFieldTable
    /// `KeyTable.hash`'s seed and string tag, read once (each read of the globals is a
    /// call).
    private let hashSeed = KeyHash.processSeed
    private let stringTag = ValueSlot.stringTag

    /// `keyFields`: per rule, per stream, the key fields to hash (nil: none).
    init(keyFields: [[[Int]?]], streams: Int) {
        self.keyFields = KeyFieldTable(keyFields, streams: streams)
        heaps = Array(repeating: MinHeap(), count: keyFields.count)
        inOrder = Array(repeating: FIFO(), count: keyFields.count)
    }

    /// Queues the event in `store`'s `slot` for each rule in `rules`. `hashes[i]`, when given,
    /// is `KeyTable.hash` of the event's key fields for `rules[i]` (a sharded detector
    /// hashed them to see which rules it owns the event for: it is not hashed twice).
    mutating func push(slot: Int32, store: StoreView, rules: some Collection<Int>, hashes: [Int]? = nil) {
        let i = Int(slot), stream = Int(store.streams[i])
        var ref = Ref(ts: store.times[i], line: store.origins[i].line, input: store.origins[i].input, slot: slot, hash: 0)
        for (i, r) in rules.enumerated() {
            ref.hash = keyFields.fields(rule: r, stream: stream).map { hashes?[i] ?? KeyTable.hash(row: store.row(slot), $0, seed: hashSeed, stringTag: stringTag) } ?? 0
            if let last = inOrder[r].last, ref < last {
                pushOutOfOrder(ref, rule: r)
            } else {
                inOrder[r].items.append(ref)
            }
        }
    }

    /// A ref that arrived out of order, into rule `r`'s heap. Apart (not inlined), so
    /// that `push` checks the heaps' uniqueness only when it writes one.
    @inline(never) private mutating func pushOutOfOrder(_ ref: Ref, rule r: Int) {
        heaps[r].push(ref)
    }

    /// The event time of rule `r`'s next event.
    func nextTs(rule r: Int) -> Int64? {
        guard let q = inOrder[r].first else { return heaps[r].min?.ts }
        guard let h = heaps[r].min else { return q.ts }
        return min(q.ts, h.ts)
    }

    /// How far ahead of the next event `pop` (and `Detector.drain`'s in-order pass)
    /// prefetches the event's values.
    static let valuesPrefetchDistance = 8

    /// The hash of the key of the event `ahead` places after rule `r`'s next one, when
    /// it has arrived in order (for prefetching its key's bucket).
    func upcomingHash(rule r: Int, ahead: Int) -> Int? {
        let i = inOrder[r].head + ahead
        return i < inOrder[r].items.count ? inOrder[r].items[i].hash : nil
    }

    /// Takes rule `r`'s next event: its slot in `store`, and its key's hash.
    mutating func pop(rule r: Int, store: StoreView) -> (slot: Int32, hash: Int) {
        let ref: Ref
        if let q = inOrder[r].first, heaps[r].min.map({ q < $0 }) ?? true {
            let ahead = inOrder[r].head + Self.valuesPrefetchDistance
            // Its facts are read first of all when it is matched, then its values.
            if ahead < inOrder[r].items.count { store.prefetch(inOrder[r].items[ahead].slot) }
            ref = inOrder[r].pop()
        } else {
            ref = heaps[r].pop()!
        }
        return (ref.slot, ref.hash)
    }

    // Releasing a run of refs that arrived in order, read where they wait
    // (`Detector.drain`): popping them one by one asked for the next time, compared
    // the heap's, and moved the queue's head per event.

    /// Whether every waiting ref of rule `r` arrived in order (its heap is empty).
    func allInOrder(rule r: Int) -> Bool { heaps[r].isEmpty }

    /// The positions (for `inOrderRef`) of rule `r`'s in-order refs before time `w`.
    func dueInOrder(rule r: Int, before w: Int64) -> Range<Int> {
        let head = inOrder[r].head
        return inOrder[r].items.withUnsafeBufferPointer { b in
            var i = head
            while i < b.count, b[i].ts < w { i += 1 }
            return head..<i
        }
    }

    /// How many positions rule `r`'s in-order queue has (the head's included).
    func inOrderEnd(rule r: Int) -> Int { inOrder[r].items.count }

    /// The ref at position `i` of rule `r`'s in-order queue.
    func inOrderRef(rule r: Int, at i: Int) -> Ref { inOrder[r].items[i] }

    /// Takes rule `r`'s in-order refs before position `end`.
    mutating func dropInOrder(rule r: Int, upTo end: Int) {
        if end > inOrder[r].head { inOrder[r].drop(upTo: end) }
    }

    /// Rule `r`'s waiting events' slots, in event-time order (for snapshots).
    func waiting(rule r: Int) -> [Int32] {
        (heaps[r].items + inOrder[r].waiting).sorted().map(\.slot)
    }

    /// Marks the slot of every waiting event (see `EventStore`).
    func mark(_ store: EventStore) {
        for r in heaps.indices {
            for ref in heaps[r].items { store.mark(ref.slot) }
            for ref in inOrder[r].waiting { store.mark(ref.slot) }
        }
    }
}
