/// The state machine of one window or session rule over all keys: events in (in event
/// time, or late ones within the allowed lateness), closed groups out — as alerts and
/// rows — when the watermark passes their end. No I/O, no clock.
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
        /// Rows emitted so far (the last one's version).
        var versions = 0
        /// The last row emitted was an upsert: the table holds this group.
        var rowLive = false
        var alerted = false
        /// Emitted and kept only for late updates (until its end + allowed lateness).
        var closed = false
    }

    struct Timer: Comparable, Sendable, Codable {
        var deadline: Int64
        var seq: UInt64
        var key: [Value]
        /// Forget the group (allowed lateness over) rather than close it.
        var purge: Bool
        static func < (a: Timer, b: Timer) -> Bool { (a.deadline, a.seq) < (b.deadline, b.seq) }
        static func == (a: Timer, b: Timer) -> Bool { a.deadline == b.deadline && a.seq == b.seq }
    }

    struct State: Sendable, Codable {
        /// Per key, the groups held, by start.
        var groups: [[Value]: [Group]] = [:]
        var timers = MinHeap<Timer>()
        var nextSeq: UInt64 = 0
        var openGroups = 0
    }

    var state = State()
    private let gap: Int64
    private let allowed: Int64

    init(rule: WindowRule) {
        self.rule = rule
        if case .session(let g) = rule.kind { gap = g } else { gap = 0 }
        allowed = rule.allowedLatenessMs
    }

    /// The earliest time at which a group closes or is forgotten.
    var nextDeadline: Int64? { state.timers.min?.deadline }

    /// When the group closes: its window end, or its last event + gap.
    private func closesAt(_ g: Group) -> Int64 { rule.isSession ? g.end.plus(gap) : g.end }

    private func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// The starts of the windows an event at `ts` belongs to, ascending.
    private func windowStarts(_ ts: Int64) -> [(start: Int64, end: Int64)] {
        switch rule.kind {
        case .tumbling(let size):
            let start = floorDiv(ts, size) * size
            return [(start, start.plus(size))]
        case .hopping(let size, let every):
            var out: [(Int64, Int64)] = []
            var k = floorDiv(ts.minus(size), every) + 1
            let last = floorDiv(ts, every)
            while k <= last {
                out.append((k * every, (k * every).plus(size)))
                k += 1
            }
            return out
        case .session:
            return []
        }
    }

    /// Adds an event released in event-time order to every group it belongs to.
    mutating func process(_ e: Event, key: [Value]) {
        var groups = state.groups.removeValue(forKey: key) ?? []
        defer { state.groups[key] = groups }
        if rule.isSession {
            // In event-time order only the latest session can grow: a closed one ended
            // at least a gap before the watermark, so before this event.
            if let i = groups.indices.last, !groups[i].closed, e.ts.minus(groups[i].end) < gap {
                groups[i].end = e.ts
                accumulate(e, into: &groups[i], key: key)
                arm(close: groups[i], key: key)
            } else {
                var g = newGroup(start: e.ts, end: e.ts)
                accumulate(e, into: &g, key: key)
                groups.append(g)
                arm(close: g, key: key)
            }
            return
        }
        for w in windowStarts(e.ts) {
            let i = index(of: w.start, in: &groups, end: w.end, key: key)
            accumulate(e, into: &groups[i], key: key)
        }
    }

    /// Adds an event behind the watermark `watermark` but within the allowed lateness
    /// (`ts >= watermark - allowed`): it joins its groups — reopening or merging
    /// sessions — and every already emitted group it changes is emitted again at once.
    mutating func absorbLate(_ e: Event, key: [Value], watermark: Int64, into out: inout [DetectorOutput]) {
        var groups = state.groups.removeValue(forKey: key) ?? []
        defer { state.groups[key] = groups.isEmpty ? nil : groups }
        if !rule.isSession {
            for w in windowStarts(e.ts) {
                let i = index(of: w.start, in: &groups, end: w.end, key: key)
                accumulate(e, into: &groups[i], key: key)
                // A window that had no events until now is emitted for the first time.
                if w.end <= watermark { settle(&groups[i], key: key, into: &out) }
            }
            return
        }
        // Sessions the event touches: within a gap of their first or last event.
        let touching = groups.indices.filter { e.ts.minus(groups[$0].end) < gap && groups[$0].start.minus(e.ts) < gap }
        var g: Group
        if let first = touching.first {
            g = groups[first]
            for j in touching.dropFirst() {
                var other = groups[j]
                if other.rowLive { row(.delete, &other, key: key, into: &out) }
                g.end = max(g.end, other.end)
                g.events += other.events
                g.alerted = g.alerted || other.alerted
                for a in g.accumulators.indices { g.accumulators[a].merge(other.accumulators[a]) }
                state.openGroups -= 1
            }
            for j in touching.reversed() { groups.remove(at: j) }
            // A session that starts earlier now has another identity: withdraw the old row.
            if e.ts < g.start && g.rowLive { row(.delete, &g, key: key, into: &out) }
            g.start = min(g.start, e.ts)
            g.end = max(g.end, e.ts)
        } else {
            g = newGroup(start: e.ts, end: e.ts)
        }
        accumulate(e, into: &g, key: key)
        if closesAt(g) <= watermark {
            g.closed = false
            settle(&g, key: key, into: &out)
        } else {
            g.closed = false
            arm(close: g, key: key)
        }
        let at = groups.firstIndex { $0.start > g.start } ?? groups.endIndex
        groups.insert(g, at: at)
    }

    /// Emits a group now known to be complete (closed, or updated after closing), then
    /// keeps it for late updates or forgets it.
    private mutating func settle(_ g: inout Group, key: [Value], into out: inout [DetectorOutput]) {
        emit(&g, key: key, into: &out)
        if !g.closed {
            g.closed = true
            state.timers.push(Timer(deadline: closesAt(g).plus(allowed), seq: g.seq, key: key, purge: true))
        }
    }

    /// The index of the window starting at `start`, created (and its close armed) if new.
    private mutating func index(of start: Int64, in groups: inout [Group], end: Int64, key: [Value]) -> Int {
        var at = groups.endIndex
        for i in groups.indices.reversed() {
            if groups[i].start == start { return i }
            if groups[i].start < start { break }
            at = i
        }
        let g = newGroup(start: start, end: end)
        groups.insert(g, at: at)
        arm(close: g, key: key)
        return at
    }

    private mutating func arm(close g: Group, key: [Value]) {
        state.timers.push(Timer(deadline: closesAt(g), seq: g.seq, key: key, purge: false))
    }

    private mutating func newGroup(start: Int64, end: Int64) -> Group {
        state.nextSeq += 1
        state.openGroups += 1
        return Group(start: start, end: end,
                     accumulators: rule.aggregates.map { Accumulator.start($0.function, type: $0.type) }, seq: state.nextSeq)
    }

    private func accumulate(_ e: Event, into g: inout Group, key: [Value]) {
        g.events += 1
        let ctx = EvalContext(event: e, bound: BoundEvents(), key: key, detectedAt: e.ts)
        for (i, spec) in rule.aggregates.enumerated() {
            let v = spec.argument.map { $0(ctx) } ?? .bool(true)
            g.accumulators[i].add(v, ts: e.ts, origin: e.origin)
        }
    }

    /// Closes every group whose end is at or before `time` and forgets those whose
    /// allowed lateness is over, in deadline order.
    mutating func close(upTo time: Int64, into out: inout [DetectorOutput]) {
        while let t = state.timers.min, t.deadline <= time {
            state.timers.pop()
            guard var groups = state.groups[t.key], let i = groups.firstIndex(where: { $0.seq == t.seq }) else { continue }
            // Timers are not cancelled: one whose group has since grown, merged or closed is stale.
            let closes = closesAt(groups[i])
            if t.purge ? (!groups[i].closed || closes.plus(allowed) != t.deadline) : (groups[i].closed || closes != t.deadline) {
                continue
            }
            if !t.purge && allowed > 0 {
                settle(&groups[i], key: t.key, into: &out)
                state.groups[t.key] = groups
                continue
            }
            var g = groups.remove(at: i)
            state.openGroups -= 1
            state.groups[t.key] = groups.isEmpty ? nil : groups
            if !t.purge { emit(&g, key: t.key, into: &out) }
        }
    }

    private func view(_ g: Group) -> GroupView {
        GroupView(results: g.accumulators.map(\.result), start: g.start, end: g.end, events: g.events)
    }

    /// One row (if the rule writes rows) and the alert (once per group), when `having`
    /// holds; otherwise a row emitted before is withdrawn.
    private func emit(_ g: inout Group, key: [Value], into out: inout [DetectorOutput]) {
        let at = closesAt(g)
        let ctx = EvalContext(event: nil, bound: BoundEvents(), key: key, detectedAt: at, group: view(g))
        guard rule.having.map({ $0(ctx).isTrue }) ?? true else {
            if g.rowLive { row(.delete, &g, key: key, into: &out) }
            return
        }
        if rule.rows != nil { row(.upsert, &g, key: key, into: &out) }
        guard rule.hasAlert, !g.alerted else { return }
        g.alerted = true
        var h = FNV1a()
        h.add(rule.name)
        for v in key { h.add(v.json) }
        h.add(g.start)
        h.add(g.end)
        out.append(.alert(Alert(id: h.hex, rule: rule.name, severity: rule.severity, tags: rule.tags,
                                key: zip(rule.keyNames, key).map { ($0, $1) }, message: rule.message.render(ctx),
                                detectedAt: at, matched: [], window: (g.start, g.end))))
    }

    private func row(_ op: Row.Op, _ g: inout Group, key: [Value], into out: inout [DetectorOutput]) {
        guard let spec = rule.rows else { return }
        g.versions += 1
        g.rowLive = op == .upsert
        let ctx = EvalContext(event: nil, bound: BoundEvents(), key: key, detectedAt: closesAt(g), group: view(g))
        var values = key
        values.append(.timestamp(g.start))
        values.append(.timestamp(g.end))
        if rule.isSession { values.append(.int(g.events)) }
        for e in spec.select { values.append(e(ctx)) }
        out.append(.row(Row(table: spec.table, rule: rule.name, op: op, version: g.versions, columns: spec.columns, values: values)))
    }
}
