/// Which events can change a pattern rule's matching, tested before the event is
/// stored or ordered for the rule: an event that can satisfy no step condition of the
/// rule (positive, negated or `until`) binds nothing, kills nothing and starts nothing,
/// so the rule never needs to see it.
///
/// Each condition is tested by its necessary comparisons (`CompiledPredicate.necessary`:
/// the `field OP literal` conjuncts of its top-level `and`s). A condition without any
/// lets every event of its stream through: the prefilter only ever answers "cannot
/// matter" when that is certain.
///
/// What skipping an event leaves out, and why no output changes:
/// - Its partial matches' expiry: an attempt past its `within` is dropped at the key's
///   next event that does reach the rule, or by `reclaim` — it could complete on
///   neither. (So a run's peak of open partial matches may be higher.)
/// - The gap flag strict contiguity reads: a rule with a `next` step takes every event.
struct Prefilter: Sendable {
    /// Per stream: the ranges of `tests` to try (an event matters when every test of one
    /// range holds), or nil when every event of the stream matters.
    private let ranges: [[Range<Int32>]?]
    private let tests: [FieldTest]

    /// The prefilter of `rule` over `streams` streams; nil when every event matters.
    init?(rule: PatternRule, streams: Int) {
        let steps = rule.pattern.steps
        guard !steps.contains(where: { $0.contiguity == .strict }) else { return nil }
        var ranges: [[Range<Int32>]?] = Array(repeating: [], count: streams)
        var tests: [FieldTest] = []
        func add(_ p: CompiledPredicate, stream: Int?) {
            // An `until` is tested on whatever event reaches its step: it opens every stream.
            guard let stream, !p.necessary.isEmpty else {
                if let stream { ranges[stream] = nil } else { ranges = ranges.map { _ in nil } }
                return
            }
            let from = Int32(tests.count)
            tests += p.necessary
            ranges[stream]?.append(from..<Int32(tests.count))
        }
        for step in steps {
            for alt in step.alternatives { add(alt.predicate, stream: alt.stream) }
            if let until = step.until { add(until, stream: rule.streams.count == 1 ? rule.streams[0] : nil) }
        }
        guard ranges.contains(where: { $0 != nil }) else { return nil }
        self.ranges = ranges
        self.tests = tests
    }

    /// Whether the event of stream `stream` whose values are `row` can change the rule's
    /// matching.
    func admits(_ row: UnsafePointer<Value>, stream: Int) -> Bool {
        guard let options = ranges[stream] else { return true }
        return tests.withUnsafeBufferPointer { t in
            for range in options {
                var all = true
                for i in range where !t[Int(i)].holds(row) {
                    all = false
                    break
                }
                if all { return true }
            }
            return false
        }
    }
}
