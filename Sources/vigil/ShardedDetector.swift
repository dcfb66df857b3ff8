import Foundation
import VigilRuntime

/// `vigil run --threads N`: the detector sharded by key over N threads. Every thread
/// sees every event (so all keep the same watermarks and lateness decisions) and
/// matches the keys it owns; `ShardMerger` puts their outputs back into the order one
/// detector emits them. The reading thread decodes the next batch while the shards
/// match the last ones, and merges and writes what they finished.
final class ShardedDetector: @unchecked Sendable {
    enum Command: Sendable {
        case event(Event)
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
        /// The raw line of each command (late events are written as they came).
        var raw: [UInt8] = []
        var ranges: [Range<Int>] = []
        /// The step of the first command (steps count commands from 1, as the detectors do).
        let firstStep: Int64
        /// Where the input stood at its `.snapshot` command (always its last), if it has one.
        var position: [Int64]?
        /// That snapshot was asked for (`requestSnapshot`), not placed by `stop`/`finish`.
        var requested = false

        init(firstStep: Int64) { self.firstStep = firstStep }
    }

    struct Result: Sendable {
        var outputs: [DetectorOutput] = []
        var tags: [OutputTag] = []
        var released: [Int64] = []
        var stats: DetectorStats
        /// The detector's snapshot at the batch's `.snapshot` (nil: none, or it failed).
        var snapshot: [UInt8]?
    }

    /// One shard: its detector, the batches it has to do and the results it finished.
    final class Worker: @unchecked Sendable {
        let initial: Detector
        let lock = NSCondition()
        var inbox: [Batch?] = []
        var outbox: [Result] = []

        init(detector: Detector) { self.initial = detector }

        func run() {
            // A local, not a property: no exclusivity check per call.
            var detector = initial
            while true {
                lock.lock()
                while inbox.isEmpty { lock.wait() }
                let next = inbox.removeFirst()
                lock.unlock()
                guard let batch = next else { return }
                var r = Result(stats: detector.stats)
                for c in batch.commands {
                    let o: [DetectorOutput]
                    switch c {
                    case .event(let e): o = detector.accept(e)
                    case .idle(let s): o = detector.markIdle(stream: s)
                    case .finish: o = detector.finish()
                    case .snapshot:
                        r.snapshot = try? detector.snapshot()
                        continue
                    }
                    if !o.isEmpty {
                        r.outputs += o
                        r.tags += detector.tags
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
    typealias Emit = (DetectorOutput, UnsafeBufferPointer<UInt8>?) -> Void

    private let workers: [Worker]
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
    private(set) var eventsAdded = 0

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
    init(program: Program, references: [ReferenceTable], partialMatchesPerKey: Int, keysPerRule: Int, threads: Int,
         restoring: Snapshot? = nil) throws {
        workers = try (0..<threads).map { i in
            let shard = Shard(i, of: threads)
            if let restoring {
                var d = try Detector(program: program, restoring: restoring.shards[i], references: references,
                                     partialMatchesPerKey: partialMatchesPerKey, keysPerRule: keysPerRule, shard: shard, steps: restoring.steps)
                d.resetRunCounters()
                return Worker(detector: d)
            }
            return Worker(detector: Detector(program: program, references: references, partialMatchesPerKey: partialMatchesPerKey,
                                             keysPerRule: keysPerRule, shard: shard))
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

    /// Takes one event (and its raw line); hands on what earlier batches caused (see
    /// `collect`).
    func accept(_ e: Event, raw: UnsafeBufferPointer<UInt8>, before: (Event) -> Void, output: Emit, after: (Event) -> Void, snapshotTaken: () -> Void = {}) {
        eventsAdded += 1
        add(.event(e), raw: raw)
        // A snapshot asked for ends its batch at the step it was set for.
        if let at = snapshotAt, step > at {
            placeSnapshot(requested: true)
            snapshotAt = nil
        }
        if current.commands.count >= batchSize || current.position != nil { submit(before: before, output: output, after: after, snapshotTaken: snapshotTaken) }
    }

    func markIdle(stream s: Int) {
        add(.idle(s), raw: nil)
    }

    /// Ends the input: every shard finishes, and everything left is merged and emitted.
    /// The threads end. `snapshot`: the shards snapshot before finishing (`taken`).
    func finish(snapshot: Bool = false, before: (Event) -> Void, output: Emit, after: (Event) -> Void, snapshotTaken: () -> Void = {}) {
        if snapshot {
            // In a batch of its own: the merge's state must not include the flush.
            placeSnapshot(requested: false)
            submit(before: before, output: output, after: after, snapshotTaken: snapshotTaken)
        }
        add(.finish, raw: nil)
        stop(before: before, output: output, after: after, snapshotTaken: snapshotTaken)
    }

    /// Merges and emits what was submitted, then ends the threads (a stop without finish).
    /// `snapshot`: the shards snapshot where they stop (`taken`).
    func stop(snapshot: Bool = false, before: (Event) -> Void, output: Emit, after: (Event) -> Void, snapshotTaken: () -> Void = {}) {
        if snapshot && current.position == nil { placeSnapshot(requested: false) }
        if !current.commands.isEmpty { submit(before: before, output: output, after: after, snapshotTaken: snapshotTaken) }
        while !inFlight.isEmpty { collect(before: before, output: output, after: after, snapshotTaken: snapshotTaken) }
        for w in workers { w.submit(nil) }
    }

    /// The run's counters as one detector would report them (peaks: the sum of the shards').
    var stats: DetectorStats { merger.stats(lastStats) }
    var suppressedUnreported: Int { merger.suppressedUnreported }
    /// A flow's `fail` was merged: the input must stop.
    var stopped: Bool { merger.stopped }

    private func add(_ c: Command, raw: UnsafeBufferPointer<UInt8>?) {
        current.commands.append(c)
        let start = current.raw.count
        if let raw { current.raw.append(contentsOf: raw) }
        current.ranges.append(start..<current.raw.count)
        step += 1
    }

    /// Every shard's state now, before any input (the state a run starts from).
    func snapshotNow() -> Snapshot? {
        precondition(inFlight.isEmpty && current.commands.isEmpty, "a snapshot before any input")
        placeSnapshot(requested: false)
        let none: Emit = { _, _ in }
        submit(before: { _ in }, output: none, after: { _ in })
        while !inFlight.isEmpty { collect(before: { _ in }, output: none, after: { _ in }) }
        return taken
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
        current.ranges.append(current.raw.count..<current.raw.count)
        current.position = position()
        current.requested = requested
    }

    private func submit(before: (Event) -> Void, output: Emit, after: (Event) -> Void, snapshotTaken: () -> Void = {}) {
        let b = current
        for w in workers { w.submit(b) }
        inFlight.append(b)
        current = Batch(firstStep: step)
        while inFlight.count > depth { collect(before: before, output: output, after: after, snapshotTaken: snapshotTaken) }
    }

    /// Waits for the oldest batch in every shard, merges it and hands it on in input
    /// order, as one detector would have produced it: `before` and `after` each event
    /// (bronze rows, commits), `output` for each output (with the raw line of its event,
    /// for late ones), `snapshotTaken` when a snapshot asked for is taken (`taken`), everything
    /// before it handed on and nothing after it.
    private func collect(before: (Event) -> Void, output: Emit, after: (Event) -> Void, snapshotTaken: () -> Void = {}) {
        let b = inFlight.removeFirst()
        let results = workers.map { $0.takeResult() }
        lastStats = results.map(\.stats)
        guard !ended else { return }
        var merged: [(DetectorOutput, OutputTag)] = []
        merger.merge(results.map { ($0.outputs, $0.tags) }) { merged.append(($0, $1)) }
        merger.reclaim(released: results[0].released)
        var k = 0
        b.raw.withUnsafeBufferPointer { raw in
            for (j, c) in b.commands.enumerated() {
                let step = b.firstStep + Int64(j)
                if case .event(let e) = c { before(e) }
                while k < merged.count, merged[k].1.step == step {
                    let o = merged[k].0
                    k += 1
                    if case .late = o {
                        output(o, UnsafeBufferPointer(rebasing: raw[b.ranges[j]]))
                    } else {
                        output(o, nil)
                    }
                    // A flow's `fail`: nothing after it happens.
                    if case .stopped = o {
                        ended = true
                        return
                    }
                }
                handing = step
                if case .event(let e) = c { after(e) }
            }
        }
        // What `finish` released.
        while !ended && k < merged.count {
            output(merged[k].0, nil)
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
