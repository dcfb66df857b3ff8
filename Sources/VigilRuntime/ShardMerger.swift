/// Merges the tagged outputs of detectors sharded by key back into the order one
/// detector over all keys emits them, and applies what needs all keys at once:
/// suppression (its `by` values may span keys), the alert and row counts, and a flow's
/// `fail` (which ends the output where the one detector would have stopped).
/// Deterministic: the same shard outputs give the same merged outputs. No I/O.
public struct ShardMerger: Sendable {
    public let program: Program
    private var suppressors: [Suppressor?]
    private var suppressedCounts: [String: Int] = [:]
    private var alerts = 0
    private var rows = 0
    /// Set once a flow's `fail` was merged: nothing after it is emitted.
    public private(set) var stopped = false

    public init(program: Program) {
        self.program = program
        self.suppressors = (program.rules.map { $0.suppress != nil } + program.windows.map { $0.suppress != nil }).map { $0 ? Suppressor() : nil }
    }

    private func suppression(ofRule r: Int) -> Suppression? {
        r < program.rules.count ? program.rules[r].suppress : program.windows[r - program.rules.count].suppress
    }

    private func name(ofRule r: Int) -> String {
        r < program.rules.count ? program.rules[r].name : program.windows[r - program.rules.count].name
    }

    /// The outputs of one span of input from every shard (each in its own order, with
    /// its tags), merged. Calls `emit` for each output kept, in order.
    public mutating func merge(_ parts: [(outputs: [DetectorOutput], tags: [OutputTag])], emit: (DetectorOutput, OutputTag) -> Void) {
        guard !stopped else { return }
        var next = [Int](repeating: 0, count: parts.count)
        while true {
            var best = -1
            for p in parts.indices where next[p] < parts[p].tags.count {
                if best < 0 || parts[p].tags[next[p]] < parts[best].tags[next[best]] { best = p }
            }
            guard best >= 0 else { return }
            let tag = parts[best].tags[next[best]]
            var o = parts[best].outputs[next[best]]
            next[best] += 1
            switch o {
            case .alert(var a):
                let r = Int(tag.phase) - 1
                if suppressors[r] != nil, let s = suppression(ofRule: r) {
                    guard suppressors[r]!.admit(&a, s) else {
                        suppressedCounts[name(ofRule: r), default: 0] += 1
                        continue
                    }
                    o = .alert(a)
                }
                alerts += 1
            case .row:
                rows += 1
            case .late:
                break
            case .stopped:
                // The one detector returns nothing else for the failing event, and takes
                // nothing after it.
                stopped = true
                emit(o, tag)
                return
            }
            emit(o, tag)
        }
    }

    /// Forgets suppression periods no later alert can fall in; `released`: each rule's
    /// watermark after the outputs merged so far (`Detector.releasedWatermarks`).
    public mutating func reclaim(released: [Int64]) {
        for r in suppressors.indices where suppressors[r] != nil && released[r] != Int64.min {
            let allowed = r < program.rules.count ? 0 : program.windows[r - program.rules.count].allowedLatenessMs
            suppressors[r]!.reclaim(before: released[r].minus(allowed), period: suppression(ofRule: r)!.periodMs)
        }
    }

    /// Folded alerts that no later alert of their rule and values has reported.
    public var suppressedUnreported: Int { suppressors.reduce(0) { $0 + ($1?.unreported ?? 0) } }

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
