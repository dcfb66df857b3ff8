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
///
/// One value for all of a program's rules, in flat arrays, so that testing an event
/// copies and counts nothing.
struct Prefilter: Sendable {
    /// Per (rule, stream), at `rule * streams + stream`: the range of `options` to try,
    /// or nil when every event of the stream may matter to the rule.
    private let entries: [Range<Int32>?]
    /// Options: an event may matter when every test of one option's range holds.
    private let options: [Range<Int32>]
    private let tests: [FieldTest]
    private let streams: Int

    init(rules: [PatternRule], streams: Int) {
        var entries: [Range<Int32>?] = []
        var options: [Range<Int32>] = []
        var tests: [FieldTest] = []
        for rule in rules {
            // Per stream: the necessary tests of each condition on it (nil: every event).
            var perStream: [[[FieldTest]]?] = Array(repeating: [], count: streams)
            func add(_ p: CompiledPredicate, stream: Int?) {
                guard let stream, !p.necessary.isEmpty else {
                    // An `until` is tested on whatever event reaches its step.
                    if let stream { perStream[stream] = nil } else { perStream = perStream.map { _ in nil } }
                    return
                }
                perStream[stream]?.append(p.necessary)
            }
            if rule.pattern.steps.contains(where: { $0.contiguity == .strict }) {
                perStream = perStream.map { _ in nil }
            }
            for step in rule.pattern.steps {
                for alt in step.alternatives { add(alt.predicate, stream: alt.stream) }
                if let until = step.until { add(until, stream: rule.streams.count == 1 ? rule.streams[0] : nil) }
            }
            for conditions in perStream {
                guard let conditions else {
                    entries.append(nil)
                    continue
                }
                let first = Int32(options.count)
                for c in conditions {
                    options.append(Int32(tests.count)..<Int32(tests.count + c.count))
                    tests += c
                }
                entries.append(first..<Int32(options.count))
            }
        }
        self.entries = entries
        self.options = options
        self.tests = tests
        self.streams = streams
        // The common shape, `type == "A"`, `type == "B"`: every option one equality of
        // the same field with a short ASCII literal.
        var setSlots: [Int32] = [], setRanges: [Range<Int32>] = [], words: [UInt64] = []
        for entry in entries {
            let first = Int32(words.count / 2)
            var slot: Int? = nil, fits = entry != nil && ValueSlot.stringTag != nil
            for k in entry ?? 0..<0 where fits {
                let o = options[Int(k)]
                guard o.count == 1, case let t = tests[Int(o.lowerBound)], t.op == .eq, slot == nil || slot == t.slot,
                      let w = t.literalWords else {
                    fits = false
                    break
                }
                slot = t.slot
                words += [w.low, w.high]
            }
            if fits, let slot {
                setSlots.append(Int32(slot))
                setRanges.append(first..<Int32(words.count / 2))
            } else {
                words.removeLast(words.count - 2 * Int(first))
                setSlots.append(-1)
                setRanges.append(0..<0)
            }
        }
        self.setSlots = setSlots
        self.setRanges = setRanges
        self.literalWords = words
    }

    /// Per (rule, stream), like `entries`: when every option is one `field == literal`
    /// test of the same field with a short ASCII literal, that field's slot (-1: not so),
    /// and the literals' words in `literalWords` (two each, as the strings hold them). A
    /// short ASCII field is then compared in two loads per literal, in place.
    private let setSlots: [Int32]
    private let setRanges: [Range<Int32>]
    private let literalWords: [UInt64]
    private let stringTag = ValueSlot.stringTag

    /// No rule has a test: every event may matter to every rule.
    var isEmpty: Bool { tests.isEmpty }

    /// Whether the event of stream `stream` whose values are `row` can change the
    /// matching of rule `rule`.
    @inline(__always) func admits(rule: Int, stream: Int, _ row: UnsafePointer<Value>) -> Bool {
        let entry = rule * streams + stream
        if let stringTag, case let slot = setSlots.withUnsafeBufferPointer({ $0[entry] }), slot >= 0,
           let (low, high) = ValueSlot.smallASCIIBits(at: row + Int(slot), stringTag: stringTag) {
            return literalWords.withUnsafeBufferPointer { w in
                for k in setRanges.withUnsafeBufferPointer({ $0[entry] }) where w[2 * Int(k)] == low && w[2 * Int(k) + 1] == high {
                    return true
                }
                return false
            }
        }
        return entries.withUnsafeBufferPointer { e in
            guard let range = e[entry] else { return true }
            return options.withUnsafeBufferPointer { o in
                tests.withUnsafeBufferPointer { t in
                    for k in range {
                        var all = true
                        for i in o[Int(k)] where !t[Int(i)].holds(row) {
                            all = false
                            break
                        }
                        if all { return true }
                    }
                    return false
                }
            }
        }
    }
}
