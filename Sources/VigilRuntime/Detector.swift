/// Everything the detector hands back to its caller, who performs the I/O.
public enum DetectorOutput: Sendable {
    case alert(Alert)
    /// A row for a window, session or aggregate table.
    case row(Row)
    /// An event older than its stream's watermark on arrival (or behind what a rule
    /// released): not matched by at least one rule that reads its stream.
    case late(Event, watermark: Int64)
    /// A flow's `fail` expectation was not met by this event: the detector stops here
    /// (the event and every later one are not taken). What came before stands.
    case stopped(FlowFailure)
    /// What an output moved out of its place leaves behind (copying an alert's fields
    /// out cost a count each, on the hot path): no output. A case of its own, so that
    /// leaving one and clearing it later are a tag written and read (a placeholder
    /// output was copied in and destroyed, a few hundred instructions per alert).
    case movedOut

    /// Moves the output out of `slot`, leaving `movedOut`.
    public static func take(_ slot: inout DetectorOutput) -> DetectorOutput {
        var o = movedOut
        swap(&o, &slot)
        return o
    }
}

/// Counters for the run summary.
public struct DetectorStats: Sendable, Codable {
    public var events = 0
    public var late = 0
    public var alerts = 0
    public var rows = 0
    /// Alerts folded by `suppress`, per rule (each also counted in the next alert emitted).
    public var suppressed: [String: Int] = [:]
    /// Late events that window rules took in within their allowed lateness.
    public var lateAbsorbed = 0
    public var peakPartialMatches = 0
    /// Windows and sessions held at once (open, or kept for allowed lateness).
    public var peakOpenGroups = 0
    public internal(set) var partialMatchesDroppedByLimit = 0
    public internal(set) var keysDroppedByLimit = 0
    /// Partial matches open now, over all rules.
    var partialMatches = 0
    /// Windows and sessions held now, over all rules.
    public internal(set) var openGroups = 0
    /// Per flow, in program order.
    public var flows: [FlowStats] = []
}

/// The event-time core: per-stream watermarks, a reorder buffer per rule released by
/// the rule's watermark (the minimum over its streams), and the rules' matchers.
/// Deterministic: the same events in the same order give the same outputs, however
/// they are batched. No I/O, no clock.
public struct Detector: Sendable {
    public let program: Program
    /// Facts of the program read per event, as plain arrays: reading them through
    /// `program` copied the whole stream or rule (a retain and a release per field).
    private let latenessMs: [Int64]
    private let ruleBoxes: [RuleBox]
    /// Some pattern rule alerts: the lines given with events are kept for its alert lines.
    private let keepsLines: Bool
    /// Per pattern rule: how far its watermark moves between reclaims (`Int64.max`:
    /// never, a rule without `within`).
    private let reclaimEvery: [Int64]
    private let windowKeySlots: [[Int]]
    private let windowLatenessMs: [Int64]
    var matchers: [PatternMatcher]
    /// Window and session rules; rule index `r >= matchers.count` is `windows[r - matchers.count]`.
    var windows: [WindowOperator]
    /// Per stream: the maximum event time seen, and the watermark (max - lateness).
    var maxTs: [Int64]
    var watermarks: [Int64]
    /// Per rule: events waiting for the watermark, in event-time order.
    var pending: ReorderBuffer
    /// Every event a rule still waits for or a partial match holds, stored once.
    var store: EventStore
    /// Shared by copies of this detector only, never by alerts (which may hold the
    /// store): whether a copy shares the store.
    private var storeOwner = StoreOwner()
    /// Where `drain` collects a rule's matches (empty between calls).
    private var scratchMatches: [StoredMatch] = []
    /// Rules whose matchers handed on matches since the last call (`PatternMatcher.recycle`).
    private var recycling: [Int] = []
    /// Rules that read each stream.
    private let readers: [[Int]]
    /// `readers`, flat: stream s's rules are `readerList[readerRanges[s]]` (reading an
    /// inner array on the per-event path retained and released it).
    private let readerList: [Int]
    private let readerRanges: [Range<Int>]
    /// Which events can change each pattern rule's matching.
    private let prefilter: Prefilter
    /// (event, pattern rule) pairs the prefilters kept from their rule in this process
    /// (not in snapshots): how much matching they saved.
    public private(set) var prefilterSkips = 0
    /// Per rule (pattern rules, then window rules): the streams it reads.
    private let ruleStreams: [[Int]]
    /// Flows, the flows that read each stream, and the reference tables they join.
    private let flows: [FlowOperator]
    private let flowReaders: [[Int]]
    private let references: [ReferenceTable]
    /// Set when a flow's `fail` expectation stopped the detector.
    public private(set) var failure: FlowFailure?
    var lastReclaim: [Int64]
    /// Streams marked idle: they do not hold back the watermark of the rules that read
    /// them until their next event.
    var idle: [Bool]
    /// Per rule: the watermark events have been released up to (never decreases).
    var released: [Int64]
    var counters = DetectorStats()
    /// Per rule with `suppress`: its periods.
    var suppressors: RuleSuppressors
    /// When set, what the pattern rules do with one key (or every key) is recorded, step
    /// by step, for explanations. Never set on the detector's normal path.
    var trace: Trace?
    /// The keys this detector owns (all of them unless sharded).
    public let shard: Shard
    /// Sharded: every output's place in the one-detector order, parallel to the
    /// outputs of the last call (`accept`, `markIdle`, `finish`).
    public private(set) var tags: [OutputTag] = []
    /// Calls so far (`accept` and `markIdle`): the step of the next outputs.
    var step: Int64 = 0
    /// Per rule: its key fields in each stream (nil: the rule does not read it).
    private let ownerFields: [[[Int]?]]
    private var owned: [Int] = []
    /// `ValueSlot.stringTag`, read once (each read of the lazy global is a call).
    private let stringTag = ValueSlot.stringTag
    /// Sharded: the tag of each match of the rule being drained.
    private var matchTags: [OutputTag] = []

    /// Folded alerts that no later alert of their rule and values has reported.
    public var suppressedUnreported: Int { suppressors.unreported }

    /// Events accepted so far (cheap: for progress checks on the per-event path).
    public var eventsAccepted: Int { counters.events }

    /// Counters for the run summary; the limit counts are the matchers' own.
    public var stats: DetectorStats {
        var s = counters
        s.partialMatchesDroppedByLimit = matchers.reduce(0) { $0 + $1.stats.droppedByLimit }
        s.keysDroppedByLimit = matchers.reduce(0) { $0 + $1.stats.keysDroppedByLimit }
        return s
    }

    /// `references`: the rows of `program.references`, in that order (empty tables when
    /// not given).
    /// `shard`: the share of the keys this detector matches (see `Shard`); outputs are
    /// then tagged and suppression is left to `ShardMerger`.
    public init(program: Program, references: [ReferenceTable] = [], partialMatchesPerKey: Int = 10_000, keysPerRule: Int = 1_000_000,
                shard: Shard = .whole) {
        self.program = program
        self.latenessMs = program.streams.map(\.latenessMs)
        self.ruleBoxes = program.rules.map(RuleBox.init)
        self.keepsLines = program.rules.contains { $0.hasAlert }
        self.reclaimEvery = program.rules.map { $0.pattern.withinMs.map { max($0, 1000) } ?? Int64.max }
        self.windowKeySlots = program.windows.map(\.keySlots)
        self.windowLatenessMs = program.windows.map(\.allowedLatenessMs)
        self.shard = shard
        self.flows = program.flows.map(FlowOperator.init)
        var flowReaders = Array(repeating: [Int](), count: program.streams.count)
        for (i, f) in program.flows.enumerated() { flowReaders[f.stream].append(i) }
        self.flowReaders = flowReaders
        self.references = references.count == program.references.count ? references : program.references.map { ReferenceTable(spec: $0) }
        self.counters.flows = Array(repeating: FlowStats(), count: program.flows.count)
        let limits = PatternMatcher.Limits(partialMatchesPerKey: partialMatchesPerKey, keys: keysPerRule)
        self.matchers = program.rules.enumerated().map { PatternMatcher(ruleIndex: $0.offset, rule: $0.element, limits: limits) }
        self.prefilter = Prefilter(rules: program.rules, streams: program.streams.count)
        self.windows = program.windows.map { WindowOperator(rule: $0) }
        let ruleCount = program.rules.count + program.windows.count
        self.maxTs = Array(repeating: Int64.min, count: program.streams.count)
        self.watermarks = Array(repeating: Int64.min, count: program.streams.count)
        // Per pattern rule, per stream: the key fields (nil for streams it does not read).
        let keyFields = program.rules.map { rule in program.streams.indices.map { rule.keySlots[$0] } }
        self.pending = ReorderBuffer(keyFields: keyFields + program.windows.map { _ in program.streams.map { _ in nil } },
                                     streams: program.streams.count)
        self.store = EventStore(widths: program.streams.map(\.fields.count), capacity: Self.storeCapacity)
        var readers = Array(repeating: [Int](), count: program.streams.count)
        for (r, rule) in program.rules.enumerated() {
            for s in rule.streams { readers[s].append(r) }
        }
        for (w, rule) in program.windows.enumerated() { readers[rule.stream].append(program.rules.count + w) }
        self.readers = readers
        readerList = readers.flatMap { $0 }
        var start = 0
        readerRanges = readers.map { start += $0.count; return (start - $0.count)..<start }
        self.ruleStreams = program.rules.map(\.streams) + program.windows.map { [$0.stream] }
        self.ownerFields = keyFields + program.windows.map { w in program.streams.indices.map { $0 == w.stream ? w.keySlots : nil } }
        self.lastReclaim = Array(repeating: Int64.min, count: ruleCount)
        self.idle = Array(repeating: false, count: program.streams.count)
        self.released = Array(repeating: Int64.min, count: ruleCount)
        self.suppressors = RuleSuppressors(program: program)
    }

    /// Applies rule `r`'s `suppress` to the alerts in `out` from `start` on: folded ones
    /// are removed and counted; the next one emitted carries the count.
    private mutating func suppress(rule r: Int, _ out: inout [DetectorOutput], from start: Int) {
        // Sharded, suppression waits for the merge: its values may span keys.
        guard shard.count == 1, suppressors.applies(toRule: r), start < out.count else { return }
        var kept: [DetectorOutput] = []
        for o in out[start...] {
            guard case .alert(var a) = o else { kept.append(o); continue }
            if suppressors.admit(&a, rule: r, counting: &counters.suppressed) { kept.append(.alert(a)) }
        }
        out.replaceSubrange(start..., with: kept)
    }

    /// Per rule: the watermark it has released events up to.
    public var releasedWatermarks: [Int64] { released }

    /// The event store's first capacity. Debug builds (the tests) start with two slots,
    /// so that reclaiming slots runs all the time there; it cannot change an output.
    #if DEBUG
    static let storeCapacity = 2
    #else
    static let storeCapacity = 1024
    #endif

    /// Stores `e` (once, however many rules wait for it) and returns its slot; when the
    /// store is full, the slots nothing refers to any more are reclaimed first.
    private mutating func stored(_ e: borrowing Event) -> Int32 {
        makeRoom()
        return store.add(e)
    }

    /// `stored(_:)`, taking `e`'s values when `take` (it is left with others).
    private mutating func stored(_ e: inout Event, take: Bool, line: UnsafeBufferPointer<UInt8>?) -> Int32 {
        makeRoom()
        return take ? store.add(taking: &e, line: line) : store.add(e)
    }

    private mutating func makeRoom() {
        // A copied detector shares its store until one of them adds to it.
        if !isKnownUniquelyReferenced(&storeOwner) {
            store = store.copy()
            storeOwner = StoreOwner()
        }
        if store.isFull {
            store.beginMark()
            pending.mark(store)
            for i in matchers.indices { matchers[i].mark(store) }
            store.sweep()
        }
    }

    /// The watermark of stream `s` (Int64.min before its first event).
    public func watermark(ofStream s: Int) -> Int64 { watermarks[s] }

    /// Accepts one decoded event (in arrival order) and returns what it caused. Its
    /// values are copied into the detector's store (the caller may still share them);
    /// `accept(taking:into:)` moves them instead.
    public mutating func accept(_ e: Event) -> [DetectorOutput] {
        var out: [DetectorOutput] = []
        var e = e
        accept(&e, take: false, inPlace: false, into: &out)
        return out
    }

    /// Accepts one decoded event; `out` is replaced by what it caused. The event's values
    /// move into the detector's store: `e` is left with other values (storage the next
    /// decoded event can reuse), its time, stream and origin unchanged. Taking values
    /// another array still shares copies them first, so the run loop decodes every
    /// event into the one `e`.
    ///
    /// The alerts in `out` read their matched events where the detector stores them,
    /// copying none: read them (write, send, copy their `matched`) before the next call
    /// to the detector, after which reading them stops the program.
    ///
    /// `line`: the event's line, given only when it is exactly the event as an alert line
    /// writes it (`JSONLineDecoder.decode(_:origin:into:canonical:)` says so): alerts
    /// then copy it.
    ///
    /// `reports`: sharded, this shard reports the event if it is late (one shard does:
    /// by default the first; see `pass(stream:ts:into:)`).
    public mutating func accept(taking e: inout Event, into out: inout [DetectorOutput], line: UnsafeBufferPointer<UInt8>? = nil,
                                reports: Bool? = nil) {
        accept(&e, take: true, inPlace: true, line: keepsLines ? line : nil, into: &out, reports: reports)
    }

    /// Sharded: the step of an event of stream `s` at time `ts` that another shard
    /// decoded (and reports), in which this shard owns no key of any rule and runs no flow
    /// (`ShardRouter` says which shards those are): time moves as that
    /// event moves it, releasing what it releases; `out` is replaced by what that causes.
    public mutating func pass(stream s: Int, ts: Int64, into out: inout [DetectorOutput]) {
        precondition(shard.count > 1 && (shard.index > 0 || flowReaders[s].isEmpty), "a time alone, in the shard that runs flows on its event")
        var e = Event(stream: Int32(s), ts: ts, origin: EventOrigin(input: 0, line: 0), values: [])
        accept(&e, take: false, inPlace: true, into: &out, reports: false, owns: false)
    }

    /// Sharded: a step that brings no event (a line that decoded to a dead letter or to
    /// nothing), so that steps go on counting every command of the input. Unsharded,
    /// nothing.
    public mutating func pass() {
        if shard.count > 1 { step += 1 }
    }

    /// `take`: `e`'s values move into the store. `inPlace`: alerts read their events in
    /// the store (see `accept(taking:into:)`).
    /// `reports`: sharded, whether this shard reports it if late (nil: the first does).
    /// `owns`: false when this shard owns no key of `e` (which then has no values: see
    /// `pass(stream:ts:into:)`).
    private mutating func accept(_ e: inout Event, take: Bool, inPlace: Bool, line: UnsafeBufferPointer<UInt8>? = nil,
                                 into out: inout [DetectorOutput], reports: Bool? = nil, owns: Bool = true) {
        out.clearKeepingCapacity()
        // The last call's alerts are gone: their matchers take back what they held.
        while let r = recycling.popLast() { matchers[r].recycle() }
        if shard.count > 1 {
            tags.clearKeepingCapacity()
            step += 1
        }
        guard failure == nil else { return }
        let s = Int(e.stream)
        // Flows take every event at arrival, late or not: they keep no state in event time.
        // Sharded, the first shard runs them (they keep no keyed state either).
        if !flows.isEmpty && !flowReaders[s].isEmpty && shard.index == 0 {
            runFlows(e, into: &out)
            if failure != nil { return }
        }
        // Tested first: a write checked the array's uniqueness per event.
        if idle[s] { idle[s] = false }
        // Late for its stream, or behind what a rule already released while this stream
        // was idle: either way it would break event-time order, so the rule does not
        // match it — unless it is a window rule that allows that much lateness.
        var behind = Int64.min
        let mine = readerRanges[s]
        for i in mine where released[readerList[i]] > behind { behind = released[readerList[i]] }
        if e.ts < watermarks[s] || e.ts < behind {
            acceptLate(e, inPlace: inPlace, into: &out, reports: reports ?? (shard.index == 0), owns: owns)
            return
        }
        counters.events += 1
        advance(stream: s, to: e.ts)
        if shard.count == 1 {
            if !mine.isEmpty {
                let admitted = admitted(e, rules: mine)
                if admitted == Self.all(mine.count) {
                    let slot = stored(&e, take: take, line: line), view = store.view
                    readerList.withUnsafeBufferPointer { pending.push(slot: slot, store: view, rules: UnsafeBufferPointer(rebasing: $0[mine])) }
                } else if admitted != 0 || mine.count > 64 {
                    let slot = stored(&e, take: take, line: line), view = store.view
                    for (k, i) in mine.enumerated() where Self.has(admitted, k) {
                        pending.push(slot: slot, store: view, rules: CollectionOfOne(readerList[i]))
                    }
                }
            }
        } else if owns {
            pushOwned(&e, take: take, line: line)
        }
        for i in mine {
            drain(rule: readerList[i], inPlace: inPlace, into: &out)
        }
    }

    // `accept`'s rarer paths, kept out of it (see `processTraced`).

    /// Runs the flows that read `e`'s stream (they take every event at arrival); on a
    /// failure, `failure` is set and `out` holds the stop.
    @inline(never) private mutating func runFlows(_ e: borrowing Event, into out: inout [DetectorOutput]) {
        for f in flowReaders[Int(e.stream)] {
            if let failed = flows[f].process(e, references: references, stats: &counters.flows[f], into: &out) {
                failure = failed
                if shard.count > 1 { tags = [OutputTag(step: step, phase: 0, time: e.ts, kind: 0, at: EventStamp(e))] }
                out.clearKeepingCapacity()
                out.append(.stopped(failed))
                return
            }
        }
        counters.rows += out.count
        tag(out, from: 0, phase: 0, time: e.ts, kind: 0, at: EventStamp(e))
    }

    /// Sharded: queues `e` for the rules this shard owns its key of.
    @inline(never) private mutating func pushOwned(_ e: inout Event, take: Bool, line: UnsafeBufferPointer<UInt8>?) {
        let s = Int(e.stream), mine = readerRanges[s]
        // Ownership is hashed with the fixed seed (alike in every process), on the row in
        // place; the reorder buffer hashes the owned rules' keys with the tables' seed, in
        // the store, as unsharded.
        owned.clearKeepingCapacity()
        let admitted = admitted(e, rules: mine)
        e.values.withUnsafeBufferPointer { values in
            for (k, i) in mine.enumerated() where Self.has(admitted, k) {
                let r = readerList[i]
                guard let fields = ownerFields[r][s] else {
                    if shard.index == 0 { owned.append(r) }
                    continue
                }
                let owns = if let row = values.baseAddress { shard.owns(row: row, fields: fields, stringTag: stringTag) } else { shard.owns(e, fields: fields) }
                if owns { owned.append(r) }
            }
        }
        if !owned.isEmpty { pending.push(slot: stored(&e, take: take, line: line), store: store.view, rules: owned) }
    }

    /// The rules of `readerList[rules]` that `e` may matter to, as a mask over their
    /// positions (bit k: the k-th; past the 64th, every rule takes every event): their
    /// prefilters let it through. Window rules take every event; a trace sees every
    /// event of its rules.
    private mutating func admitted(_ e: borrowing Event, rules: Range<Int>) -> UInt64 {
        let all = Self.all(rules.count)
        guard trace == nil, !prefilter.isEmpty else { return all }
        let s = Int(e.stream)
        var mask = all
        e.values.withUnsafeBufferPointer { row in
            guard let row = row.baseAddress else { return }
            for (k, i) in rules.prefix(64).enumerated() {
                let r = readerList[i]
                if r < matchers.count, !prefilter.admits(rule: r, stream: s, row) {
                    mask &= ~(1 << UInt64(k))
                    prefilterSkips += 1
                }
            }
        }
        return mask
    }

    /// The mask of `count` rules all admitted.
    private static func all(_ count: Int) -> UInt64 { count >= 64 ? .max : (1 << UInt64(count)) - 1 }

    /// Whether mask `admitted` admits the rule at position `k`.
    private static func has(_ admitted: UInt64, _ k: Int) -> Bool { k >= 64 || admitted & (1 << UInt64(k)) != 0 }

    /// Whether this shard matches `e` for rule `r` (a rule without key fields for the
    /// event's stream drops it in the first shard, as unsharded).
    private func owns(rule r: Int, _ e: Event) -> Bool {
        guard shard.count > 1 else { return true }
        guard let fields = ownerFields[r][Int(e.stream)] else { return shard.index == 0 }
        return shard.owns(e, fields: fields)
    }

    /// Sharded: tags the outputs `out[from...]`.
    private mutating func tag(_ out: [DetectorOutput], from start: Int, phase: Int32, time: Int64, kind: Int32, at: EventStamp) {
        guard shard.count > 1, start < out.count else { return }
        let t = OutputTag(step: step, phase: phase, time: time, kind: kind, at: at)
        for _ in start..<out.count { tags.append(t) }
    }

    /// An event behind its stream's watermark, or behind what some rule released: each
    /// rule that has not released past it still takes it in order; a window rule whose
    /// allowed lateness covers it takes it in as an update (emitting changed rows at
    /// once); for every other rule it is late.
    /// `reports` and `owns`: as `accept`'s.
    @inline(never) private mutating func acceptLate(_ e: Event, inPlace: Bool, into out: inout [DetectorOutput], reports: Bool, owns: Bool) {
        let s = Int(e.stream)
        advance(stream: s, to: e.ts)
        var rejectedAt = readers[s].isEmpty && flowReaders[s].isEmpty ? watermarks[s] : Int64.min
        var taken = false
        var updated = false
        var slot: Int32?
        for r in readers[s] {
            let w = max(released[r], watermarks[s])
            if e.ts >= w {
                if owns && self.owns(rule: r, e) {
                    if slot == nil { slot = stored(e) }
                    pending.push(slot: slot!, store: store.view, rules: CollectionOfOne(r))
                    drain(rule: r, inPlace: inPlace, into: &out)
                }
                taken = true
            } else if r >= matchers.count, e.ts >= w.minus(windowLatenessMs[r - matchers.count]) {
                if owns && self.owns(rule: r, e) {
                    let i = r - matchers.count
                    let before = out.count, heldBefore = windows[i].state.openGroups
                    windows[i].absorbLate(e, keyFields: windowKeySlots[i], watermark: w, into: &out)
                    tag(out, from: before, phase: Int32(1 + r), time: e.ts, kind: 0, at: EventStamp(e))
                    suppress(rule: r, &out, from: before)
                    count(out, from: before)
                    counters.openGroups += windows[i].state.openGroups - heldBefore
                    counters.peakOpenGroups = max(counters.peakOpenGroups, counters.openGroups)
                }
                taken = true
                updated = true
            } else {
                rejectedAt = max(rejectedAt, w)
            }
        }
        if taken || !flowReaders[s].isEmpty { counters.events += 1 }
        if updated { counters.lateAbsorbed += 1 }
        // Sharded, every shard makes the same decision (and counts it: the run's counts
        // are the first shard's); one reports it.
        if rejectedAt != Int64.min {
            counters.late += 1
        }
        if rejectedAt != Int64.min && reports {
            out.append(.late(e, watermark: rejectedAt))
            tag(out, from: out.count - 1, phase: OutputTag.latePhase, time: e.ts, kind: 0, at: EventStamp(e))
        }
    }

    /// Moves the stream's watermark when `ts` is its newest event time.
    private mutating func advance(stream s: Int, to ts: Int64) {
        if ts > maxTs[s] {
            maxTs[s] = ts
            watermarks[s] = ts.minus(latenessMs[s])
        }
    }

    /// Counts the alerts and rows of `out` from `start` on. (Read in place: iterating a
    /// slice copied each output, a count per reference an alert holds.)
    private mutating func count(_ out: [DetectorOutput], from start: Int) {
        out.withUnsafeBufferPointer { b in
            for i in start..<b.count {
                if case .alert = b[i] { counters.alerts += 1 } else if case .row = b[i] { counters.rows += 1 }
            }
        }
    }

    /// Moves every watermark to +infinity (end of a bounded input): releases every
    /// buffered event and fires every pending absence.
    public mutating func finish() -> [DetectorOutput] {
        for s in watermarks.indices {
            watermarks[s] = Int64.max
            idle[s] = false
        }
        var out: [DetectorOutput] = []
        if shard.count > 1 {
            tags.clearKeepingCapacity()
            step = Int64.max
        }
        for r in released.indices { drain(rule: r, inPlace: false, into: &out) }
        return out
    }

    /// Marks a quiet stream idle (its idle timeout passed in processing time): until its
    /// next event it no longer holds back the watermark of rules over several streams.
    /// An event it sends later that is behind what those rules released is late.
    public mutating func markIdle(stream s: Int) -> [DetectorOutput] {
        var out: [DetectorOutput] = []
        if shard.count > 1 {
            tags.clearKeepingCapacity()
            step += 1
        }
        guard !idle[s] else { return out }
        idle[s] = true
        for r in readers[s] { drain(rule: r, inPlace: false, into: &out) }
        return out
    }

    /// The minimum watermark over the rule's active streams (all idle: unchanged).
    @inline(__always) private func ruleWatermark(_ r: Int) -> Int64 {
        var w = Int64.max
        var any = false
        for s in ruleStreams[r] where !idle[s] {
            any = true
            if watermarks[s] < w { w = watermarks[s] }
        }
        return any ? max(w, released[r]) : released[r]
    }

    /// How many events ahead of the one being matched its rule's key bucket is
    /// prefetched: nearer than the reorder buffer's prefetch of the event's values
    /// (8), as a bucket is one load and needs no event.
    private static let bucketPrefetchDistance = 4

    /// Drops pattern rule `r`'s partial matches past their `within` at watermark `w`,
    /// when it has moved far enough since the last time.
    @inline(__always) private mutating func reclaim(rule r: Int, watermark w: Int64) {
        // Tested on every drain, so in two loads: the first time (`lastReclaim` min) the
        // difference saturates past any `reclaimEvery` but a rule without `within`'s.
        if w.minus(lastReclaim[r]) > reclaimEvery[r] { reclaimExpired(rule: r, watermark: w) }
    }

    /// `reclaim`, once its test passed.
    @inline(never) private mutating func reclaimExpired(rule r: Int, watermark w: Int64) {
        let openNow = matchers[r].stats.partialMatches
        let before = trace != nil ? matchers[r].keys(store).filter { trace!.watches($0.key) } : [:]
        matchers[r].reclaim(watermark: w)
        lastReclaim[r] = w
        for (key, attempts) in before {
            let after = Set(matchers[r].attempts(of: key, store: store).map(\.id))
            let gone = attempts.filter { !after.contains($0.id) }
            if !gone.isEmpty { trace!.log.append(.expired(gone, key: key, watermark: w)) }
        }
        counters.partialMatches += matchers[r].stats.partialMatches - openNow
    }

    /// Releases events with ts < the rule's watermark in event-time order, interleaved
    /// with absence deadlines (an event at the deadline is still inside the window).
    /// `inPlace`: alerts read their events from the store (`accept(taking:into:)`).
    private mutating func drain(rule r: Int, inPlace: Bool, into out: inout [DetectorOutput]) {
        let w = ruleWatermark(r)
        released[r] = w
        if r >= matchers.count {
            drainWindows(r, w, into: &out)
            return
        }
        // Nothing due before `w` (no event to release, no absence to fire): most drains
        // of a shard's time-only steps (`pass(stream:ts:into:)`), whose releases are
        // another shard's. The loop below would find nothing either.
        if pending.nextTs(rule: r).map({ $0 >= w }) ?? true, matchers[r].nextDeadline.map({ $0 >= w }) ?? true {
            reclaim(rule: r, watermark: w)
            suppressors.reclaim(rule: r, watermark: w)
            return
        }
        // The scratch array's capacity is reused: a new array per drain that matched
        // was an allocation per alert.
        var matches: [StoredMatch] = []
        swap(&matches, &scratchMatches)
        defer {
            matches.clearKeepingCapacity()
            swap(&matches, &scratchMatches)
        }
        let openBefore = matchers[r].stats.partialMatches
        // Draining adds no event, so the store stays where it is.
        let view = store.view
        // Most drains: the refs due arrived in order, and no absence falls among them.
        // They are matched where they wait, in one pass; the loop below takes the rest
        // (refs out of order, absences, a trace). A shard tags the matches the pass made.
        var general = true
        if trace == nil && pending.allInOrder(rule: r) {
            let tagged = matches.count
            let due = pending.dueInOrder(rule: r, before: w), end = pending.inOrderEnd(rule: r)
            let valuesAhead = ReorderBuffer.valuesPrefetchDistance, bucketAhead = Self.bucketPrefetchDistance + 1
            var i = due.lowerBound
            while i < due.upperBound {
                let ref = pending.inOrderRef(rule: r, at: i)
                // An absence due before this event fires first (the loop below).
                if let d = matchers[r].nextDeadline, d < ref.ts { break }
                if i + valuesAhead < end { view.prefetch(pending.inOrderRef(rule: r, at: i + valuesAhead).slot) }
                i += 1
                guard let slots = pending.keyFields.fields(rule: r, stream: Int(view.streams[Int(ref.slot)])) else { continue }
                let upcoming = i - 1 + bucketAhead < end ? pending.inOrderRef(rule: r, at: i - 1 + bucketAhead).hash : nil
                matchers[r].process(ref.slot, store: view, keyFields: slots, hash: ref.hash, prefetching: upcoming, into: &matches)
            }
            pending.dropInOrder(rule: r, upTo: i)
            if shard.count > 1 && matches.count > tagged { tagMatches(rule: r, from: tagged, matches, view) }
            general = i < due.upperBound || matchers[r].nextDeadline.map { $0 < w } ?? false
        }
        if general {
            while true {
                let next = pending.nextTs(rule: r).flatMap { $0 < w ? $0 : nil }
                let deadline = matchers[r].nextDeadline.flatMap { $0 < w ? $0 : nil }
                if next == nil && deadline == nil { break }
                if let ts = next, deadline == nil || ts <= deadline! {
                    let (slot, hash) = pending.pop(rule: r, store: view)
                    guard let slots = pending.keyFields.fields(rule: r, stream: Int(view.streams[Int(slot)])) else { continue }
                    let upcoming = pending.upcomingHash(rule: r, ahead: Self.bucketPrefetchDistance)
                    if trace == nil && shard.count == 1 {
                        matchers[r].process(slot, store: view, keyFields: slots, hash: hash, prefetching: upcoming, into: &matches)
                    } else {
                        if let upcoming { matchers[r].prefetch(hash: upcoming) }
                        processTraced(rule: r, slot, view, keyFields: slots, hash: hash, into: &matches)
                    }
                } else {
                    fireAbsences(rule: r, before: next ?? w, view, into: &matches)
                }
            }
        }
        counters.partialMatches += matchers[r].stats.partialMatches - openBefore
        counters.peakPartialMatches = max(counters.peakPartialMatches, counters.partialMatches)
        reclaim(rule: r, watermark: w)
        if !matches.isEmpty { emit(rule: r, &matches, inPlace: inPlace, into: &out) }
        suppressors.reclaim(rule: r, watermark: w)
    }

    // The release loop's rarer paths, kept out of it (`@inline(never)`): inlined, they
    // made `drain` 11 KB of code, and its common path spilled more around them (about 40
    // instructions per event, with `accept`'s and `process`'s).

    /// `PatternMatcher.process` with a trace or shards: the trace's log, the shards' tags.
    @inline(never) private mutating func processTraced(rule r: Int, _ slot: Int32, _ view: StoreView, keyFields slots: UnsafeBufferPointer<Int>,
                                                       hash: Int, into matches: inout [StoredMatch]) {
        let n = matches.count
        if trace != nil, case let key = slots.map({ store.row(slot)[$0] }), trace!.watches(key) {
            let before = matchers[r].attempts(of: key, store: store)
            matchers[r].process(slot, store: view, keyFields: slots, hash: hash, into: &matches)
            trace!.log.append(.event(store.event(slot), key: key, before: before, after: matchers[r].attempts(of: key, store: store),
                                     matches: matches[n...].map { $0.match(rule: r, view) }))
        } else {
            matchers[r].process(slot, store: view, keyFields: slots, hash: hash, into: &matches)
        }
        if shard.count > 1 && matches.count > n { tagMatches(rule: r, from: n, matches, view) }
    }

    /// The shards' tags of `matches[from...]`, made by `process`: each by the event it was
    /// made on (`process` makes matches only on the event it takes, their `trigger`).
    @inline(never) private mutating func tagMatches(rule r: Int, from: Int, _ matches: [StoredMatch], _ view: StoreView) {
        for m in matches[from...] {
            let at = view.stamp(m.trigger)
            matchTags.append(OutputTag(step: step, phase: Int32(1 + r), time: at.ts, kind: 0, at: at))
        }
    }

    /// Rule `r`'s absences due before `time`, into `matches` (tagged, traced).
    @inline(never) private mutating func fireAbsences(rule r: Int, before time: Int64, _ view: StoreView, into matches: inout [StoredMatch]) {
        let n = matches.count
        matchers[r].fireAbsences(before: time, store: view, into: &matches)
        if shard.count > 1 {
            for m in matches[n...] {
                let first = m.slots.first.map { view.stamp($0.slot) } ?? EventStamp(ts: m.detectedAt, input: 0, line: 0)
                matchTags.append(OutputTag(step: step, phase: Int32(1 + r), time: m.detectedAt, kind: 1, at: first))
            }
        }
        if trace != nil {
            for m in matches[n...] where trace!.watches(m.key) { trace!.log.append(.absence(m.match(rule: r, view))) }
        }
    }

    /// Rule `r`'s `matches` as alerts (and detection rows) into `out`.
    @inline(never) private mutating func emit(rule r: Int, _ matches: inout [StoredMatch], inPlace: Bool, into out: inout [DetectorOutput]) {
        if matchers[r].hasHandedOn { recycling.append(r) }
        let view = store.view
        let first = out.count
        // Read through a box: a copy out of the program retained each of its fields.
        let box = ruleBoxes[r]
        let hasAlert = box.rule.hasAlert
        for k in matches.indices where hasAlert || box.rule.rows != nil {
            let before = out.count
            if let rows = box.rule.rows {
                // Every match is a row of the detections table; suppression is about alerts.
                let alert = matches[k].alert(box.rule, box.source, store, view, inPlace: inPlace)
                out.append(.row(matches[k].detectionRow(alert, rows, view)))
                if hasAlert { out.append(.alert(consume alert)) }
            } else {
                // Made in its place (the match read in place, the alert never a local:
                // a copy of each, and their releases, per alert).
                out.append(.alert(matches[k].alert(box.rule, box.source, store, view, inPlace: inPlace)))
            }
            if shard.count > 1 { for _ in before..<out.count { tags.append(matchTags[k]) } }
        }
        matchTags.clearKeepingCapacity()
        suppress(rule: r, &out, from: first)
        count(out, from: first)
    }

    /// Releases events below the watermark into a window rule, closing each group once
    /// the watermark reaches its end (a group closes before an event at its end time).
    private mutating func drainWindows(_ r: Int, _ w: Int64, into out: inout [DetectorOutput]) {
        let i = r - matchers.count
        let before = out.count
        let heldBefore = windows[i].state.openGroups
        defer {
            counters.openGroups += windows[i].state.openGroups - heldBefore
            counters.peakOpenGroups = max(counters.peakOpenGroups, counters.openGroups)
        }
        while true {
            let next = pending.nextTs(rule: r).flatMap { $0 < w ? $0 : nil }
            let deadline = windows[i].nextDeadline.flatMap { $0 <= w ? $0 : nil }
            if next == nil && deadline == nil { break }
            if let d = deadline, next == nil || d <= next! {
                if shard.count > 1 {
                    var closed: [WindowOperator.Closed]? = []
                    windows[i].close(upTo: next.map { min($0, w) } ?? w, into: &out, recording: &closed)
                    for c in closed! {
                        for _ in 0..<c.outputs { tags.append(OutputTag(step: step, phase: Int32(1 + r), time: c.deadline, kind: 0, at: c.first)) }
                    }
                } else {
                    windows[i].close(upTo: next.map { min($0, w) } ?? w, into: &out)
                }
            } else if next != nil {
                let slot = pending.pop(rule: r, store: store.view).slot
                let row = store.row(slot)
                windowKeySlots[i].withUnsafeBufferPointer { fields in
                    windows[i].process(EventPlace(ts: store.times[Int(slot)], origin: store.origins[Int(slot)], row: row), keyFields: fields)
                }
            }
        }
        suppress(rule: r, &out, from: before)
        count(out, from: before)
        suppressors.reclaim(rule: r, watermark: w)
    }
}

/// What copies of a detector share while they share its store (see `makeRoom`).
private final class StoreOwner: Sendable {}

/// A rule in a class: its `let` is read in place, where a struct's copy retained each field.
private final class RuleBox: Sendable {
    let rule: PatternRule
    /// What its alerts share.
    let source: AlertSource
    init(_ rule: PatternRule) {
        self.rule = rule
        source = AlertSource(rule)
    }
}
