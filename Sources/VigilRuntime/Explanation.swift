/// Why a rule did or did not fire for a key: what each partial match bound and what
/// ended it, told from a replay of the real engine that records every step of one key
/// (`Detector.trace`). For `vigil test`: nothing here runs on the detector's normal path.
public struct KeyExplanation: Sendable {
    public var rule: String
    public var key: [(name: String, value: Value)]
    /// Events of the key the rule processed.
    public var events: Int
    /// Events of the key that were late for the rule (never matched).
    public var late: [(event: Event, watermark: Int64)]
    public var attempts: [AttemptStory]
    /// Events of the key that no step took, with why the first step refused them (the
    /// first few; `unstartedCount` counts them all).
    public var unstarted: [Rejection]
    public var unstartedCount: Int
    /// For window and session rules: each group of the key and how `having` went.
    public var groups: [GroupStory]
}

/// One partial match: the events it bound, by step, and how it ended.
public struct AttemptStory: Sendable {
    public var bound: [(step: String, events: [Event])]
    public var outcome: Outcome
    /// The events after its last bound one that the step it waited for refused (the
    /// first few; `rejectedCount` counts them all).
    public var rejected: [Rejection] = []
    public var rejectedCount = 0

    public enum Outcome: Sendable {
        case matched(at: Int64)
        /// `within` passed: at an event after the window, or when the watermark passed it
        /// (`by` nil; `watermark` the one that did).
        case expired(within: Int64, deadline: Int64, by: Event?, watermark: Int64?)
        /// A `not` step's event arrived.
        case negated(step: String, by: Event, condition: Rejection)
        /// The next step took an event while the quantified run was below its minimum.
        case runTooShort(step: String, count: Int64, min: Int64, endedBy: Event, next: String)
        /// `until` ended the run below its minimum.
        case untilTooShort(step: String, count: Int64, min: Int64, endedBy: Event)
        /// A `next` step needed the very next event, and this one is not it.
        case notNext(step: String, by: Event, why: Rejection)
        /// Dropped by the after-match skip strategy when another match completed.
        case skipped(strategy: String, by: Event?)
        case droppedByLimit
        /// Still open at the end of the input, waiting for `step`. `run`: for a quantified
        /// step still short of its minimum, how many it has and needs.
        case waiting(step: String, run: (have: Int64, need: Int64)?)
    }
}

/// Why a step's condition refused an event: the first conjunct that was not true, and
/// the values it read.
public struct Rejection: Sendable {
    public var event: Event
    public var step: String
    /// The conjunct that was false (or the whole condition).
    public var condition: String
    public var values: [(text: String, value: Value)]
    /// The conjunct was null (a missing field), not false.
    public var isNull: Bool
    /// The event is from a stream the step does not read.
    public var otherStream: Bool = false
}

/// A window or session of the key at close: its bounds, event count, and the first
/// conjunct of `having` that did not hold (nil: `having` held).
public struct GroupStory: Sendable {
    public var start: Int64
    public var end: Int64
    public var events: Int64
    public var failed: (condition: String, values: [(text: String, value: Value)])?
}

/// What a traced detector records for its watched key(s).
struct Trace: Sendable {
    enum Step: Sendable {
        case event(Event, key: [Value], before: [Attempt], after: [Attempt], matches: [Match])
        case absence(Match)
        case expired([Attempt], key: [Value], watermark: Int64)
    }
    /// nil: every key.
    var key: [Value]?
    var log: [Step] = []

    func watches(_ k: [Value]) -> Bool { key == nil || key! == k }
}

extension Detector {
    /// Replays `events` (as the detector saw them, with `idle` streams marked idle) through
    /// rule `name` alone, watching `key` (every key when nil), and tells per key what the
    /// rule did. `limit` caps the keys explained when `key` is nil.
    public static func explain(program: Program, rule name: String, key: [Value]?, events: [Event], idle: [Int],
                               limit: Int = 5) -> [KeyExplanation] {
        if let r = program.rules.first(where: { $0.name == name }) {
            return explainPattern(Program(streams: program.streams, rules: [r]), key: key, events: events, idle: idle, limit: limit)
        }
        if let w = program.windows.first(where: { $0.name == name }) {
            return explainWindow(program, w, key: key, events: events, idle: idle, limit: limit)
        }
        return []
    }

    static func explainPattern(_ program: Program, key: [Value]?, events: [Event], idle: [Int], limit: Int) -> [KeyExplanation] {
        let rule = program.rules[0]
        var d = Detector(program: program)
        d.trace = Trace(key: key)
        var late: [[Value]: [(Event, Int64)]] = [:]
        for s in idle { _ = d.markIdle(stream: s) }
        for e in events {
            for case .late(let l, let w) in d.accept(e) {
                guard let slots = rule.keySlots[Int(l.stream)] else { continue }
                late[slots.map { l.values[$0] }, default: []].append((l, w))
            }
        }
        _ = d.finish()
        var keys: [[Value]] = []
        var seen = Set<[Value]>()
        for step in d.trace!.log {
            if case .event(_, let k, _, _, _) = step, seen.insert(k).inserted { keys.append(k) }
        }
        for k in late.keys.sorted(by: { $0.map(\.json).joined() < $1.map(\.json).joined() }) where seen.insert(k).inserted { keys.append(k) }
        if let key, keys.isEmpty { keys = [key] }
        var narrator = Narrator(rule: rule, matcher: d.matchers[0])
        return keys.prefix(limit).map { k in
            var x = narrator.story(of: k, log: d.trace!.log, open: d.matchers[0].attempts(of: k, store: d.store))
            x.late = late[k] ?? []
            return x
        }
    }

    /// Groups of a window rule, with `having` taken apart: the rule runs again with its
    /// conjuncts as row columns and no `having`, so every group of the key shows.
    static func explainWindow(_ program: Program, _ rule: WindowRule, key: [Value]?, events: [Event], idle: [Int],
                              limit: Int) -> [KeyExplanation] {
        var open = rule
        open.having = nil
        open.hasAlert = false
        var selected: [(name: String, code: CompiledExpr, text: String)] = []
        for (i, part) in rule.havingParts.enumerated() {
            selected.append(("p\(i)", part.eval, part.text))
            for (j, o) in part.operands.enumerated() { selected.append(("p\(i)o\(j)", o.eval, o.text)) }
        }
        open.rows = RowOutput(table: "", keyColumns: rule.keyNames, session: rule.isSession, selected: selected)
        var d = Detector(program: Program(streams: program.streams, rules: [], windows: [open]))
        for s in idle { _ = d.markIdle(stream: s) }
        var outputs: [DetectorOutput] = []
        var late: [[Value]: [(Event, Int64)]] = [:]
        for e in events {
            for o in d.accept(e) {
                if case .late(let l, let w) = o, Int(l.stream) == rule.stream {
                    let k = rule.keySlots.map { l.values[$0] }
                    if key == nil || key! == k { late[k, default: []].append((l, w)) }
                } else {
                    outputs.append(o)
                }
            }
        }
        outputs += d.finish()
        var byKey: [[Value]: [GroupStory]] = [:]
        var order: [[Value]] = []
        let n = rule.keyNames.count
        for case .row(let row) in outputs where row.op == .upsert {
            let k = Array(row.values.prefix(n))
            if let key, key != k { continue }
            var story = GroupStory(start: row.values[n].timestampValue, end: row.values[n + 1].timestampValue,
                                   events: 0, failed: nil)
            var col = n + (rule.isSession ? 3 : 2)
            if rule.isSession, case .int(let c) = row.values[n + 2] { story.events = c }
            for part in rule.havingParts {
                let holds = row.values[col].isTrue
                let values = part.operands.indices.map { (part.operands[$0].text, row.values[col + 1 + $0]) }
                if !holds && story.failed == nil { story.failed = (part.text, values) }
                col += 1 + part.operands.count
            }
            if byKey[k] == nil { order.append(k) }
            byKey[k, default: []].append(story)
        }
        for k in late.keys where byKey[k] == nil { order.append(k); byKey[k] = [] }
        if let key, order.isEmpty { order = [key] }
        return order.prefix(limit).map { k in
            KeyExplanation(rule: rule.name, key: zip(rule.keyNames, k).map { ($0, $1) }, events: 0, late: late[k] ?? [],
                           attempts: [], unstarted: [], unstartedCount: 0, groups: byKey[k] ?? [])
        }
    }
}

extension Value {
    var timestampValue: Int64 {
        if case .timestamp(let t) = self { return t }
        return 0
    }
}

/// Turns the trace of one key into stories.
struct Narrator {
    let rule: PatternRule
    let matcher: PatternMatcher
    var steps: [PatternStep] { rule.pattern.steps }

    init(rule: PatternRule, matcher: PatternMatcher) {
        self.rule = rule
        self.matcher = matcher
    }

    mutating func story(of key: [Value], log: [Trace.Step], open: [Attempt]) -> KeyExplanation {
        var x = KeyExplanation(rule: rule.name, key: zip(rule.keyNames, key).map { ($0, $1) }, events: 0, late: [],
                               attempts: [], unstarted: [], unstartedCount: 0, groups: [])
        var stories: [UInt64: AttemptStory] = [:]
        var order: [UInt64] = []
        var last: [UInt64: Attempt] = [:]
        // Events each open attempt saw after its last bound one.
        var since: [UInt64: [Event]] = [:]
        for step in log {
            switch step {
            case .event(let e, let k, let before, let after, let matches):
                guard k == key else { continue }
                x.events += 1
                let afterIDs = Set(after.map(\.id))
                let beforeIDs = Set(before.map(\.id))
                // The event mattered to the rule if it started, fed, moved, ended or
                // completed a partial match.
                var took = !matches.isEmpty || before.count != after.count
                    || zip(before, after).contains { $0.id != $1.id || $0.step != $1.step || $0.count != $1.count }
                for a in after {
                    if !beforeIDs.contains(a.id) { order.append(a.id) }
                    if a.bound.last?.origin == e.origin && a.bound.last?.ts == e.ts { took = true; since[a.id] = [] } else { since[a.id, default: []].append(e) }
                    last[a.id] = a
                    stories[a.id] = AttemptStory(bound: bound(a), outcome: .waiting(step: "", run: nil))
                }
                for a in before where !afterIDs.contains(a.id) {
                    if let m = matches.first(where: { $0.bound.entries.first?.event.origin == a.startOrigin && $0.bound.entries.count > a.bound.entries.count }) {
                        stories[a.id] = AttemptStory(bound: bound(m.bound), outcome: .matched(at: m.detectedAt))
                    } else {
                        stories[a.id] = refused(AttemptStory(bound: bound(a), outcome: died(a, at: e, key: key, matches: matches)),
                                                a, since: since[a.id] ?? [], key: key)
                    }
                    last[a.id] = nil
                }
                // A match completed by the event that started it (a one-step pattern).
                for m in matches where m.bound.entries.first?.event.origin == e.origin && !before.contains(where: { $0.startOrigin == e.origin }) {
                    let id = UInt64.max - UInt64(order.count)
                    order.append(id)
                    stories[id] = AttemptStory(bound: bound(m.bound), outcome: .matched(at: m.detectedAt))
                    took = true
                }
                let first = steps.firstIndex(where: { !$0.negated })
                if !took, let first, steps[first].alternatives.contains(where: { $0.stream == Int(e.stream) }) {
                    x.unstartedCount += 1
                    if x.unstarted.count < 3 {
                        x.unstarted.append(rejection(first, e, bound: BoundEvents(), key: key))
                    }
                }
            case .absence(let m):
                guard m.key == key, let id = last.first(where: { $0.value.startOrigin == m.bound.entries.first?.event.origin })?.key else { continue }
                stories[id] = AttemptStory(bound: bound(m.bound), outcome: .matched(at: m.detectedAt))
                last[id] = nil
            case .expired(let gone, let k, let w):
                guard k == key else { continue }
                for a in gone {
                    last[a.id] = nil
                    let within = rule.pattern.withinMs ?? 0
                    // At the end of the input the window had not passed in event time.
                    stories[a.id] = refused(AttemptStory(bound: bound(a), outcome: w == Int64.max
                        ? waiting(a)
                        : .expired(within: within, deadline: a.startTs.plus(within), by: nil, watermark: w)), a, since: since[a.id] ?? [], key: key)
                }
            }
        }
        for a in open {
            stories[a.id] = refused(AttemptStory(bound: bound(a), outcome: waiting(a)), a, since: since[a.id] ?? [], key: key)
        }
        x.attempts = order.compactMap { stories[$0] }
        return x
    }

    func bound(_ a: Attempt) -> [(step: String, events: [Event])] { bound(a.bound) }

    func bound(_ b: BoundEvents) -> [(step: String, events: [Event])] {
        var out: [(step: String, events: [Event])] = []
        for entry in b.entries {
            let name = rule.pattern.bindingNames[Int(entry.binding)]
            if out.last?.step == name { out[out.count - 1].events.append(entry.event) } else { out.append((name, [entry.event])) }
        }
        return out
    }

    /// The step an attempt waits for: its own, or, once a run has its minimum, the next.
    func waitingStep(_ a: Attempt) -> Int {
        let s = a.step
        if steps[s].isQuantified, a.count >= steps[s].min, let n = steps.indices.first(where: { $0 > s && !steps[$0].negated }) { return n }
        return s
    }

    func waiting(_ a: Attempt) -> AttemptStory.Outcome {
        let run: (Int64, Int64)? = steps[a.step].isQuantified && a.count < steps[a.step].min ? (a.count, steps[a.step].min) : nil
        return .waiting(step: steps[waitingStep(a)].name, run: run)
    }

    /// The story with the events the waiting step refused since the last bound one.
    func refused(_ story: AttemptStory, _ a: Attempt, since: [Event], key: [Value]) -> AttemptStory {
        var story = story
        let s = waitingStep(a)
        // Events of streams the step does not read were never candidates.
        let all = since.filter { e in steps[s].alternatives.contains { $0.stream == Int(e.stream) } }
            .map { rejection(s, $0, bound: a.bound, key: key) }
        story.rejected = Array(all.prefix(3))
        story.rejectedCount = all.count
        return story
    }

    func accepts(_ s: Int, _ e: Event, bound: BoundEvents, key: [Value]) -> Bool {
        let ctx = EvalContext(event: e, bound: bound, key: key, detectedAt: e.ts)
        return steps[s].alternatives.contains { $0.stream == Int(e.stream) && $0.predicate.eval(ctx).isTrue }
    }

    /// Why step `s` refused `e` (or, for a `not` step, what it saw).
    func rejection(_ s: Int, _ e: Event, bound: BoundEvents, key: [Value]) -> Rejection {
        let ctx = EvalContext(event: e, bound: bound, key: key, detectedAt: e.ts)
        guard let alt = steps[s].alternatives.first(where: { $0.stream == Int(e.stream) }) else {
            return Rejection(event: e, step: steps[s].name, condition: steps[s].alternatives.first?.predicate.text ?? "",
                             values: [], isNull: false, otherStream: true)
        }
        let parts = alt.predicate.parts.isEmpty
            ? [PredicatePart(text: alt.predicate.text, eval: alt.predicate.eval, operands: [])] : alt.predicate.parts
        let name = rule.pattern.bindingNames[alt.binding]
        let negated = steps[s].negated
        for part in parts {
            let v = part.eval(ctx)
            // For a refused event the first conjunct that is not true; for a `not` step's
            // event, the whole condition (every conjunct held).
            if !negated && v.isTrue { continue }
            return Rejection(event: e, step: name, condition: negated ? alt.predicate.text : part.text,
                             values: (negated ? parts.flatMap(\.operands) : part.operands).map { ($0.text, $0.eval(ctx)) },
                             isNull: v.isNull)
        }
        return Rejection(event: e, step: name, condition: alt.predicate.text, values: [], isNull: false)
    }

    /// Why attempt `a` ended at event `e` without completing.
    func died(_ a: Attempt, at e: Event, key: [Value], matches: [Match]) -> AttemptStory.Outcome {
        let positives = steps.indices.filter { !steps[$0].negated }
        if a.absenceDeadline == nil, let within = rule.pattern.withinMs, e.ts.minus(a.startTs) > within {
            return .expired(within: within, deadline: a.startTs.plus(within), by: e, watermark: nil)
        }
        for m in matches {
            guard let first = m.bound.entries.first?.event else { continue }
            let done = Attempt(id: 0, startTs: first.ts, startOrigin: first.origin, step: 0, count: 0, bound: m.bound)
            if matcher.applySkip(done, to: [a]).isEmpty {
                return .skipped(strategy: skipText, by: m.trigger)
            }
        }
        for s in steps.indices where steps[s].negated && accepts(s, e, bound: a.bound, key: key) {
            return .negated(step: steps[s].name, by: e, condition: rejection(s, e, bound: a.bound, key: key))
        }
        let j = a.step
        let step = steps[j]
        if step.isQuantified, let n = positives.first(where: { $0 > j }), accepts(n, e, bound: a.bound, key: key), a.count < step.min {
            return .runTooShort(step: step.name, count: a.count, min: step.min, endedBy: e, next: steps[n].name)
        }
        if step.isQuantified, let u = step.until, u.eval(EvalContext(event: e, bound: a.bound, key: key, detectedAt: e.ts)).isTrue, a.count < step.min {
            return .untilTooShort(step: step.name, count: a.count, min: step.min, endedBy: e)
        }
        var strict = j
        if step.isQuantified, a.count >= step.min, let n = positives.first(where: { $0 > j }), steps[n].contiguity == .strict { strict = n }
        if steps[strict].contiguity == .strict || step.contiguity == .strict {
            return .notNext(step: steps[strict].name, by: e, why: rejection(strict, e, bound: a.bound, key: key))
        }
        return .droppedByLimit
    }

    var skipText: String {
        switch rule.pattern.skip {
        case .noSkip: "no skip"
        case .toNext: "skip to next"
        case .pastLast: "skip past last"
        case .toFirst: "skip to first"
        case .toLast: "skip to last"
        }
    }
}
