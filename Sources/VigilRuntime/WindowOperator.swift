/// The state machine of one window or session rule over all keys: events in (in event
/// time), closed groups out when the watermark passes their end. No I/O, no clock.
struct WindowOperator: Sendable {
    let rule: WindowRule

    struct Group: Sendable, Codable {
        var start: Int64
        /// Window end (exclusive), or the session's last event time.
        var end: Int64
        var events: Int64 = 0
        var accumulators: [Accumulator]
        /// Creation order: ties between groups closing together break on it.
        var seq: UInt64
    }

    struct Timer: Comparable, Sendable, Codable {
        var deadline: Int64
        var seq: UInt64
        var key: [Value]
        var start: Int64
        static func < (a: Timer, b: Timer) -> Bool { (a.deadline, a.seq) < (b.deadline, b.seq) }
        static func == (a: Timer, b: Timer) -> Bool { a.deadline == b.deadline && a.seq == b.seq }
    }

    struct State: Sendable, Codable {
        var groups: [[Value]: [Group]] = [:]
        var timers = MinHeap<Timer>()
        var nextSeq: UInt64 = 0
        var openGroups = 0
    }

    var state = State()

    init(rule: WindowRule) {
        self.rule = rule
    }

    /// The earliest time at which a group closes (when the watermark reaches it).
    var nextDeadline: Int64? { state.timers.min?.deadline }

    private func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// Adds an event (released in event-time order) to every group it belongs to.
    mutating func process(_ e: Event, key: [Value]) {
        var groups = state.groups[key] ?? []
        state.groups[key] = nil
        defer { state.groups[key] = groups }
        switch rule.kind {
        case .tumbling(let size):
            let start = floorDiv(e.ts, size) * size
            add(e, to: &groups, start: start, end: start.plus(size), key: key)
        case .hopping(let size, let every):
            var k = floorDiv(e.ts.minus(size), every) + 1
            let last = floorDiv(e.ts, every)
            while k <= last {
                let start = k * every
                add(e, to: &groups, start: start, end: start.plus(size), key: key)
                k += 1
            }
        case .session(let gap):
            // Events arrive in event-time order, so only the latest session can grow.
            if let i = groups.indices.last, e.ts.minus(groups[i].end) < gap {
                groups[i].end = e.ts
                accumulate(e, into: &groups[i], key: key)
                state.timers.push(Timer(deadline: e.ts.plus(gap), seq: groups[i].seq, key: key, start: groups[i].start))
            } else {
                var g = newGroup(start: e.ts, end: e.ts)
                accumulate(e, into: &g, key: key)
                groups.append(g)
                state.timers.push(Timer(deadline: e.ts.plus(gap), seq: g.seq, key: key, start: g.start))
            }
        }
    }

    private mutating func newGroup(start: Int64, end: Int64) -> Group {
        state.nextSeq += 1
        state.openGroups += 1
        return Group(start: start, end: end,
                     accumulators: rule.aggregates.map { Accumulator.start($0.function, type: $0.type) }, seq: state.nextSeq)
    }

    private mutating func add(_ e: Event, to groups: inout [Group], start: Int64, end: Int64, key: [Value]) {
        if let i = groups.firstIndex(where: { $0.start == start }) {
            accumulate(e, into: &groups[i], key: key)
            return
        }
        var g = newGroup(start: start, end: end)
        accumulate(e, into: &g, key: key)
        groups.append(g)
        state.timers.push(Timer(deadline: end, seq: g.seq, key: key, start: start))
    }

    private func accumulate(_ e: Event, into g: inout Group, key: [Value]) {
        g.events += 1
        let ctx = EvalContext(event: e, bound: BoundEvents(), key: key, detectedAt: e.ts)
        for (i, spec) in rule.aggregates.enumerated() {
            let v = spec.argument.map { $0(ctx) } ?? .bool(true)
            g.accumulators[i].add(v, ts: e.ts, origin: e.origin)
        }
    }

    /// Closes every group whose deadline is at or before `time`, in deadline order.
    mutating func close(upTo time: Int64, into out: inout [Alert]) {
        while let t = state.timers.min, t.deadline <= time {
            state.timers.pop()
            guard var groups = state.groups[t.key], let i = groups.firstIndex(where: { $0.seq == t.seq }) else { continue }
            // A session that grew since this timer was armed has a later one.
            if case .session(let gap) = rule.kind, groups[i].end.plus(gap) != t.deadline { continue }
            let g = groups.remove(at: i)
            state.openGroups -= 1
            state.groups[t.key] = groups.isEmpty ? nil : groups
            emit(g, key: t.key, detectedAt: t.deadline, into: &out)
        }
    }

    private func emit(_ g: Group, key: [Value], detectedAt: Int64, into out: inout [Alert]) {
        guard rule.hasAlert else { return }
        let view = GroupView(results: g.accumulators.map(\.result), start: g.start, end: g.end, events: g.events)
        let ctx = EvalContext(event: nil, bound: BoundEvents(), key: key, detectedAt: detectedAt, group: view)
        if let having = rule.having, !having(ctx).isTrue { return }
        var h = FNV1a()
        h.add(rule.name)
        for v in key { h.add(v.json) }
        h.add(g.start)
        h.add(g.end)
        out.append(Alert(id: h.hex, rule: rule.name, severity: rule.severity, tags: rule.tags,
                         key: zip(rule.keyNames, key).map { ($0, $1) }, message: rule.message.render(ctx),
                         detectedAt: detectedAt, matched: [], window: (g.start, g.end)))
    }
}
