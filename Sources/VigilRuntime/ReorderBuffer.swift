/// Events waiting for their rules' watermarks. Each event is stored once, however many
/// rules read it; every rule orders small references to it (time, input, line, slot)
/// in its own heap, so sifting moves 24 plain bytes instead of an event and its
/// reference counts.
struct ReorderBuffer: Sendable {
    struct Ref: Comparable, Sendable {
        var ts: Int64
        var line: Int64
        var input: Int32
        var slot: Int32

        /// Event-time order: time, then input, then line (as `EventStamp`; kept apart
        /// so that the slot packs into 24 bytes).
        static func < (a: Ref, b: Ref) -> Bool {
            if a.ts != b.ts { return a.ts < b.ts }
            if a.input != b.input { return a.input < b.input }
            return a.line < b.line
        }
        static func == (a: Ref, b: Ref) -> Bool { a.ts == b.ts && a.input == b.input && a.line == b.line }
    }

    private var events: [Event] = []
    /// Per slot: how many rules still hold the event.
    private var holders: [Int32] = []
    private var free: [Int32] = []
    private var heaps: [MinHeap<Ref>]

    init(rules: Int) {
        heaps = Array(repeating: MinHeap(), count: rules)
    }

    /// Stores `e` for each rule in `rules`.
    mutating func push(_ e: Event, rules: some Collection<Int>) {
        guard !rules.isEmpty else { return }
        let slot: Int32
        if let f = free.popLast() {
            slot = f
            events[Int(f)] = e
            holders[Int(f)] = Int32(rules.count)
        } else {
            slot = Int32(events.count)
            events.append(e)
            holders.append(Int32(rules.count))
        }
        let ref = Ref(ts: e.ts, line: e.origin.line, input: e.origin.input, slot: slot)
        for r in rules { heaps[r].push(ref) }
    }

    /// The event time of rule `r`'s next event.
    func nextTs(rule r: Int) -> Int64? { heaps[r].min?.ts }

    /// Takes rule `r`'s next event.
    mutating func pop(rule r: Int) -> Event {
        let ref = heaps[r].pop()!
        let s = Int(ref.slot)
        holders[s] -= 1
        guard holders[s] == 0 else { return events[s] }
        // The last rule to take it moves it out: the slot lets go of its values now.
        var e = Event(stream: 0, ts: 0, origin: EventOrigin(input: 0, line: 0), values: [])
        swap(&e, &events[s])
        free.append(ref.slot)
        return e
    }

    /// Rule `r`'s waiting events, in event-time order (for snapshots).
    func waiting(rule r: Int) -> [Event] {
        heaps[r].items.sorted().map { events[Int($0.slot)] }
    }

    /// A buffer holding `waiting[r]` for each rule `r`.
    init(waiting: [[Event]]) {
        self.init(rules: waiting.count)
        for (r, events) in waiting.enumerated() {
            for e in events { push(e, rules: CollectionOfOne(r)) }
        }
    }
}
