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
    }

    /// A span of input, shared read-only by every shard.
    final class Batch: @unchecked Sendable {
        var commands: [Command] = []
        /// The raw line of each command (late events are written as they came).
        var raw: [UInt8] = []
        var ranges: [Range<Int>] = []
        /// The step of the first command (steps count commands from 1, as the detectors do).
        let firstStep: Int64

        init(firstStep: Int64) { self.firstStep = firstStep }
    }

    struct Result: Sendable {
        var outputs: [DetectorOutput] = []
        var tags: [OutputTag] = []
        var released: [Int64] = []
        var stats: DetectorStats
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

    init(program: Program, references: [ReferenceTable], partialMatchesPerKey: Int, keysPerRule: Int, threads: Int) {
        workers = (0..<threads).map {
            Worker(detector: Detector(program: program, references: references, partialMatchesPerKey: partialMatchesPerKey,
                                      keysPerRule: keysPerRule, shard: Shard($0, of: threads)))
        }
        merger = ShardMerger(program: program)
        current = Batch(firstStep: 1)
        lastStats = workers.map { $0.initial.stats }
        for w in workers {
            let t = Thread { w.run() }
            t.name = "vigil-shard"
            t.start()
        }
    }

    /// Takes one event (and its raw line); hands on what earlier batches caused (see
    /// `collect`).
    func accept(_ e: Event, raw: UnsafeBufferPointer<UInt8>, before: (Event) -> Void, output: Emit, after: (Event) -> Void) {
        eventsAdded += 1
        add(.event(e), raw: raw)
        if current.commands.count >= batchSize { submit(before: before, output: output, after: after) }
    }

    func markIdle(stream s: Int) {
        add(.idle(s), raw: nil)
    }

    /// Ends the input: every shard finishes, and everything left is merged and emitted.
    /// The threads end.
    func finish(before: (Event) -> Void, output: Emit, after: (Event) -> Void) {
        add(.finish, raw: nil)
        stop(before: before, output: output, after: after)
    }

    /// Merges and emits what was submitted, then ends the threads (a stop without finish).
    func stop(before: (Event) -> Void, output: Emit, after: (Event) -> Void) {
        if !current.commands.isEmpty { submit(before: before, output: output, after: after) }
        while !inFlight.isEmpty { collect(before: before, output: output, after: after) }
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

    private func submit(before: (Event) -> Void, output: Emit, after: (Event) -> Void) {
        let b = current
        for w in workers { w.submit(b) }
        inFlight.append(b)
        current = Batch(firstStep: step)
        while inFlight.count > depth { collect(before: before, output: output, after: after) }
    }

    /// Waits for the oldest batch in every shard, merges it and hands it on in input
    /// order, as one detector would have produced it: `before` and `after` each event
    /// (bronze rows, commits), `output` for each output (with the raw line of its event,
    /// for late ones).
    private func collect(before: (Event) -> Void, output: Emit, after: (Event) -> Void) {
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
                if case .event(let e) = c { after(e) }
            }
        }
        // What `finish` released.
        while !ended && k < merged.count {
            output(merged[k].0, nil)
            k += 1
        }
    }
}
