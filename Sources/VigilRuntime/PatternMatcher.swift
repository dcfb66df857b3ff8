/// A partial match as snapshots and explanations see it: where it is in the pattern
/// and the events it has bound.
struct Attempt: Sendable, Codable {
    /// Creation order; keeps output deterministic.
    var id: UInt64
    var startTs: Int64
    var startOrigin: EventOrigin
    /// Index (into `steps`) of the positive step being matched.
    var step: Int
    /// Events bound to that step so far.
    var count: Int64
    /// Index of the step that bound the last event: negation windows run from there.
    var boundStep = 0
    /// Bit g: since the last bound event, an event satisfied a negation of the gap after
    /// positive step g. Binding a later step across that gap kills the attempt; binding
    /// the same step again (a longer run) clears the bits.
    var pendingGaps: UInt64 = 0
    /// An event was ignored since the last bind (matters for a strict next step).
    var gap = false
    var bound = BoundEvents()
    /// Waiting for the trailing absence window to pass: fires when the watermark > this.
    var absenceDeadline: Int64?
    /// Its absence timer has been scheduled.
    var timerArmed = false
}

/// A partial match as the matcher keeps it: like `Attempt`, with its bound events by
/// slot in the detector's `EventStore` (binding one copies nothing).
struct PartialMatch: Sendable {
    var id: UInt64
    var startTs: Int64
    var startOrigin: EventOrigin
    var step: Int
    var count: Int64
    var boundStep = 0
    var pendingGaps: UInt64 = 0
    var gap = false
    var bound = BoundList()
    var absenceDeadline: Int64?
    var timerArmed = false

    /// Fills an array slot whose partial match was moved out.
    static let placeholder = PartialMatch(id: 0, startTs: 0, startOrigin: EventOrigin(input: 0, line: 0), step: 0, count: 0)

    /// The partial match with its events.
    func record(_ store: EventStore) -> Attempt {
        Attempt(id: id, startTs: startTs, startOrigin: startOrigin, step: step, count: count, boundStep: boundStep,
                pendingGaps: pendingGaps, gap: gap, bound: PatternMatcher.events(bound, store.view), absenceDeadline: absenceDeadline,
                timerArmed: timerArmed)
    }
}

// In an extension, so that the struct keeps its memberwise initializer: it builds a
// partial match in place, where an initializer of its own built it aside and copied it.
extension PartialMatch {
    /// `a`, its events added to `store`.
    init(_ a: Attempt, store: EventStore) {
        self.init(id: a.id, startTs: a.startTs, startOrigin: a.startOrigin, step: a.step, count: a.count, boundStep: a.boundStep,
                  pendingGaps: a.pendingGaps, gap: a.gap, bound: BoundList(a.bound.entries.map { BoundSlot(binding: $0.binding, slot: store.add($0.event)) }),
                  absenceDeadline: a.absenceDeadline, timerArmed: a.timerArmed)
    }
}

/// The event being matched, as the matcher reads it per partial match (plain facts:
/// its values are read in place, through the evaluation context).
struct CurrentEvent {
    var slot: Int32
    var stream: Int32
    var ts: Int64
    var origin: EventOrigin
}

/// An alternative's plain facts (no references).
struct AlternativeShape: Sendable {
    var stream: Int32
    var binding: Int32
    /// Its predicate's index in the per-event memo.
    var predicate: Int32
    var usesBindings: Bool
    /// Its predicate as field tests, `fieldTests[tests]`, when it is one (else empty:
    /// the closure decides).
    var tests: Range<Int32> = 0..<0
    var hasTests = false
}

/// A step's plain facts (no references).
struct StepShape: Sendable {
    var negated: Bool
    var contiguity: StepContiguity
    var min: Int64
    var max: Int64?
    var isQuantified: Bool
    var hasUntil: Bool

    init(_ step: PatternStep) {
        negated = step.negated
        contiguity = step.contiguity
        min = step.min
        max = step.max
        isQuantified = step.isQuantified
        hasUntil = step.until != nil
    }
}

/// A completed match, before it becomes an alert.
public struct Match: Sendable {
    public var rule: Int
    public var key: [Value]
    public var bound: BoundEvents
    public var detectedAt: Int64
    /// The event that completed it (nil for a trailing absence fired by the watermark).
    public var trigger: Event?
}

/// A completed match as the matcher hands it on: its events by slot in the detector's
/// `EventStore`, valid until the store's next sweep. Alerts are written from it in
/// place; `Match` is the same with its events made (for explanations).
struct StoredMatch: Sendable {
    var key: [Value]
    var slots: BoundList
    var detectedAt: Int64
    /// The slot of the event that completed it (-1: a trailing absence fired by the
    /// watermark).
    var trigger: Int32

    /// The slot of the event templates and `select` read fields of: the completing
    /// event, else the last one bound.
    var current: Int32? { trigger >= 0 ? trigger : slots.last?.slot }

    /// The match with its events made.
    func match(rule: Int, _ store: StoreView) -> Match {
        let trigger = self.trigger >= 0 ? store.event(self.trigger) : nil
        return Match(rule: rule, key: key, bound: PatternMatcher.events(slots, store, current: trigger.map { (self.trigger, $0) }),
                     detectedAt: detectedAt, trigger: trigger)
    }
}

/// Counters a pattern rule keeps.
public struct MatcherStats: Sendable, Codable {
    public var partialMatches = 0
    public var peakPartialMatches = 0
    public var droppedByLimit = 0
    public var keysDroppedByLimit = 0
}

/// The state machine of one pattern rule over all keys: events in (in event-time
/// order), matches out. No I/O, no clock.
struct PatternMatcher: Sendable {
    let ruleIndex: Int
    let rule: PatternRule
    let limits: Limits
    /// Everything that changes as events arrive; snapshotted and restored as a whole.
    var state = State()
    private var positiveSteps: [Int]
    /// For each step index, its ordinal among the positive steps (gap numbering).
    private var ordinal: [Int]
    /// The per-event memo of predicates that read only the event: bit `id` of `known`
    /// says predicate `id` was evaluated on this event, the same bit of `held` what it
    /// gave. Two words reset per event: an array cost a uniqueness check per write and
    /// a `memset` per event. A rule's predicates past the 64th are evaluated each time
    /// they are asked (they read only the event, so they give the same answer).
    private var known: UInt64 = 0
    private var held: UInt64 = 0
    /// The event being processed, as predicates that read only it see it: made once per
    /// event, not per evaluation (each made its own copy of the event, and released it).
    private var eventContext = EvalContext(row: nil, store: nil, detectedAt: 0)
    /// The pattern's steps (stored: read for every attempt and event).
    let steps: [PatternStep]
    /// The plain facts of each step, copied without reference counting on the path
    /// every attempt takes per event.
    private let shapes: [StepShape]
    /// Every step's alternatives, flat and plain (`altRanges[s]` are step `s`'s), with
    /// their predicates' code beside them: read per attempt and event, where copying a
    /// `PatternStep.Alternative` retained its predicate's closure, text and parts.
    private let alternatives: [AlternativeShape]
    private let altRanges: [Range<Int>]
    private let predicates: [CompiledExpr]
    /// Predicates that are plain field tests, as tests (`AlternativeShape.tests`).
    private let fieldTests: [FieldTest]
    /// The predicates (ids below 64) that are plain field tests, evaluated together as
    /// each event arrives (`evaluateTests`), so that asking for one is two bit tests in
    /// line: stream s's are `eager[eagerByStream[s]]`. (Evaluated on first ask, each ask
    /// was a call with a large frame, three per event.)
    private let eager: [EagerTest]
    private let eagerByStream: [Range<Int>]
    /// Per stream: the bits of its eager tests, and the field slot they all compare with
    /// a short ASCII literal when they do (else -1: the usual `type == "A"` shape, where
    /// the field is read once for all of them).
    private let eagerShared: [(known: UInt64, slot: Int32)]
    /// When the first positive step must bind and has one alternative that reads only the
    /// event: its stream and predicate. Whether an event starts a partial match is then
    /// a stream compare and a memo bit (through `alternative`, the placeholder match it
    /// is asked with was copied, about 150 instructions per event).
    private let plainStart: (stream: Int32, predicate: Int)?
    private let stringTag = ValueSlot.stringTag

    /// A predicate that is plain field tests, as `evaluateTests` reads it.
    private struct EagerTest {
        /// The predicate's bit in the memo.
        var bit: UInt64
        /// Its tests, in `fieldTests`.
        var tests: Range<Int32>
        /// When it is one `field == literal` test with a short ASCII literal: the field's
        /// slot (else -1) and the literal's words. A field that is a short ASCII string
        /// too is then compared in two loads.
        var slot: Int32 = -1
        var low: UInt64 = 0
        var high: UInt64 = 0
    }
    /// Buffers reused across events (the steady state allocates nothing for them).
    private var scratchAttempts: [PartialMatch] = []
    private var scratchCompleted: [PartialMatch] = []
    /// Empty buffers with room (departed keys'), for new keys and keys outgrowing theirs.
    private var spareAttempts = SpareBuffers<[PartialMatch]>()
    /// Spilled bound lists no partial match holds any more, for lists that spill or grow.
    // Each written only by its one holder (see `BoundList`).
    nonisolated(unsafe) private var spareSpills = SpareBuffers<SpillBuffer>()
    /// The spilled lists of matches handed on, until `recycle`.
    private var handedOn: [BoundList] = []

    /// The mutable part of the matcher.
    struct State: Sendable {
        /// Keys with open partial matches, interned to slots; a slot's attempts change
        /// in place, so an event costs one lookup of its key fields.
        var table = KeyTable()
        /// Per slot: the open partial matches, oldest first.
        var attempts: [[PartialMatch]] = []
        var nextAttemptID: UInt64 = 0
        var stats = MatcherStats()
        /// Absence deadlines not yet fired, in deadline order.
        var absenceTimers = MinHeap<AbsenceTimer>()
    }

    /// The state as snapshots hold it: the partial matches with their events (the form
    /// earlier builds wrote, which still restores).
    struct StateRecord: Sendable, Codable {
        var table: KeyTable
        var attempts: [[Attempt]]
        var nextAttemptID: UInt64
        var stats: MatcherStats
        var absenceTimers: MinHeap<AbsenceTimer.Record>
    }

    func record(_ store: EventStore) -> StateRecord {
        StateRecord(table: state.table, attempts: state.attempts.map { $0.map { $0.record(store) } }, nextAttemptID: state.nextAttemptID,
                    stats: state.stats, absenceTimers: timerRecords())
    }

    /// Takes the state of `record`, its events added to `store`.
    mutating func restore(_ record: StateRecord, store: EventStore) {
        var timers = MinHeap<AbsenceTimer>()
        for r in record.absenceTimers.items {
            // A timer whose key has left fires nothing (it is dropped when due).
            if let slot = record.table.find(r.key) { timers.push(AbsenceTimer(r, slot: slot)) }
        }
        state = State(table: record.table, attempts: record.attempts.map { $0.map { PartialMatch($0, store: store) } },
                      nextAttemptID: record.nextAttemptID, stats: record.stats, absenceTimers: timers)
    }

    /// The pending timers as snapshots hold them, in the same heap order. A timer whose
    /// slot another key has taken since is left out: it would fire nothing.
    private func timerRecords() -> MinHeap<AbsenceTimer.Record> {
        var records = MinHeap<AbsenceTimer.Record>()
        for t in state.absenceTimers.items where state.table.live[Int(t.slot)] {
            if state.attempts[Int(t.slot)].contains(where: { $0.id == t.id }) { records.push(t.record(state.table)) }
        }
        return records
    }

    /// Marks the slots of every event a partial match holds (see `EventStore`).
    func mark(_ store: EventStore) {
        // In place: iterating by value copied every list and every partial match.
        state.attempts.withUnsafeBufferPointer { lists in
            for l in lists.indices {
                lists[l].withUnsafeBufferPointer { list in
                    for i in list.indices {
                        let n = list[i].bound.count
                        for k in 0..<n { store.mark(list[i].bound[k].slot) }
                    }
                }
            }
        }
    }

    /// The bound events of `slots` as `BoundEvents`; `current` (when given) is the
    /// event in slot `current.slot`, already made.
    static func events(_ slots: BoundList, _ store: StoreView, current: (slot: Int32, event: Event)? = nil) -> BoundEvents {
        var b = BoundEvents()
        b.reserve(slots.count)
        for s in slots { b.append(Int(s.binding), s.slot == current?.slot ? current!.event : store.event(s.slot)) }
        return b
    }

    /// The open partial matches of `key`, oldest first.
    func attempts(of key: [Value], store: EventStore) -> [Attempt] {
        state.table.find(key).map { state.attempts[Int($0)].map { $0.record(store) } } ?? []
    }

    var stats: MatcherStats {
        get { state.stats }
        _modify { yield &state.stats }
    }

    private var absenceTimers: MinHeap<AbsenceTimer> {
        get { state.absenceTimers }
        _modify { yield &state.absenceTimers }
    }

    /// Every key with open partial matches, and them (in no particular order).
    func keys(_ store: EventStore) -> [[Value]: [Attempt]] {
        var all: [[Value]: [Attempt]] = [:]
        for slot in state.attempts.indices where state.table.live[slot] { all[state.table.keys[slot]] = state.attempts[slot].map { $0.record(store) } }
        return all
    }

    /// Stores `attempts` as the key's: at `slot` when it has one, else (when there are
    /// any) at the slot `insert` gives the key.
    private mutating func keep(_ attempts: inout [PartialMatch], slot: Int32?, insert: (inout KeyTable) -> Int32) {
        if let slot {
            keep(&attempts, slot: slot)
        } else if !attempts.isEmpty {
            let slot = Int(insert(&state.table))
            if slot == state.attempts.count { state.attempts.append([]) }
            swap(&state.attempts[slot], &attempts)
        } else {
            spareAttempts.put(consume attempts)
            attempts = []
        }
    }

    /// Stores `attempts` as slot `slot`'s, freeing the slot when none are left.
    private mutating func keep(_ attempts: inout [PartialMatch], slot: Int32) {
        if attempts.isEmpty {
            state.table.remove(slot)
            state.attempts[Int(slot)] = []
            // A departed key's buffer is the next new key's.
            spareAttempts.put(consume attempts)
            attempts = []
        } else {
            swap(&state.attempts[Int(slot)], &attempts)
        }
    }

    /// Absences with the same deadline fire in the order of their bound events (start
    /// first), like matches completed by one event.
    struct AbsenceTimer: Comparable, Sendable {
        var deadline: Int64
        /// (ts, input, line) of the first bound event (nil: none), then of the others:
        /// the first apart, so that a timer with one bound event allocates nothing.
        var first: EventStamp?
        var rest: [Int64]
        var id: UInt64
        /// The key's slot. Holding the key's values instead kept a departed key's storage
        /// from the next key given its slot: an allocation per new key. A slot given to
        /// another key since holds no attempt with `id` (ids are never reused).
        var slot: Int32

        init(deadline: Int64, bound: BoundList, store: StoreView, id: UInt64, slot: Int32) {
            self.deadline = deadline
            self.first = bound.first.map { store.stamp($0.slot) }
            self.rest = []
            if bound.count > 1 {
                rest.reserveCapacity(3 * (bound.count - 1))
                for b in bound.dropFirst() {
                    let at = store.stamp(b.slot)
                    rest.append(at.ts)
                    rest.append(Int64(at.input))
                    rest.append(at.line)
                }
            }
            self.id = id
            self.slot = slot
        }

        init(_ r: Record, slot: Int32) {
            deadline = r.deadline
            first = r.order.count >= 3 ? EventStamp(ts: r.order[0], input: Int32(r.order[1]), line: r.order[2]) : nil
            rest = Array(r.order.dropFirst(3))
            id = r.id
            self.slot = slot
        }

        /// Timers with the same deadline fire in the order of their bound events, compared
        /// as (ts, input, line) of each in turn, then by id.
        static func < (a: AbsenceTimer, b: AbsenceTimer) -> Bool {
            if a.deadline != b.deadline { return a.deadline < b.deadline }
            if a.first != b.first {
                guard let x = a.first else { return true }
                guard let y = b.first else { return false }
                return x < y
            }
            if a.rest != b.rest { return a.rest.lexicographicallyPrecedes(b.rest) }
            return a.id < b.id
        }
        static func == (a: AbsenceTimer, b: AbsenceTimer) -> Bool { a.deadline == b.deadline && a.id == b.id }

        /// A timer as snapshots hold it (the form earlier builds wrote): its bound events'
        /// stamps in one array, and the key's values.
        struct Record: Comparable, Sendable, Codable {
            var deadline: Int64
            var order: [Int64]
            var id: UInt64
            var key: [Value]
            static func < (a: Record, b: Record) -> Bool {
                if a.deadline != b.deadline { return a.deadline < b.deadline }
                if a.order != b.order { return a.order.lexicographicallyPrecedes(b.order) }
                return a.id < b.id
            }
            static func == (a: Record, b: Record) -> Bool { a.deadline == b.deadline && a.id == b.id }
        }

        func record(_ table: KeyTable) -> Record {
            Record(deadline: deadline, order: (first.map { [$0.ts, Int64($0.input), $0.line] } ?? []) + rest, id: id, key: table.keys[Int(slot)])
        }
    }

    /// Limits on state, each with a counted policy (drop the oldest partial match).
    struct Limits: Sendable {
        var partialMatchesPerKey = 10_000
        var keys = 1_000_000
    }

    init(ruleIndex: Int, rule: PatternRule, limits: Limits) {
        self.ruleIndex = ruleIndex
        self.rule = rule
        self.limits = limits
        let positives = rule.pattern.steps.indices.filter { !rule.pattern.steps[$0].negated }
        self.positiveSteps = positives
        var ordinal = Array(repeating: 0, count: rule.pattern.steps.count)
        for (k, s) in positives.enumerated() { ordinal[s] = k }
        self.ordinal = ordinal
        self.steps = rule.pattern.steps
        self.shapes = rule.pattern.steps.map(StepShape.init)
        var alternatives: [AlternativeShape] = [], altRanges: [Range<Int>] = [], predicates: [CompiledExpr] = []
        var fieldTests: [FieldTest] = []
        for step in rule.pattern.steps {
            let from = alternatives.count
            for alt in step.alternatives {
                var shape = AlternativeShape(stream: Int32(alt.stream), binding: Int32(alt.binding),
                                             predicate: Int32(alt.predicate.id), usesBindings: alt.predicate.usesBindings)
                if let tests = alt.predicate.tests, !alt.predicate.usesBindings {
                    shape.tests = Int32(fieldTests.count)..<Int32(fieldTests.count + tests.count)
                    shape.hasTests = true
                    fieldTests += tests
                }
                alternatives.append(shape)
                predicates.append(alt.predicate.eval)
            }
            altRanges.append(from..<alternatives.count)
        }
        self.alternatives = alternatives
        self.altRanges = altRanges
        self.predicates = predicates
        self.fieldTests = fieldTests
        var eager: [EagerTest] = [], eagerByStream: [Range<Int>] = []
        for stream in 0..<(rule.streams.max().map { $0 + 1 } ?? 0) {
            let from = eager.count
            for a in alternatives where Int(a.stream) == stream && a.hasTests && a.predicate < 64 {
                let bit: UInt64 = 1 << UInt64(a.predicate)
                guard !eager[from...].contains(where: { $0.bit == bit }) else { continue }
                var test = EagerTest(bit: bit, tests: a.tests)
                let t = fieldTests[Int(a.tests.lowerBound)]
                if ValueSlot.stringTag != nil, a.tests.count == 1, t.op == .eq, let w = t.literalWords {
                    (test.slot, test.low, test.high) = (Int32(t.slot), w.low, w.high)
                }
                eager.append(test)
            }
            eagerByStream.append(from..<eager.count)
        }
        self.eager = eager
        self.eagerByStream = eagerByStream
        if let s = positives.first, shapes[s].min > 0, altRanges[s].count == 1, !alternatives[altRanges[s].lowerBound].usesBindings {
            let alt = alternatives[altRanges[s].lowerBound]
            plainStart = (alt.stream, Int(alt.predicate))
        } else {
            plainStart = nil
        }
        eagerShared = eagerByStream.map { range in
            let tests = eager[range]
            let known = tests.reduce(0) { $0 | $1.bit }
            guard let slot = tests.first?.slot, slot >= 0, tests.allSatisfy({ $0.slot == slot }) else { return (known, -1) }
            return (known, slot)
        }
    }

    /// The earliest pending absence deadline.
    var nextDeadline: Int64? { absenceTimers.min?.deadline }

    // MARK: Events

    /// Starts loading the bucket of a key with `hash` (see `ReorderBuffer`).
    /// (Mutating only so that the call borrows the matcher in place: a non-mutating
    /// call on an array element copied the whole matcher.)
    mutating func prefetch(hash: Int) { state.table.prefetch(hash: hash) }

    /// Processes the event in `store`'s slot `eventSlot` (events come in event-time
    /// order) of the key made of its fields `keyFields`, whose `KeyTable.hash` is `hash`.
    ///
    /// `prefetching`: the hash of a key soon to come, whose bucket is loaded meanwhile
    /// (`prefetch(hash:)`, here without a call of its own on the matcher).
    mutating func process(_ eventSlot: Int32, store: StoreView, keyFields: UnsafeBufferPointer<Int>, hash: Int, prefetching: Int? = nil,
                          into out: inout [StoredMatch]) {
        if let prefetching { state.table.prefetch(hash: prefetching) }
        let row = store.row(eventSlot)
        let i = Int(eventSlot)
        let e = CurrentEvent(slot: eventSlot, stream: store.streams[i], ts: store.times[i], origin: store.origins[i])
        evaluateTests(stream: Int(e.stream), row)
        eventContext.row = row
        eventContext.store = store
        eventContext.detectedAt = e.ts
        defer { eventContext.row = nil }
        var slot = state.table.find(row: row, fields: keyFields, hash: hash)
        if let slot { state.table.prefetchKey(slot) }
        if slot == nil, state.table.count >= limits.keys {
            stats.keysDroppedByLimit += 1
            return
        }
        // Where the event starts a partial match, if it does (that reads the event alone,
        // so it is found before the key's attempts move over it). A key with no partial
        // match is not in the table: unless the event starts one, nothing happens (a
        // quarter of Q1's and Q3's events; the general path cost a few hundred
        // instructions each to do nothing).
        let opening = self.opening(e)
        if slot == nil && opening == nil { return }
        // The key's attempts are taken out of their slot, moved over the event one by
        // one, and the survivors written back in their places (`Survivors`).
        var attempts: [PartialMatch] = []
        if let slot { swap(&attempts, &state.attempts[Int(slot)]) }
        let before = attempts.count
        var overflow: [PartialMatch] = []
        swap(&overflow, &scratchAttempts)
        var completed: [PartialMatch] = []
        swap(&completed, &scratchCompleted)
        completed.clearKeepingCapacity()
        var survivors = Survivors(list: consume attempts, overflow: consume overflow)
        // Each attempt is moved out of the array (a placeholder takes its place), so
        // binding an event appends to its events without copying them.
        while survivors.remaining > 0 {
            advance(survivors.take(), e, &survivors, &completed)
        }
        if let (s, alt) = opening { begin(s, alt, e, &survivors, &completed) }
        (attempts, overflow) = survivors.finish()
        swap(&overflow, &scratchAttempts)
        // Completions are emitted in start order; each one's skip strategy also applies
        // to the completions after it, which were partial matches until this event.
        if !completed.isEmpty {
            slot = emit(&completed, skipping: &attempts, slot: slot, e, row: row, keyFields: keyFields, hash: hash, store: store, into: &out)
        }
        if attempts.contains(where: { $0.absenceDeadline != nil && !$0.timerArmed }) {
            slot = armTimers(&attempts, slot: slot, row: row, keyFields: keyFields, hash: hash, store: store)
        }
        if attempts.count > limits.partialMatchesPerKey {
            let excess = attempts.count - limits.partialMatchesPerKey
            stats.droppedByLimit += excess
            attempts.removeFirst(excess)
        }
        stats.partialMatches += attempts.count - before
        stats.peakPartialMatches = max(stats.peakPartialMatches, stats.partialMatches)
        // A new key's values go into the storage a departed key left in its slot.
        func insertKey(_ table: inout KeyTable) -> Int32 { table.insert(row: row, fields: keyFields, hash: hash) }
        keep(&attempts, slot: slot, insert: insertKey)
        // The matches' spilled lists become spares once their alerts are written.
        for i in completed.indices where completed[i].bound.isSpilled {
            handedOn.append(completed[i].bound)
            completed[i].bound = BoundList()
        }
        swap(&completed, &scratchCompleted)
    }

    // `process`'s rarer steps, kept out of it (`@inline(never)`): its common path stays
    // on fewer instruction cache lines.

    /// The slot of the key made of `row`'s `keyFields` (hash `hash`): `slot`, or a new
    /// one, its values written into the storage a departed key left (building them was
    /// an allocation). Only matches and timers need the key's values (reading them per
    /// event retained them).
    private mutating func keySlot(_ slot: Int32?, row: UnsafePointer<Value>, keyFields: UnsafeBufferPointer<Int>, hash: Int) -> Int32 {
        if let slot { return slot }
        let new = state.table.insert(row: row, fields: keyFields, hash: hash)
        if Int(new) == state.attempts.count { state.attempts.append([]) }
        return new
    }

    /// Appends the matches of `completed` to `out`, in start order, each one's skip
    /// strategy applied to `attempts` and to the completions after it (partial matches
    /// until this event). Returns the key's slot (given one when it had none).
    @inline(never) private mutating func emit(_ completed: inout [PartialMatch], skipping attempts: inout [PartialMatch], slot: Int32?,
                                              _ e: CurrentEvent, row: UnsafePointer<Value>, keyFields: UnsafeBufferPointer<Int>, hash: Int,
                                              store: StoreView, into out: inout [StoredMatch]) -> Int32 {
        // The slot first: `keys` read before a new key's insert is the array without it.
        let slot = keySlot(slot, row: row, keyFields: keyFields, hash: hash)
        let key = state.table.keys[Int(slot)]
        // The alert reads every event a match bound, most of them long out of the
        // cache: start loading them now, while the rest of the event is processed.
        for c in completed {
            for b in c.bound where b.slot != e.slot { store.prefetch(b.slot) }
        }
        if case .noSkip = rule.pattern.skip {
            for c in completed {
                out.append(StoredMatch(key: key, slots: c.bound, detectedAt: e.ts, trigger: e.slot))
            }
        } else {
            var k = 0
            while k < completed.count {
                let c = completed[k]
                skip(c, in: &attempts, from: 0, store)
                skip(c, in: &completed, from: k + 1, store)
                out.append(StoredMatch(key: key, slots: c.bound, detectedAt: e.ts, trigger: e.slot))
                k += 1
            }
        }
        return slot
    }

    /// Arms the absence timers of `attempts` not yet armed. Returns the key's slot (given
    /// one when it had none).
    @inline(never) private mutating func armTimers(_ attempts: inout [PartialMatch], slot: Int32?, row: UnsafePointer<Value>,
                                                   keyFields: UnsafeBufferPointer<Int>, hash: Int, store: StoreView) -> Int32 {
        let slot = keySlot(slot, row: row, keyFields: keyFields, hash: hash)
        for i in attempts.indices where attempts[i].absenceDeadline != nil && !attempts[i].timerArmed {
            attempts[i].timerArmed = true
            let a = attempts[i]
            absenceTimers.push(AbsenceTimer(deadline: a.absenceDeadline!, bound: a.bound, store: store, id: a.id, slot: slot))
        }
        return slot
    }

    /// Whether matches handed on since the last `recycle` hold spilled lists.
    var hasHandedOn: Bool { !handedOn.isEmpty }

    /// Takes back the spilled lists of matches handed on, once their alerts have been
    /// written (the caller's word: a match is read before the next event). A list an
    /// alert still holds stays with it (`SpareBuffers` takes only what nothing holds).
    mutating func recycle() {
        for i in handedOn.indices { handedOn[i].release(to: &spareSpills) }
        handedOn.clearKeepingCapacity()
    }

    /// Whether the predicate `eval` (memo slot `id`) holds for `e` in attempt `a`: one
    /// that reads only the event is evaluated once per event, in the event's context.
    @inline(__always)
    private mutating func holds(_ eval: CompiledExpr, id: Int, usesBindings: Bool, _ e: CurrentEvent, _ a: borrowing PartialMatch) -> Bool {
        if !usesBindings {
            if let memoized = memoized(id) { return memoized }
            let holds = eval(eventContext).isTrue
            memoize(id, holds)
            return holds
        }
        return eval(EvalContext(row: eventContext.row, store: eventContext.store, boundSlots: a.bound, detectedAt: e.ts)).isTrue
    }

    /// Sets the memo for an event of `stream` whose values are `row`: its plain
    /// field-test predicates evaluated. (Mutating: a non-mutating call copied the whole
    /// matcher first.)
    private mutating func evaluateTests(stream: Int, _ row: UnsafePointer<Value>) {
        self.known = 0
        self.held = 0
        guard stream < eagerByStream.count else { return }
        let range = eagerByStream[stream]
        let shared = eagerShared[stream]
        var held: UInt64 = 0
        // (Any tag will do when there is none: then no predicate has a slot here.)
        let stringTag = self.stringTag ?? 0
        fieldTests.withUnsafeBufferPointer { t in
            eager.withUnsafeBufferPointer { eager in
                if shared.slot >= 0, let (low, high) = ValueSlot.smallASCIIBits(at: row + Int(shared.slot), stringTag: stringTag) {
                    for j in range where eager[j].low == low && eager[j].high == high { held |= eager[j].bit }
                    return
                }
                for j in range {
                    let p = eager[j]
                    if p.slot >= 0, let (low, high) = ValueSlot.smallASCIIBits(at: row + Int(p.slot), stringTag: stringTag) {
                        if low == p.low && high == p.high { held |= p.bit }
                        continue
                    }
                    var all = true
                    for i in p.tests where !t[Int(i)].holds(row) {
                        all = false
                        break
                    }
                    if all { held |= p.bit }
                }
            }
        }
        self.known = shared.known
        self.held = held
    }

    /// What predicate `id` gave on this event, if it was evaluated.
    @inline(__always) private func memoized(_ id: Int) -> Bool? {
        guard id < 64 else { return nil }
        let bit: UInt64 = 1 << UInt64(id)
        return known & bit == 0 ? nil : held & bit != 0
    }

    @inline(__always) private mutating func memoize(_ id: Int, _ holds: Bool) {
        guard id < 64 else { return }
        let bit: UInt64 = 1 << UInt64(id)
        known |= bit
        if holds { held |= bit }
    }

    /// Whether every field test in `range` holds for the current event.
    @inline(__always) private func testsHold(_ range: Range<Int32>) -> Bool {
        guard let row = eventContext.row else { return false }
        return fieldTests.withUnsafeBufferPointer { t in
            for i in range where !t[Int(i)].holds(row) { return false }
            return true
        }
    }

    /// The alternative of step `s` that `e` satisfies, if any.
    /// (`a` is borrowed: an optional would copy it per call; a new attempt passes the
    /// placeholder, which has bound nothing.)
    @inline(__always) private mutating func alternative(_ s: Int, _ e: CurrentEvent, _ a: borrowing PartialMatch) -> Int? {
        // The usual step: one alternative, a plain test, evaluated as the event arrived.
        let range = altRanges[s]
        if range.count == 1 {
            let alt = alternatives[range.lowerBound]
            if alt.stream != e.stream { return nil }
            if !alt.usesBindings, let holds = memoized(Int(alt.predicate)) { return holds ? 0 : nil }
        }
        return anyAlternative(s, e, a)
    }

    /// `alternative`, in general.
    private mutating func anyAlternative(_ s: Int, _ e: CurrentEvent, _ a: borrowing PartialMatch) -> Int? {
        let stream = e.stream
        let range = altRanges[s]
        for k in range where alternatives[k].stream == stream {
            let alt = alternatives[k]
            // The memo first: taking the predicate out of its array retains its closure.
            if !alt.usesBindings {
                let id = Int(alt.predicate)
                if let memoized = memoized(id) {
                    if memoized { return k - range.lowerBound }
                    continue
                }
                // Plain tests in place; a closure call retained the closure and copied
                // the evaluation context.
                let holds = alt.hasTests ? testsHold(alt.tests) : predicates[k](eventContext).isTrue
                memoize(id, holds)
                if holds { return k - range.lowerBound }
            } else if holds(predicates[k], id: Int(alt.predicate), usesBindings: true, e, a) {
                return k - range.lowerBound
            }
        }
        return nil
    }

    private func nextPositive(after s: Int) -> Int? { positiveSteps.first { $0 > s } }

    /// Whether `e` ends a run whose next positive step is `n`: that step accepts it, or,
    /// past optional steps (min 0), one up to the first that must bind.
    private mutating func endsRun(next n: Int, _ e: CurrentEvent, _ a: borrowing PartialMatch) -> Bool {
        if alternative(n, e, a) != nil { return true }
        if shapes[n].min > 0 { return false }
        var k = ordinal[n] + 1
        while k < positiveSteps.count {
            let m = positiveSteps[k]
            if alternative(m, e, a) != nil { return true }
            if shapes[m].min > 0 { return false }
            k += 1
        }
        return false
    }
    private func previousPositive(before s: Int) -> Int? { positiveSteps.last { $0 < s } }

    private func negations(between lo: Int?, and hi: Int?) -> Range<Int> {
        let from = (lo ?? -1) + 1
        let to = hi ?? steps.count
        return from..<max(from, to)
    }

    private mutating func negated(_ range: Range<Int>, _ e: CurrentEvent, _ a: borrowing PartialMatch) -> Bool {
        for s in range where shapes[s].negated {
            if alternative(s, e, a) != nil { return true }
        }
        return false
    }

    private mutating func newID() -> UInt64 {
        state.nextAttemptID += 1
        return state.nextAttemptID
    }

    /// The step and alternative at which `e` starts a partial match, if it does: the
    /// first step, or a later one when every step before it is optional.
    private mutating func opening(_ e: CurrentEvent) -> (step: Int, alt: Int)? {
        if let p = plainStart {
            if p.stream != e.stream { return nil }
            if let holds = memoized(p.predicate) { return holds ? (positiveSteps[0], 0) : nil }
        }
        for s in positiveSteps {
            if let alt = alternative(s, e, PartialMatch.placeholder) { return (s, alt) }
            if shapes[s].min > 0 { return nil }
        }
        return nil
    }

    /// Starts a partial match with `e` bound to alternative `alt` of step `s`.
    private mutating func begin(_ s: Int, _ alt: Int, _ e: CurrentEvent, _ survivors: inout Survivors, _ completed: inout [PartialMatch]) {
        var a = PartialMatch(id: newID(), startTs: e.ts, startOrigin: e.origin, step: s, count: 0, boundStep: s)
        _ = bind(&a, s, alt, e)
        afterBind(consume a, survivors: &survivors, completed: &completed)
    }

    /// Binds `e` to step `s`; false when a pending negation lies in a gap it crosses.
    private mutating func bind(_ a: inout PartialMatch, _ s: Int, _ alt: Int, _ e: CurrentEvent) -> Bool {
        let from = ordinal[a.boundStep], to = ordinal[s]
        if to > from, a.pendingGaps != 0 {
            for g in from..<min(to, 64) where a.pendingGaps & (1 << UInt64(g)) != 0 { return false }
        }
        a.bound.append(BoundSlot(binding: alternatives[altRanges[s].lowerBound + alt].binding, slot: e.slot), spares: &spareSpills)
        a.step = s
        a.boundStep = s
        a.count += 1
        a.pendingGaps = 0
        a.gap = false
        return true
    }

    /// After a bind: complete, wait for the trailing absence, move on, or keep collecting.
    private mutating func afterBind(_ a: consuming PartialMatch, survivors: inout Survivors, completed: inout [PartialMatch]) {
        let s = shapes[a.step]
        let isLast = nextPositive(after: a.step) == nil
        let full = s.max.map { a.count >= $0 } ?? false
        if isLast && a.count >= s.min {
            if shapes.last!.negated, let within = rule.pattern.withinMs {
                a.absenceDeadline = a.startTs.plus(within)
                survivors.append(a, spares: &spareAttempts)
            } else {
                completed.append(a)
            }
            return
        }
        if full, let n = nextPositive(after: a.step) {
            a.step = n
            a.count = 0
        }
        survivors.append(a, spares: &spareAttempts)
    }

    /// Moves one attempt over event `e`.
    private mutating func advance(_ a: consuming PartialMatch, _ e: CurrentEvent, _ survivors: inout Survivors, _ completed: inout [PartialMatch]) {
        if let deadline = a.absenceDeadline {
            // Waiting for the window to pass: a negated event inside it kills the attempt.
            if e.ts <= deadline, negated(negations(between: a.step, and: nil), e, a) { return }
            survivors.append(a, spares: &spareAttempts)
            return
        }
        if let within = rule.pattern.withinMs, e.ts.minus(a.startTs) > within {
            a.bound.release(to: &spareSpills)
            return
        }
        let j = a.step
        let s = shapes[j]
        let next = nextPositive(after: j)

        // A quantified step's run ends at the first event the next step accepts — or,
        // past optional next steps, the first step that must bind.
        if s.isQuantified, let n = next, endsRun(next: n, e, a) {
            guard a.count >= s.min else { return }
            if shapes[n].contiguity == .strict && a.gap { return }
            // The next step takes the event — or, if it is quantified and the event also
            // satisfies the step after it, hands it on (priority cascades).
            a.step = n
            a.count = 0
            // When the next step takes the event, its own skip-till-any branch is made
            // there; when it hands the event on, the branch that skips it is made here.
            let handsOn = shapes[n].isQuantified && nextPositive(after: n).map { endsRun(next: $0, e, a) } ?? false
            let waiting: PartialMatch? = shapes[n].contiguity == .any && handsOn ? a : nil
            advance(a, e, &survivors, &completed)
            if var w = waiting, ignore(&w, e) {
                w.id = newID()
                survivors.append(w, spares: &spareAttempts)
            }
            return
        }
        if s.isQuantified, s.hasUntil, let until = steps[j].until, holds(until.eval, id: until.id, usesBindings: until.usesBindings, e, a) {
            guard a.count >= s.min else { return }
            guard let n = next else {
                completed.append(a)
                return
            }
            a.step = n
            a.count = 0
            advance(a, e, &survivors, &completed)
            return
        }
        // A strict step binds only the event right after the last bound one.
        let canTake = (s.max.map { a.count < $0 } ?? true) && !(s.contiguity == .strict && a.count == 0 && a.gap)
        if canTake, let alt = alternative(j, e, a) {
            // Copied only when it branches: a copy shares the bound events, and the bind
            // below would then copy them.
            let waiting: PartialMatch? = s.contiguity == .any && a.count == 0 ? a : nil
            if bind(&a, j, alt, e) {
                afterBind(a, survivors: &survivors, completed: &completed)
            }
            if var w = waiting, ignore(&w, e) {
                // Skip-till-any: every satisfying event branches; for this branch, which
                // waits on, the event is one it skipped.
                w.id = newID()
                survivors.append(w, spares: &spareAttempts)
            }
            return
        }
        if ignore(&a, e) { survivors.append(a, spares: &spareAttempts) }
    }

    /// Moves `a` past an event it does not bind; false when negations or strict
    /// contiguity end it. (In place: returning a new optional attempt copied it.)
    private mutating func ignore(_ a: inout PartialMatch, _ e: CurrentEvent) -> Bool {
        let j = a.step
        let s = shapes[j]
        let next = nextPositive(after: j)
        if a.count == 0 {
            // Every gap from the last bound event up to this step lies before whatever
            // binds next: a negated event there kills at once.
            if negated(negations(between: a.boundStep == j ? previousPositive(before: j) : a.boundStep, and: j), e, a) { return false }
        }
        // Gaps after this step (and after the optional steps that follow it) are pending.
        if a.count > 0 || (s.isQuantified && s.min == 0) {
            var g = ordinal[j]
            while true {
                let left = positiveSteps[g]
                let right = g + 1 < positiveSteps.count ? positiveSteps[g + 1] : nil
                if g < 64, negated(negations(between: left, and: right), e, a) { a.pendingGaps |= 1 << UInt64(g) }
                guard let r = right, shapes[r].isQuantified, shapes[r].min == 0 else { break }
                g += 1
            }
        }
        if s.contiguity == .strict && (a.count == 0 || s.isQuantified) {
            guard s.isQuantified, a.count >= s.min, let n = next else { return false }
            // The strict run ended; the next step starts from here with its own contiguity.
            if shapes[n].contiguity == .strict { return false }
            a.step = n
            a.count = 0
        }
        a.gap = true
        return true
    }

    /// Applies the after-match skip strategy of completed attempt `c` to
    /// `attempts[start...]` (the ones before `start` stay), in place: the order of those
    /// kept is unchanged, and nothing is allocated.
    func skip(_ c: PartialMatch, in attempts: inout [PartialMatch], from start: Int, _ store: StoreView) {
        let startKey = (c.startTs, c.startOrigin)
        func before(_ x: (Int64, EventOrigin), _ y: (Int64, EventOrigin)) -> Bool { x.0 < y.0 || (x.0 == y.0 && x.1 < y.1) }
        let keeps: (PartialMatch) -> Bool
        switch rule.pattern.skip {
        case .noSkip:
            return
        case .toNext:
            keeps = { !($0.startTs == startKey.0 && $0.startOrigin == startKey.1) }
        case .pastLast:
            guard let last = c.bound.last?.slot else { return }
            let end = (store.times[Int(last)], store.origins[Int(last)])
            keeps = { before(($0.startTs, $0.startOrigin), startKey) || before(end, ($0.startTs, $0.startOrigin)) }
        case .toFirst(let bindings), .toLast(let bindings):
            let isFirst = { if case .toFirst = rule.pattern.skip { true } else { false } }()
            var target: Int32?
            for b in c.bound where bindings.contains(Int(b.binding)) {
                target = b.slot
                if isFirst { break }
            }
            guard let target else { return }
            let t = (store.times[Int(target)], store.origins[Int(target)])
            keeps = { before(($0.startTs, $0.startOrigin), startKey) || !before(($0.startTs, $0.startOrigin), t) }
        }
        var w = start
        for r in start..<attempts.count where keeps(attempts[r]) {
            if r != w { attempts.swapAt(r, w) }
            w += 1
        }
        attempts.removeSubrange(w...)
    }

    /// `skip` over partial matches with their events (for explanations): the ones kept.
    func applySkip(_ c: Attempt, to attempts: [Attempt]) -> [Attempt] {
        // Skipping reads only the bound events' times and origins.
        let store = EventStore(widths: [1])
        var list = attempts.map { PartialMatch($0, store: store) }
        skip(PartialMatch(c, store: store), in: &list, from: 0, store.view)
        let kept = Set(list.map(\.id))
        return attempts.filter { kept.contains($0.id) }
    }

    // MARK: Watermark

    /// Fires trailing absences whose window ended at or before `time` (deadline < time).
    mutating func fireAbsences(before time: Int64, store: StoreView, into out: inout [StoredMatch]) {
        while let t = absenceTimers.min, t.deadline < time {
            absenceTimers.pop()
            let slot = t.slot
            guard state.table.live[Int(slot)], let i = state.attempts[Int(slot)].firstIndex(where: { $0.id == t.id }) else { continue }
            let key = state.table.keys[Int(slot)]
            // Taken out of the slot, so that removing from it copies nothing.
            var attempts: [PartialMatch] = []
            swap(&attempts, &state.attempts[Int(slot)])
            let before = attempts.count
            let a = attempts.remove(at: i)
            skip(a, in: &attempts, from: 0, store)
            stats.partialMatches -= before - attempts.count
            keep(&attempts, slot: slot)
            out.append(StoredMatch(key: key, slots: a.bound, detectedAt: t.deadline, trigger: -1))
        }
    }

    /// Drops attempts whose `within` window has passed `watermark`; they can never complete.
    mutating func reclaim(watermark: Int64) {
        guard let within = rule.pattern.withinMs else { return }
        for slot in state.attempts.indices where !state.attempts[slot].isEmpty {
            let expired = { (a: PartialMatch) in a.absenceDeadline == nil && a.startTs.plus(within) < watermark }
            guard state.attempts[slot].contains(where: expired) else { continue }
            // In place: filtering into a new array allocated one per key with expired attempts.
            var kept: [PartialMatch] = []
            swap(&kept, &state.attempts[slot])
            let before = kept.count
            for i in kept.indices where expired(kept[i]) { kept[i].bound.release(to: &spareSpills) }
            kept.removeAll(where: expired)
            stats.partialMatches -= before - kept.count
            keep(&kept, slot: Int32(slot))
        }
    }
}
