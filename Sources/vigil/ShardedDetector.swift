import Foundation
import VigilConnectors
import VigilRuntime

/// `vigil run --threads N`: the detector sharded by key over N threads. Every thread
/// sees every event's time (so all keep the same watermarks and lateness decisions) and
/// matches the keys it owns; `ShardMerger` puts their outputs back into the order one
/// detector emits them. The reading thread splits the next batch of lines while the
/// shards decode and match the last ones, and merges and writes what they finished.
///
/// A line is decoded by the shards that own its key (`ShardRouter` finds them from the
/// line's bytes, when it can; otherwise every shard decodes it). In each batch the
/// shards first decode their lines, and the one that reports a line (the first that
/// decodes it) publishes its time, or that it is no event; then each runs its detector
/// over the whole batch in order, the others' events as their times alone
/// (`Detector.pass(stream:ts:into:)`). Decoding every line in every shard was a third
/// of each shard's work, and left a second thread no faster than one.
///
/// Decoding on the reading thread instead made an event per line that every shard
/// shared (an allocation, and a copy into each shard's store), and left the reading
/// thread, which also writes every alert, the slowest of all.
final class ShardedDetector: @unchecked Sendable {
    enum Command: Sendable {
        /// Line `number` of input `input` (its bytes in the batch's `raw`): one step,
        /// whatever it decodes to.
        case line(input: Int32, number: Int64)
        /// A line dead-lettered as it was read (over the size limit; the batch's
        /// `deadLetters[i]`): one step. (Commands hold no references: copying one is free.)
        case deadLetter(Int)
        case idle(Int)
        case finish
        /// Every shard snapshots its detector here (for a checkpoint); not a step.
        case snapshot
    }

    /// Every shard's state at one point of the input, with the merge's: what a
    /// checkpoint keeps of a sharded run, and restores with as many threads.
    struct Snapshot: Sendable {
        /// Commands the detectors had taken (their outputs' steps go on from there).
        var steps: Int64
        var merger: [UInt8]
        var shards: [[UInt8]]
        /// Lines read of each input when it was taken (the caller's `position`).
        var lines: [Int64]
    }

    /// A span of input, shared read-only by every shard.
    final class Batch: @unchecked Sendable {
        var commands: [Command] = []
        /// The raw line of each command (late events are written as they came): `rawCount`
        /// bytes at `rawBase`, copied in by `append` (an array's `append(contentsOf:)` cost
        /// about 70 instructions a line besides the copy).
        private(set) var rawBase: UnsafeMutablePointer<UInt8>
        private(set) var rawCount = 0
        private var rawCapacity: Int
        /// The batch's bytes, in place (they stay where they are once the batch is sealed).
        var raw: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: rawBase, count: rawCount) }

        /// Copies `line` in; returns where it is.
        @inline(__always) func append(_ line: UnsafeBufferPointer<UInt8>) -> Range<Int> {
            let start = rawCount
            if start + line.count > rawCapacity { grow(start + line.count) }
            if let p = line.baseAddress { (rawBase + start).update(from: p, count: line.count) }
            rawCount = start + line.count
            return start..<rawCount
        }

        private func grow(_ needed: Int) {
            let capacity = max(needed, 2 * rawCapacity)
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            p.update(from: rawBase, count: rawCount)
            rawBase.deallocate()
            rawBase = p
            rawCapacity = capacity
        }
        var ranges: [Range<Int>] = []
        var deadLetters: [DeadLetter] = []
        /// Per command: the shards that decode its line (bit i: shard i); the lowest
        /// reports it. Every shard, for a command that is no line.
        var routes: [UInt64] = []
        /// Per shard, per command it reports the line of: what it published while
        /// decoding, read by the others after every shard has (`decoded`): the line's
        /// event's stream and time, or that it is none. (One buffer per shard: shards
        /// writing alternate entries of one buffer wrote to each other's cache lines.)
        private(set) var published: [UnsafeMutableBufferPointer<Published>] = []
        /// `commands`, `routes` and `ranges` as the shards read them (from `seal` on):
        /// reading the arrays from several threads changed their reference counts from
        /// all of them, per command.
        private(set) var frozen: (commands: UnsafeMutableBufferPointer<Command>, routes: UnsafeMutableBufferPointer<UInt64>,
                                  ranges: UnsafeMutableBufferPointer<Range<Int>>)?
        private let decodedLock = NSCondition()
        private var decodedShards = 0
        /// The step of the first command (steps count commands from 1, as the detectors do).
        let firstStep: Int64
        /// Where the input stood at its `.snapshot` command (always its last), if it has one.
        var position: [Int64]?
        /// That snapshot was asked for (`requestSnapshot`), not placed by `stop`/`finish`.
        var requested = false

        /// `commands`: room for that many commands; `bytes`: for that many bytes of lines
        /// (growing them as lines came copied the batch's bytes about once more).
        init(firstStep: Int64, commands count: Int = 0, bytes: Int = 0) {
            self.firstStep = firstStep
            commands.reserveCapacity(count)
            routes.reserveCapacity(count)
            ranges.reserveCapacity(count)
            rawCapacity = max(bytes, 64)
            rawBase = .allocate(capacity: rawCapacity)
        }

        deinit {
            rawBase.deallocate()
            for p in published { p.deallocate() }
            if let frozen {
                frozen.commands.deallocate()
                frozen.routes.deallocate()
                frozen.ranges.deallocate()
            }
        }

        /// Ends the batch (nothing is added after): what the shards read, and room for
        /// what they publish.
        func seal(shards: Int) {
            func copy<T>(_ a: [T]) -> UnsafeMutableBufferPointer<T> {
                let p = UnsafeMutableBufferPointer<T>.allocate(capacity: a.count)
                _ = p.initialize(from: a)
                return p
            }
            frozen = (copy(commands), copy(routes), copy(ranges))
            published = (0..<shards).map { _ in
                let p = UnsafeMutableBufferPointer<Published>.allocate(capacity: commands.count)
                p.initialize(repeating: Published(ts: 0, stream: -1, missing: 0))
                return p
            }
        }

        /// A shard has decoded (and published) its lines; waits until every one of
        /// `shards` has.
        func decoded(shards: Int) {
            decodedLock.lock()
            decodedShards += 1
            if decodedShards == shards {
                decodedLock.broadcast()
            } else {
                while decodedShards < shards { decodedLock.wait() }
            }
            decodedLock.unlock()
        }
    }

    /// What the shard that reports a line tells the others: an event of `stream` at
    /// `ts`, or (stream -1) no event; and the shards the route left out that own a key
    /// of it (`ShardRouter.owners(of:)`), which decode it after all.
    struct Published {
        var ts: Int64
        var stream: Int32
        var missing: UInt64
    }

    struct Result: Sendable {
        /// The lines this shard reports that decoded to a dead letter, by command, in
        /// command order. (What the others were, `Batch.published` says.)
        var deadLetters: [(command: Int, DeadLetter)] = []
        /// The events of the lines it reports, when the run keeps events (bronze rows).
        var events: [Event] = []
        var outputs: [DetectorOutput] = []
        var tags: [OutputTag] = []
        var released: [Int64] = []
        var stats: DetectorStats
        /// The detector's snapshot at the batch's `.snapshot` (nil: none, or it failed).
        var snapshot: [UInt8]?
    }

    /// One shard: its detector, the batches it has to do and the results it finished.
    /// Its detector and decoders are built from a program of its own: what they count
    /// references to per event (schemas, plans, names) no other thread touches.
    final class Worker: @unchecked Sendable {
        let initial: Detector
        let decoders: [LineDecoder]
        /// Per input, as the reading thread's (see `ShardedDetector.routers`).
        let routers: [ShardRouter?]
        let index: Int
        let shards: Int
        let keepsEvents: Bool
        /// Per rule (pattern rules, then windows): its alerts' matched events are written
        /// here (see `Alert.detach`), not copied.
        let writesMatched: [Bool]
        /// Some rule's alerts are written here, whole: events keep their canonical lines
        /// for them (see `Detector.accept(taking:into:line:)`).
        var keepsLines: Bool { writesMatched.contains(true) }
        let streams: [StreamSchema]
        let lock = NSCondition()
        var inbox: [Batch?] = []
        var outbox: [Result] = []

        init(detector: Detector, program: Program, decoders: [LineDecoder], routers: [ShardRouter?], index: Int, shards: Int,
             keepsEvents: Bool, writesMatched: Bool) {
            self.routers = routers
            self.initial = detector
            self.writesMatched = program.suppressionReadsMatched.map { writesMatched && !$0 }
            self.streams = program.streams
            self.decoders = decoders
            self.index = index
            self.shards = shards
            self.keepsEvents = keepsEvents
        }

        /// A line this shard decoded: into `events[k]` (canonical: see
        /// `Detector.accept(taking:into:line:)`), or to no event.
        private enum Decoded {
            case event(Int, canonical: Bool)
            case none
        }

        func run() {
            // Locals, not properties: no exclusivity check per call.
            var detector = initial
            var decoders = decoders
            var out: [DetectorOutput] = []
            let bit: UInt64 = 1 << UInt64(index)
            // The batch's lines this shard decodes, in order, and their events (whose
            // storage the store hands back as it takes their values).
            var decoded: [Decoded] = []
            var events: [Event] = []
            var alertBytes = AlertBytes(capacity: 0)
            while true {
                lock.lock()
                while inbox.isEmpty { lock.wait() }
                let next = inbox.removeFirst()
                lock.unlock()
                guard let batch = next else { return }
                var r = Result(stats: detector.stats)
                // The batch's alerts write their `matched` arrays here (see `Alert.detach`),
                // with room for what the last batch's wrote.
                if keepsLines { alertBytes = AlertBytes(capacity: max(4 << 10, alertBytes.count + alertBytes.count / 4)) }
                decoded.removeAll(keepingCapacity: true)
                let (commands, routes, ranges) = batch.frozen!
                let published = batch.published, mine = published[index]
                withExtendedLifetime(batch) {
                    let raw = batch.raw
                    // First this shard's lines: decoded, and published where it reports them.
                    var k = 0
                    for j in commands.indices {
                        guard case .line(let input, let number) = commands[j], routes[j] & bit != 0 else { continue }
                        let reports = routes[j].trailingZeroBitCount == index
                        if k == events.count { events.append(Event(stream: 0, ts: 0, origin: EventOrigin(input: 0, line: 0), values: [])) }
                        let line = UnsafeBufferPointer(rebasing: raw[ranges[j]])
                        var canonical = false
                        let outcome = decoders[Int(input)].decode(line, number: number) { e, c in
                            swap(&events[k], &e)
                            canonical = c
                        }
                        switch outcome {
                        case .event:
                            if reports {
                                if keepsEvents { r.events.append(events[k]) }
                                // A canonical line (see `FlatJSONScanner.scan(_:into:canonical:)`)
                                // cannot mislead the route: a `"name":` in it is its member (no
                                // string in it has a quote), and its value is as read.
                                let owners = canonical ? 0 : routers[Int(input)]?.owners(of: events[k].values) ?? 0
                                mine[j] = Published(ts: events[k].ts, stream: events[k].stream, missing: owners & ~routes[j])
                            }
                            decoded.append(.event(k, canonical: canonical))
                            k += 1
                        case .deadLetter(let d):
                            if reports { r.deadLetters.append((j, d)) }
                            decoded.append(.none)
                        case .none:
                            decoded.append(.none)
                        }
                    }
                    batch.decoded(shards: shards)
                    // Then every command in order.
                    var next = 0
                    for j in commands.indices {
                        switch commands[j] {
                        case .line(let input, let number):
                            let route = routes[j]
                            if route & bit != 0 {
                                let d = decoded[next]
                                next += 1
                                guard case .event(let k, let canonical) = d else {
                                    detector.pass()
                                    out.removeAll(keepingCapacity: true)
                                    break
                                }
                                let line = canonical && keepsLines ? UnsafeBufferPointer(rebasing: raw[ranges[j]]) : nil
                                // Its values move into the store; its alerts read theirs in
                                // place, until `detach` below.
                                detector.accept(taking: &events[k], into: &out, line: line, reports: route.trailingZeroBitCount == index)
                            } else {
                                let p = published[route.trailingZeroBitCount][j]
                                if p.missing & bit != 0 {
                                    // The route missed this shard: it decodes the line now.
                                    let line = UnsafeBufferPointer(rebasing: raw[ranges[j]])
                                    _ = decoders[Int(input)].decode(line, number: number) { e, canonical in
                                        detector.accept(taking: &e, into: &out, line: canonical && keepsLines ? line : nil, reports: false)
                                    }
                                } else if p.stream >= 0 {
                                    detector.pass(stream: Int(p.stream), ts: p.ts, into: &out)
                                } else {
                                    detector.pass()
                                    out.removeAll(keepingCapacity: true)
                                }
                            }
                        case .deadLetter:
                            detector.pass()
                            out.removeAll(keepingCapacity: true)
                        case .idle(let s): out = detector.markIdle(stream: s)
                        case .finish: out = detector.finish()
                        case .snapshot:
                            r.snapshot = try? detector.snapshot()
                            out.removeAll(keepingCapacity: true)
                        }
                        if !out.isEmpty {
                            let tags = detector.tags
                            for i in out.indices {
                                var o = DetectorOutput.take(&out[i])
                                if case .alert(var a) = o {
                                    o = DetectorOutput.movedOut  // `a` holds the alert alone
                                    a.detach(writingMatchedFor: writesMatched[Int(tags[i].phase) - 1] ? streams : nil, into: alertBytes)
                                    r.outputs.append(.alert(a))
                                } else {
                                    r.outputs.append(o)
                                }
                            }
                            out.removeAll(keepingCapacity: true)
                            r.tags += tags
                        }
                    }
                }
                r.released = detector.releasedWatermarks
                r.stats = detector.stats
                lock.lock()
                outbox.append(r)
                lock.broadcast()
                lock.unlock()
            }
        }

        func submit(_ b: Batch?) {
            lock.lock()
            inbox.append(b)
            lock.broadcast()
            lock.unlock()
        }

        func takeResult() -> Result {
            lock.lock()
            while outbox.isEmpty { lock.wait() }
            let r = outbox.removeFirst()
            lock.unlock()
            return r
        }
    }

    /// Takes one merged output, with the raw line of its event for a late one.
    typealias Emit = (consuming DetectorOutput, UnsafeBufferPointer<UInt8>?) -> Void

    private let workers: [Worker]
    /// `before` is called with each event (see `init`).
    private let keepsEvents: Bool
    /// Per input: which shards decode each of its lines (nil: all of them).
    private var routers: [ShardRouter?]
    private let everyShard: UInt64
    private var merger: ShardMerger
    private var current: Batch
    private var inFlight: [Batch] = []
    private var step: Int64 = 1
    /// A flow's `fail` was handed on: nothing after it is.
    private var ended = false
    private var lastStats: [DetectorStats]
    /// Events per batch, and batches the shards may be behind the reader.
    private let batchSize = 1024
    private let depth = 3
    /// The outputs of the batch being handed on, by shard, and where each merged one is,
    /// in order (each moved out as it is handed on).
    private var outputs: [[DetectorOutput]] = []
    private var merged: [ShardMerger.Place] = []
    /// Lines handed to the shards, and events among them merged so far.
    private(set) var linesAdded = 0
    private(set) var eventsMerged = 0

    /// Where the input stands (lines read of each input), asked when a snapshot is placed.
    var position: () -> [Int64] = { [] }
    /// The last snapshot taken (nil also when a shard could not take its part).
    private(set) var taken: Snapshot?
    /// The step after which the snapshot asked for goes, and whether one is on its way.
    private var snapshotAt: Int64?, snapshotPending = false
    /// The step whose outputs are being handed on.
    private var handing: Int64 = 0
    /// How far past the step being handed on a snapshot asked for goes: beyond any
    /// command read yet (the reader is at most `depth + 1` batches ahead), and the same
    /// distance in every run, so that a run resumed from a checkpoint commits where the
    /// run it resumes did.
    private var snapshotLead: Int64 { Int64((depth + 2) * batchSize) }

    /// `restoring`: the shards' state from a checkpoint (taken with `threads` threads).
    /// One shard per program of `shards` (each compiled from the rules of `program`, and
    /// its own: see `Worker`). `sources`: the inputs, by index. `keepsEvents`: `before`
    /// is called with each event (for bronze rows), which costs a copy of every event.
    /// `writesMatched`: alert lines carry every field of the matched events (the shards
    /// write them: see `Alert.detach`).
    init(program: Program, shards programs: [Program], references: [ReferenceTable], partialMatchesPerKey: Int, keysPerRule: Int,
         sources: [EventSource], keepsEvents: Bool, writesMatched: Bool, restoring: Snapshot? = nil) throws {
        let threads = programs.count
        // Each thread its own (built from its own program): routers shared between
        // threads had their arrays' counts changed from both, per line.
        func routers(_ program: Program) -> [ShardRouter?] {
            sources.map { source in
                guard source.format == .jsonl, let s = source.stream else { return nil }
                return ShardRouter(program: program, stream: s, shards: threads)
            }
        }
        self.routers = routers(program)
        self.keepsEvents = keepsEvents
        everyShard = ShardRouter.all(threads)
        workers = try (0..<threads).map { i in
            let program = programs[i]
            let decoders = sources.map { LineDecoder($0, schemas: program.streams) }
            let shard = Shard(i, of: threads)
            if let restoring {
                var d = try Detector(program: program, restoring: restoring.shards[i], references: references,
                                     partialMatchesPerKey: partialMatchesPerKey, keysPerRule: keysPerRule, shard: shard, steps: restoring.steps)
                d.resetRunCounters()
                return Worker(detector: d, program: program, decoders: decoders, routers: routers(program), index: i, shards: threads, keepsEvents: keepsEvents, writesMatched: writesMatched)
            }
            return Worker(detector: Detector(program: program, references: references, partialMatchesPerKey: partialMatchesPerKey,
                                             keysPerRule: keysPerRule, shard: shard),
                          program: program, decoders: decoders, routers: routers(program), index: i, shards: threads, keepsEvents: keepsEvents, writesMatched: writesMatched)
        }
        merger = try restoring.map { try ShardMerger(program: program, restoring: $0.merger) } ?? ShardMerger(program: program)
        step = (restoring?.steps ?? 0) + 1
        current = Batch(firstStep: step)
        lastStats = workers.map { $0.initial.stats }
        for w in workers {
            let t = Thread { w.run() }
            t.name = "vigil-shard"
            t.start()
        }
    }

    /// Takes line `number` of input `input` (not blank); hands on what earlier batches
    /// caused (see `collect`).
    func accept(line: UnsafeBufferPointer<UInt8>, number: Int64, input: Int32, before: (Event) -> Void, output: Emit, after: (Int64) -> Void, deadLetter: (DeadLetter) -> Void, snapshotTaken: () -> Void) {
        linesAdded += 1
        add(.line(input: input, number: number), raw: line, route: routers[Int(input)]?.route(line) ?? everyShard)
        endBatchIfDue(before: before, output: output, after: after, deadLetter: deadLetter, snapshotTaken: snapshotTaken)
    }

    /// Takes a line dead-lettered as it was read: it goes out in input order.
    func accept(deadLetter d: DeadLetter, before: (Event) -> Void, output: Emit, after: (Int64) -> Void, deadLetter: (DeadLetter) -> Void, snapshotTaken: () -> Void) {
        linesAdded += 1
        current.deadLetters.append(d)
        add(.deadLetter(current.deadLetters.count - 1), raw: nil)
        endBatchIfDue(before: before, output: output, after: after, deadLetter: deadLetter, snapshotTaken: snapshotTaken)
    }

    private func endBatchIfDue(before: (Event) -> Void, output: Emit, after: (Int64) -> Void, deadLetter: (DeadLetter) -> Void, snapshotTaken: () -> Void) {
        // A snapshot asked for ends its batch at the step it was set for.
        if let at = snapshotAt, step > at {
            placeSnapshot(requested: true)
            snapshotAt = nil
        }
        if current.commands.count >= batchSize || current.position != nil { submit(before: before, output: output, after: after, deadLetter: deadLetter, snapshotTaken: snapshotTaken) }
    }

    func markIdle(stream s: Int) {
        add(.idle(s), raw: nil)
    }

    /// Ends the input: every shard finishes, and everything left is merged and emitted.
    /// The threads end. `snapshot`: the shards snapshot before finishing (`taken`).
    func finish(snapshot: Bool = false, before: (Event) -> Void, output: Emit, after: (Int64) -> Void, deadLetter: (DeadLetter) -> Void, snapshotTaken: () -> Void) {
        if snapshot {
            // In a batch of its own: the merge's state must not include the flush.
            placeSnapshot(requested: false)
            submit(before: before, output: output, after: after, deadLetter: deadLetter, snapshotTaken: snapshotTaken)
        }
        add(.finish, raw: nil)
        stop(before: before, output: output, after: after, deadLetter: deadLetter, snapshotTaken: snapshotTaken)
    }

    /// Merges and emits what was submitted, then ends the threads (a stop without finish).
    /// `snapshot`: the shards snapshot where they stop (`taken`).
    func stop(snapshot: Bool = false, before: (Event) -> Void, output: Emit, after: (Int64) -> Void, deadLetter: (DeadLetter) -> Void, snapshotTaken: () -> Void) {
        if snapshot && current.position == nil { placeSnapshot(requested: false) }
        settle(before: before, output: output, after: after, deadLetter: deadLetter, snapshotTaken: snapshotTaken)
        for w in workers { w.submit(nil) }
    }

    /// The run's counters as one detector would report them (peaks: the sum of the shards').
    var stats: DetectorStats { merger.stats(lastStats) }
    var suppressedUnreported: Int { merger.suppressedUnreported }
    /// A flow's `fail` was merged: the input must stop.
    var stopped: Bool { merger.stopped }

    private func add(_ c: Command, raw: UnsafeBufferPointer<UInt8>?, route: UInt64? = nil) {
        // Read once: each read of the property retained the batch.
        let b = current
        b.commands.append(c)
        b.routes.append(route ?? everyShard)
        b.ranges.append(raw.map { b.append($0) } ?? b.rawCount..<b.rawCount)
        step += 1
    }

    /// Every shard's state now, before any input (the state a run starts from).
    func snapshotNow() -> Snapshot? {
        precondition(inFlight.isEmpty && current.commands.isEmpty, "a snapshot before any input")
        placeSnapshot(requested: false)
        settle(before: { _ in }, output: { _, _ in }, after: { _ in }, deadLetter: { _ in }, snapshotTaken: {})
        return taken
    }

    /// Submits what was read and hands on everything it causes; the shards go on.
    func settle(before: (Event) -> Void, output: Emit, after: (Int64) -> Void, deadLetter: (DeadLetter) -> Void, snapshotTaken: () -> Void) {
        if !current.commands.isEmpty { submit(before: before, output: output, after: after, deadLetter: deadLetter, snapshotTaken: snapshotTaken) }
        while !inFlight.isEmpty { collect(before: before, output: output, after: after, deadLetter: deadLetter, snapshotTaken: snapshotTaken) }
    }

    /// Moves merged output `k` out.
    private func takeMerged(_ k: Int) -> DetectorOutput {
        let p = merged[k]
        return DetectorOutput.take(&outputs[Int(p.shard)][Int(p.index)])
    }

    /// Asks, while outputs are handed on, for a snapshot a fixed number of steps later
    /// (one at a time): the shards are ahead of what is handed on, so it cannot be here.
    func requestSnapshot() {
        guard !snapshotPending else { return }
        snapshotAt = handing + snapshotLead
        snapshotPending = true
    }

    /// Ends the batch being read with a snapshot.
    private func placeSnapshot(requested: Bool) {
        current.commands.append(.snapshot)
        current.routes.append(everyShard)
        current.ranges.append(current.rawCount..<current.rawCount)
        current.position = position()
        current.requested = requested
    }

    private func submit(before: (Event) -> Void, output: Emit, after: (Int64) -> Void, deadLetter: (DeadLetter) -> Void, snapshotTaken: () -> Void) {
        let b = current
        b.seal(shards: workers.count)
        for w in workers { w.submit(b) }
        inFlight.append(b)
        // Room for a batch's commands (and the snapshot that may end it), and for as many
        // bytes as the last one had, with a margin.
        current = Batch(firstStep: step, commands: batchSize + 2, bytes: b.rawCount + b.rawCount / 4)
        while inFlight.count > depth { collect(before: before, output: output, after: after, deadLetter: deadLetter, snapshotTaken: snapshotTaken) }
    }

    /// Waits for the oldest batch in every shard, merges it and hands it on in input
    /// order, as one detector would have produced it: `before` and `after` each event
    /// (bronze rows, when it keeps events; commits, with the event's time), `output` for
    /// each output (with the raw line of its event, for late ones), `deadLetter` for each
    /// line that is no event, `snapshotTaken` when a snapshot asked for is taken (`taken`), everything
    /// before it handed on and nothing after it.
    private func collect(before: (Event) -> Void, output: Emit, after: (Int64) -> Void, deadLetter: (DeadLetter) -> Void, snapshotTaken: () -> Void) {
        let b = inFlight.removeFirst()
        var results = workers.map { $0.takeResult() }
        lastStats = results.map(\.stats)
        guard !ended else { return }
        merged.removeAll(keepingCapacity: true)
        // Moved out of the results (sharing them, moving each out would copy them all).
        outputs = results.indices.map { i in
            let o = results[i].outputs
            results[i].outputs = []
            return o
        }
        merger.merge(&outputs, tags: results.map(\.tags)) { merged.append($0) }
        merger.reclaim(released: results[0].released)
        var k = 0
        // Where each shard's reports stand (its dead letters and events, in command order).
        var nextDead = Array(repeating: 0, count: results.count), nextEvent = nextDead
        // A closure, so that a flow's `fail` below returns from it alone.
        withExtendedLifetime(b) {
            let raw = b.raw
            for j in b.commands.indices {
                let step = b.firstStep + Int64(j)
                // What the command was, as the shard that reports it says.
                var ts: Int64?
                switch b.commands[j] {
                case .line:
                    let r = b.routes[j].trailingZeroBitCount, p = b.published[r][j]
                    if p.stream >= 0 {
                        ts = p.ts
                        if keepsEvents {
                            before(results[r].events[nextEvent[r]])
                            nextEvent[r] += 1
                        }
                    } else if nextDead[r] < results[r].deadLetters.count, results[r].deadLetters[nextDead[r]].command == j {
                        deadLetter(results[r].deadLetters[nextDead[r]].1)
                        nextDead[r] += 1
                    }
                case .deadLetter(let i): deadLetter(b.deadLetters[i])
                default: break
                }
                while k < merged.count, merged[k].tag.step == step {
                    let o = takeMerged(k)
                    k += 1
                    var stops = false, late = false
                    switch o {
                    case .stopped: stops = true
                    case .late: late = true
                    default: break
                    }
                    output(consume o, late ? UnsafeBufferPointer(rebasing: raw[b.ranges[j]]) : nil)
                    // A flow's `fail`: nothing after it happens.
                    if stops {
                        ended = true
                        return
                    }
                }
                handing = step
                if let ts {
                    eventsMerged += 1
                    after(ts)
                }
            }
        }
        // What `finish` released.
        while !ended && k < merged.count {
            output(takeMerged(k), nil)
            k += 1
        }
        if let position = b.position {
            // The snapshot is the batch's last command and not a step: the detectors had
            // taken every command before it. After a flow's `fail` none stands (the
            // shards went on past the failing event).
            let shards = results.compactMap(\.snapshot)
            if !ended, shards.count == results.count, let m = try? merger.snapshot() {
                taken = Snapshot(steps: b.firstStep + Int64(b.commands.count) - 2, merger: m, shards: shards, lines: position)
            } else {
                taken = nil
            }
            if b.requested {
                snapshotPending = false
                if !ended { snapshotTaken() }
            }
        }
    }
}
