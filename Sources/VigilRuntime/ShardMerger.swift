/// Merges the tagged outputs of detectors sharded by key back into the order one
/// detector over all keys emits them, and applies what needs all keys at once:
/// suppression (its `by` values may span keys), the alert and row counts, and a flow's
/// `fail` (which ends the output where the one detector would have stopped).
/// Deterministic: the same shard outputs give the same merged outputs. No I/O.
public struct ShardMerger: Sendable {
    private var suppressors: RuleSuppressors
    private var suppressedCounts: [String: Int] = [:]
    private var alerts = 0
    private var rows = 0
    /// Set once a flow's `fail` was merged: nothing after it is emitted.
    public private(set) var stopped = false

    public init(program: Program) {
        self.suppressors = RuleSuppressors(program: program)
    }

    /// What a checkpoint keeps of the merge: where suppression stands (the counts are
    /// the run's, and start again).
    public func snapshot() throws -> [UInt8] { try SnapshotCoder.encode(suppressors.states) }

    /// A merger for `program` where `snapshot()` left one.
    public init(program: Program, restoring bytes: [UInt8]) throws {
        self.init(program: program)
        let states: [Suppressor?]
        do {
            states = try SnapshotCoder.decode([Suppressor?].self, from: bytes)
        } catch {
            throw Detector.SnapshotError(description: "the shards' merge state cannot be read: \(error)")
        }
        guard states.count == suppressors.states.count else { throw Detector.SnapshotError(description: "the snapshot was taken with other rules") }
        suppressors.states = states
    }

    /// Where a merged output is: `outputs[shard][index]`, with its tag.
    public struct Place: Sendable {
        public var shard: Int32
        public var index: Int32
        public var tag: OutputTag
    }

    /// The outputs of one span of input from every shard (each in its own order, with
    /// its tags), merged: `emit` gets the place of each output kept, in order, and the
    /// caller moves it out once the merge returns. Outputs stay where they are; only a
    /// suppressed rule's alerts are touched (their counts written in). Moving each
    /// output out here and again into the caller's list copied its bytes about ten times
    /// (some 200 instructions an alert).
    public mutating func merge(_ outputs: inout [[DetectorOutput]], tags: [[OutputTag]], emit: (Place) -> Void) {
        guard !stopped else { return }
        var next = [Int](repeating: 0, count: outputs.count)
        while true {
            var best = -1
            for p in tags.indices where next[p] < tags[p].count {
                if best < 0 || tags[p][next[p]] < tags[best][next[best]] { best = p }
            }
            guard best >= 0 else { return }
            let i = next[best]
            let tag = tags[best][i]
            next[best] += 1
            let place = Place(shard: Int32(best), index: Int32(i), tag: tag)
            switch outputs[best][i] {
            case .alert:
                let rule = Int(tag.phase) - 1
                if suppressors.applies(toRule: rule) {
                    guard case .alert(var a) = DetectorOutput.take(&outputs[best][i]) else { continue }
                    guard suppressors.admit(&a, rule: rule, counting: &suppressedCounts) else { continue }
                    outputs[best][i] = .alert(a)
                }
                alerts += 1
            case .row:
                rows += 1
            case .late:
                break
            case .movedOut:
                continue
            case .stopped:
                // The one detector returns nothing else for the failing event, and takes
                // nothing after it.
                stopped = true
                emit(place)
                return
            }
            emit(place)
        }
    }

    /// Forgets suppression periods no later alert can fall in; `released`: each rule's
    /// watermark after the outputs merged so far (`Detector.releasedWatermarks`).
    public mutating func reclaim(released: [Int64]) {
        for r in released.indices { suppressors.reclaim(rule: r, watermark: released[r]) }
    }

    /// Folded alerts that no later alert of their rule and values has reported.
    public var suppressedUnreported: Int { suppressors.unreported }

    /// The run's counters from the shards' own: events and lateness as every shard
    /// decided them (the first shard's), alerts, rows and suppression as merged, held
    /// state summed. A peak is the sum of the shards' peaks: an upper bound of the one
    /// detector's (the shards peak at different moments).
    public func stats(_ shards: [DetectorStats]) -> DetectorStats {
        var s = shards[0]
        s.alerts = alerts
        s.rows = rows
        s.suppressed = suppressedCounts
        s.peakPartialMatches = shards.reduce(0) { $0 + $1.peakPartialMatches }
        s.peakOpenGroups = shards.reduce(0) { $0 + $1.peakOpenGroups }
        s.partialMatches = shards.reduce(0) { $0 + $1.partialMatches }
        s.openGroups = shards.reduce(0) { $0 + $1.openGroups }
        s.partialMatchesDroppedByLimit = shards.reduce(0) { $0 + $1.partialMatchesDroppedByLimit }
        s.keysDroppedByLimit = shards.reduce(0) { $0 + $1.keysDroppedByLimit }
        return s
    }
}
