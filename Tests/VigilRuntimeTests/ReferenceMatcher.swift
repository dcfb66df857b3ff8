/// A deliberately simple matcher for the differential tests: per key, the sorted list
/// of events, and for every start a search that follows docs/semantics.md step by
/// step over list indices. It shares no code with the NFA runtime; it is slow and
/// meant to be obviously right.
struct RefEvent {
    var id: String
    var type: String
    var ts: Int64
    var v: Int64
    var key: String
    /// Arrival position (line).
    var arrival: Int
}

struct RefStep {
    enum Contiguity { case start, then, any, next }
    var name: String
    var negated = false
    var contiguity = Contiguity.then
    /// Alternatives: (name, event type).
    var alternatives: [(name: String, type: String)]
    /// Also require `v >= first.v` (the first step's event).
    var compareWithFirst = false
    var quantified = false
    var min = 1
    var max: Int? = 1
    var untilType: String?
}

enum RefSkip: Equatable { case noSkip, toNext, pastLast, toFirst(Int), toLast(Int) }

struct RefPattern {
    var steps: [RefStep]
    var within: Int64?
    var skip = RefSkip.noSkip
}

struct RefMatch: Equatable {
    var ids: [String]
    var detectedAt: Int64
}

struct ReferenceMatcher {
    let pattern: RefPattern
    let lateness: Int64

    /// Events in arrival order -> (matches in emission order, ids of late events).
    func run(_ arrivals: [RefEvent]) -> (matches: [RefMatch], late: [String]) {
        // Late: older than the watermark (max seen - lateness) on arrival.
        var maxTs = Int64.min
        var late: [String] = []
        var kept: [RefEvent] = []
        for e in arrivals {
            if maxTs != Int64.min, e.ts < maxTs - lateness {
                late.append(e.id)
                continue
            }
            maxTs = Swift.max(maxTs, e.ts)
            kept.append(e)
        }
        var all: [(key: [Int64], match: RefMatch)] = []
        let keys = Array(Set(kept.map(\.key))).sorted()
        for key in keys {
            let events = kept.filter { $0.key == key }.sorted { ($0.ts, $0.arrival) < ($1.ts, $1.arrival) }
            for e in matches(events) { all.append(e) }
        }
        // Emission order across keys: by time, then the event that caused it.
        all.sort { $0.key.lexicographicallyPrecedes($1.key) }
        return (all.map(\.match), late)
    }

    // MARK: One key

    struct Found {
        /// (step index, alternative, event index) in bound order.
        var bound: [(step: Int, alt: Int, index: Int)]
        var start: Int
        /// Emission key: (time, 0 = at an event / 1 = absence timer, event arrival or start, start).
        var emission: [Int64]
        var detectedAt: Int64
    }

    private var positives: [Int] { pattern.steps.indices.filter { !pattern.steps[$0].negated } }

    private func alternative(_ s: Int, _ e: RefEvent, first: RefEvent?) -> Int? {
        let step = pattern.steps[s]
        for (i, alt) in step.alternatives.enumerated() where alt.type == e.type {
            if step.compareWithFirst, let f = first, !(e.v >= f.v) { continue }
            return i
        }
        return nil
    }

    private func negationsBetween(_ lo: Int, _ hi: Int?) -> [Int] {
        let upper = hi ?? pattern.steps.count
        return (lo + 1 ..< Swift.max(lo + 1, upper)).filter { pattern.steps[$0].negated }
    }

    /// Whether an event strictly between positions `from` and `to` satisfies a negation.
    private func negated(_ negs: [Int], _ events: [RefEvent], from: Int, to: Int, first: RefEvent?) -> Bool {
        guard from + 1 < to else { return false }
        for r in (from + 1)..<to {
            for n in negs where alternative(n, events[r], first: first) != nil { return true }
        }
        return false
    }

    private func matches(_ events: [RefEvent]) -> [(key: [Int64], match: RefMatch)] {
        var found: [Found] = []
        let p = positives
        for i in events.indices {
            // An attempt starts at the first positive step the event satisfies (earlier
            // ones may be skipped only when optional).
            for (k, s) in p.enumerated() {
                if let alt = alternative(s, events[i], first: nil) {
                    found += run(events, start: i, ordinal: k, firstIndex: i, firstAlt: alt, prev: i - 1, bound: [])
                    break
                }
                if pattern.steps[s].min > 0 { break }
            }
        }
        // Emission order, then the skip strategy, applied as matches are emitted.
        found.sort { a, b in
            if a.emission != b.emission { return a.emission.lexicographicallyPrecedes(b.emission) }
            return a.bound.map(\.index).lexicographicallyPrecedes(b.bound.map(\.index))
        }
        var kept: [Found] = []
        for f in found where !kept.contains(where: { discards($0, f, events) }) {
            kept.append(f)
        }
        return kept.map { f in
            (f.emission, RefMatch(ids: f.bound.map { events[$0.index].id }, detectedAt: f.detectedAt))
        }
    }

    /// Whether emitting `k` discards the partial match that produced `f`.
    private func discards(_ k: Found, _ f: Found, _ events: [RefEvent]) -> Bool {
        // Only partial matches still open when `k` was emitted.
        guard k.emission.lexicographicallyPrecedes(f.emission) || k.emission == f.emission else { return false }
        let fs = f.start, ks = k.start
        switch pattern.skip {
        case .noSkip: return false
        case .toNext: return fs == ks
        case .pastLast: return fs >= ks && fs <= k.bound.last!.index
        case .toFirst(let step), .toLast(let step):
            let hits = k.bound.filter { $0.step == step }.map(\.index)
            guard let target = { if case .toFirst = pattern.skip { hits.first } else { hits.last } }() else { return false }
            return fs >= ks && fs < target
        }
    }

    /// Whether `e` ends the run of positive step `ordinal`: a following step accepts it,
    /// looking past optional steps (min 0) up to the first one that must bind.
    private func endsRun(_ ordinal: Int, _ e: RefEvent, first: RefEvent?) -> Bool {
        for n in positives.dropFirst(ordinal + 1) {
            if alternative(n, e, first: first) != nil { return true }
            let step = pattern.steps[n]
            if !step.quantified || step.min > 0 { return false }
        }
        return false
    }

    /// Continues an attempt at positive step `ordinal`, whose first event is `firstIndex`
    /// (already known to satisfy it) or to be searched after `prev` when nil.
    private func run(_ events: [RefEvent], start: Int, ordinal: Int, firstIndex: Int?, firstAlt: Int?, prev: Int,
                     bound: [(step: Int, alt: Int, index: Int)], lastBound: Int? = nil) -> [Found] {
        // `prev`: the search starts after it. `lb`: the last bound event, from which
        // negation windows and strict contiguity count (earlier when events were skipped).
        let lb = lastBound ?? prev
        let p = positives
        let s = p[ordinal]
        let step = pattern.steps[s]
        let first = bound.first.map { events[$0.index] } ?? (firstIndex.map { events[$0] })
        let inWindow = { (i: Int) in pattern.within.map { events[i].ts - events[start].ts <= $0 } ?? true }
        // Every gap since the last bound event's step (skipped optional steps included).
        let negBefore = negationsBetween(bound.last.map { $0.step } ?? (ordinal == 0 ? -1 : p[ordinal - 1]), s)
        let nextStep: Int? = ordinal + 1 < p.count ? p[ordinal + 1] : nil
        let negAfter = negationsBetween(s, nextStep)
        var out: [Found] = []

        // Candidate first events of this step.
        var entries: [(Int, Int)] = []
        // An event handed over without an alternative goes on past this (optional) step.
        if let fi = firstIndex {
            if let fa = firstAlt { entries = [(fi, fa)] }
        } else {
            var q = prev + 1
            while q < events.count {
                // A quantified step's search for its first event stops at the next step's
                // first event, which has priority over this step.
                if step.quantified, nextStep != nil, endsRun(ordinal, events[q], first: first) { break }
                if step.quantified, let u = step.untilType, events[q].type == u { break }
                if let alt = alternative(s, events[q], first: first) {
                    entries.append((q, alt))
                    if step.contiguity != .any { break }
                } else if step.contiguity == .next {
                    break
                }
                q += 1
            }
        }

        if !step.quantified {
            for (q, alt) in entries {
                guard inWindow(q), !negated(negBefore, events, from: lb, to: q, first: first) else { continue }
                if step.contiguity == .next, firstIndex == nil, q != lb + 1 { continue }
                out += afterStep(events, start: start, ordinal: ordinal, last: q, bound: bound + [(s, alt, q)])
            }
            return out
        }

        // Quantified: a run; empty runs are possible when min == 0. An event handed over
        // by the previous step that also satisfies the next step goes on to that step.
        var runStarts: [(Int, Int)?] = entries.map { $0 }
        var emptyFrom = firstIndex ?? prev + 1
        if let fi = firstIndex, fi != start, nextStep != nil, endsRun(ordinal, events[fi], first: first) {
            runStarts = []
            emptyFrom = fi
        }
        // An empty run: with `then`/`next` only when no event of the step comes first;
        // with `then any` the branch that skipped every such event also remains.
        // (For an event handed over by the previous step, the branch that skips it is
        // made where the hand-over happens.)
        let handedOver = firstIndex != nil && firstIndex != start
        if step.min == 0, runStarts.isEmpty || (step.contiguity == .any && !handedOver) { runStarts.append(nil) }
        for entry in runStarts {
            let emptyPath = entry == nil
            var taken: [(Int, Int)] = []
            var r: Int
            if let (q, alt) = entry {
                // The run's first event must come before any event of the next step.
                if firstIndex == nil, nextStep != nil,
                   ((prev + 1)..<q).contains(where: { endsRun(ordinal, events[$0], first: first) }) { continue }
                if firstIndex == nil, step.contiguity == .next, q != lb + 1 { continue }
                if negated(negBefore, events, from: lb, to: q, first: first) { continue }
                taken = [(q, alt)]
                r = q + 1
            } else {
                r = emptyFrom
            }
            // Collect until the next step's first event, `until`, or the maximum.
            var end: Int? = nil          // index of the event that ended the run
            var endedByUntil = false
            var broken = false           // a strict run was interrupted
            var complete = false
            var full = false
            if nextStep == nil, taken.count >= step.min, !taken.isEmpty {
                complete = true
            }
            if let m = step.max, taken.count >= m { full = true }
            while !complete && !full && r < events.count {
                if nextStep != nil, endsRun(ordinal, events[r], first: first) { end = r; break }
                if let u = step.untilType, events[r].type == u { end = r; endedByUntil = true; break }
                if !emptyPath, let alt = alternative(s, events[r], first: first) {
                    taken.append((r, alt))
                    if nextStep == nil, taken.count >= step.min { complete = true; break }
                    // At its maximum the run is over; the next step searches on.
                    if let m = step.max, taken.count >= m { full = true; break }
                } else if step.contiguity == .next {
                    broken = true
                    end = r
                    break
                }
                r += 1
            }
            let lastRun = taken.last?.0 ?? lb
            if !taken.isEmpty, !inWindow(lastRun) { continue }
            let runBound = bound + taken.map { (s, $0.1, $0.0) }
            if complete || (full && nextStep == nil) {
                out += afterStep(events, start: start, ordinal: ordinal, last: lastRun, bound: runBound)
                continue
            }
            if full {
                out += run(events, start: start, ordinal: ordinal + 1, firstIndex: nil, firstAlt: nil, prev: lastRun, bound: runBound)
                continue
            }
            guard taken.count >= step.min, let n = nextStep, let endIndex = end else { continue }
            if !taken.isEmpty || step.min == 0 {
                // A negated event after the taken's last event (and before the next bind) kills.
                if negated(negAfter, events, from: lastRun, to: endIndex, first: first) { continue }
            }
            if taken.isEmpty, negated(negBefore, events, from: lb, to: endIndex, first: first) { continue }
            let nextContiguity = pattern.steps[n].contiguity
            if broken {
                // The strict taken ended at a non-matching event; the next step searches on.
                if nextContiguity == .next { continue }
                out += run(events, start: start, ordinal: ordinal + 1, firstIndex: nil, firstAlt: nil, prev: endIndex,
                           bound: runBound, negatedFrom: lastRun)
                continue
            }
            if endedByUntil {
                // The until event is the first event the next step sees.
                if nextContiguity == .next, endIndex != lastRun + 1, runBound.count > bound.count || lastRun != prev {
                    // A strict next step needs the until event to follow the run directly.
                    if alternative(n, events[endIndex], first: first) == nil { continue }
                }
                out += run(events, start: start, ordinal: ordinal + 1, firstIndex: nil, firstAlt: nil, prev: endIndex - 1,
                           bound: runBound, negatedFrom: lastRun)
                continue
            }
            // Ended by the next step's first event.
            guard inWindow(endIndex) else { continue }
            if nextContiguity == .next, endIndex != lastRun + 1 { continue }
            // The next step takes it, or (optional, and a later step takes it) ends empty.
            let alt = alternative(n, events[endIndex], first: first)
            out += run(events, start: start, ordinal: ordinal + 1, firstIndex: endIndex, firstAlt: alt, prev: lastRun, bound: runBound)
            if nextContiguity == .any {
                out += run(events, start: start, ordinal: ordinal + 1, firstIndex: nil, firstAlt: nil, prev: endIndex,
                           bound: runBound, negatedFrom: lastRun)
            }
        }
        return out
    }

    /// Like `run(...)` but the negations before the step count from `negatedFrom`.
    private func run(_ events: [RefEvent], start: Int, ordinal: Int, firstIndex: Int?, firstAlt: Int?, prev: Int,
                     bound: [(step: Int, alt: Int, index: Int)], negatedFrom: Int) -> [Found] {
        let p = positives
        let negBefore = negationsBetween(p[ordinal - 1], p[ordinal])
        let first = bound.first.map { events[$0.index] }
        // Negated events between the run's last event and where the search resumes kill.
        if negated(negBefore, events, from: negatedFrom, to: prev + 1, first: first) { return [] }
        // Events were skipped since the last bound event: a strict step cannot bind; an
        // optional strict run is empty and the step after it searches on.
        let step = pattern.steps[p[ordinal]]
        if step.contiguity == .next, prev > negatedFrom {
            guard step.quantified, step.min == 0, ordinal + 1 < p.count, pattern.steps[p[ordinal + 1]].contiguity != .next else { return [] }
            return run(events, start: start, ordinal: ordinal + 1, firstIndex: nil, firstAlt: nil, prev: prev,
                       bound: bound, negatedFrom: negatedFrom)
        }
        return run(events, start: start, ordinal: ordinal, firstIndex: firstIndex, firstAlt: firstAlt, prev: prev, bound: bound,
                   lastBound: negatedFrom)
    }

    /// A positive step is complete at `last`: move on, or finish the match.
    private func afterStep(_ events: [RefEvent], start: Int, ordinal: Int, last: Int,
                           bound: [(step: Int, alt: Int, index: Int)]) -> [Found] {
        let p = positives
        if ordinal + 1 < p.count {
            return run(events, start: start, ordinal: ordinal + 1, firstIndex: nil, firstAlt: nil, prev: last, bound: bound)
        }
        let trailing = negationsBetween(p[ordinal], nil)
        let first = events[bound.first!.index]
        if !trailing.isEmpty, let within = pattern.within {
            let deadline = events[start].ts + within
            for r in (last + 1)..<events.count where events[r].ts <= deadline {
                for n in trailing where alternative(n, events[r], first: first) != nil { return [] }
            }
            return [Found(bound: bound, start: start, emission: [deadline, 1, events[start].ts, Int64(events[start].arrival)],
                          detectedAt: deadline)]
        }
        let e = events[last]
        return [Found(bound: bound, start: start,
                      emission: [e.ts, 0, Int64(e.arrival), events[start].ts, Int64(events[start].arrival)],
                      detectedAt: e.ts)]
    }
}
