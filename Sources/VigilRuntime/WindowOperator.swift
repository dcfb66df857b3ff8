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
        /// Creation order: identifies the group.
        var seq: UInt64
        /// The event that created it: ties between groups closing together break on it
        /// (as on creation order when events come in order), the same however keys are
        /// sharded.
        var first: EventStamp
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
        var first: EventStamp
        var seq: UInt64
        /// The key's slot (a group's seq is unique, so a reused slot cannot confuse it).
        var slot: Int32
        /// Forget the group (allowed lateness over) rather than close it.
        var purge: Bool
        static func < (a: Timer, b: Timer) -> Bool {
            if a.deadline != b.deadline { return a.deadline < b.deadline }
            if a.first != b.first { return a.first < b.first }
            return a.seq < b.seq
        }
        static func == (a: Timer, b: Timer) -> Bool { a.deadline == b.deadline && a.seq == b.seq }
    }

    struct State: Sendable {
        /// Keys with groups, each in a slot: one lookup per event, made from the event's
        /// key fields in place (a `[[Value]: slot]` dictionary built a key array per
        /// event and hashed it with SipHash: a third of a window rule's time), then the
        /// key's groups change in place.
        var table = KeyTable()
        /// Per slot: the key's groups by start.
        var slots: [[Group]] = []
        var timers = MinHeap<Timer>()
        var nextSeq: UInt64 = 0
        var openGroups = 0
    }

    var state = State()
    private let gap: Int64
    private let allowed: Int64
    /// What its alerts share.
    private let source: AlertSource

    init(rule: WindowRule) {
        self.rule = rule
        source = AlertSource(rule: rule.name, severity: rule.severity, tags: rule.tags, keyNames: rule.keyNames)
        if case .session(let g) = rule.kind { gap = g } else { gap = 0 }
        allowed = rule.allowedLatenessMs
    }

    /// The earliest time at which a group closes or is forgotten.
    var nextDeadline: Int64? { state.timers.min?.deadline }

    /// When the group closes: its window end, or its last event + gap.
    private func closesAt(_ g: Group) -> Int64 { rule.isSession ? g.end.plus(gap) : g.end }


    /// The index (start / hop) of the first window holding an event at `ts`.
    private func firstWindow(_ ts: Int64) -> Int64 {
        switch rule.kind {
        case .tumbling(let size): return ts.floorDivided(by: size)
        case .hopping(let size, let every): return ts.minus(size).floorDivided(by: every) + 1
        case .session: return 0
        }
    }

    /// Window `k` when it holds `ts` (windows holding `ts` have consecutive indices).
    private func window(_ k: Int64, containing ts: Int64) -> (start: Int64, end: Int64)? {
        let start: Int64, size: Int64
        switch rule.kind {
        case .tumbling(let sz): start = k &* sz; size = sz
        case .hopping(let sz, let every): start = k &* every; size = sz
        case .session: return nil
        }
        return start <= ts && ts < start.plus(size) ? (start, start.plus(size)) : nil
    }

    /// The slot of the key made of `fields` of the event `e`, taken when the key has none.
    private mutating func slot(for e: EventPlace, fields: UnsafeBufferPointer<Int>) -> Int {
        let hash = KeyTable.hash(row: e.row, fields)
        if let s = state.table.find(row: e.row, fields: fields, hash: hash) { return Int(s) }
        let s = Int(state.table.insert(row: e.row, fields: fields, hash: hash))
        if s == state.slots.count { state.slots.append([]) }
        return s
    }

    /// Gives the slot back once its key holds no group.
    private mutating func release(slot s: Int) {
        guard state.slots[s].isEmpty else { return }
        state.table.remove(Int32(s))
    }

    /// Adds an event released in event-time order to every group it belongs to; its key
    /// is its values at `keyFields`.
    mutating func process(_ e: EventPlace, keyFields: UnsafeBufferPointer<Int>) {
        let s = slot(for: e, fields: keyFields)
        let key = state.table.keys[s]
        let aggregates = rule.aggregates
        if rule.isSession {
            // In event-time order only the latest session can grow: a closed one ended
            // at least a gap before the watermark, so before this event.
            let n = state.slots[s].count
            if n > 0, !state.slots[s][n - 1].closed, e.ts.minus(state.slots[s][n - 1].end) < gap {
                // Its close timer stays armed at the old end; when it fires it is moved
                // to the new one (one timer per session, not one per event).
                state.slots[s][n - 1].end = e.ts
                Self.accumulate(aggregates, e, into: &state.slots[s][n - 1], key: key)
            } else {
                var g = newGroup(start: e.ts, end: e.ts, first: e)
                Self.accumulate(aggregates, e, into: &g, key: key)
                state.slots[s].append(g)
                arm(close: g, slot: s)
            }
            return
        }
        var k = firstWindow(e.ts)
        while let w = window(k, containing: e.ts) {
            let i = index(of: w.start, slot: s, end: w.end, first: e)
            Self.accumulate(aggregates, e, into: &state.slots[s][i], key: key)
            k += 1
        }
    }

    /// Adds an event behind the watermark `watermark` but within the allowed lateness
    /// (`ts >= watermark - allowed`): it joins its groups — reopening or merging
    /// sessions — and every already emitted group it changes is emitted again at once.
    mutating func absorbLate(_ event: Event, keyFields: [Int], watermark: Int64, into out: inout [DetectorOutput]) {
        event.values.withUnsafeBufferPointer { values in
            guard let row = values.baseAddress else { return }
            keyFields.withUnsafeBufferPointer { fields in
                absorbLate(EventPlace(ts: event.ts, origin: event.origin, row: row), keyFields: fields, watermark: watermark, into: &out)
            }
        }
    }

    private mutating func absorbLate(_ e: EventPlace, keyFields: UnsafeBufferPointer<Int>, watermark: Int64, into out: inout [DetectorOutput]) {
        let s = slot(for: e, fields: keyFields)
        let key = state.table.keys[s]
        let aggregates = rule.aggregates
        defer { release(slot: s) }
        if !rule.isSession {
            var k = firstWindow(e.ts)
            while let w = window(k, containing: e.ts) {
                let i = index(of: w.start, slot: s, end: w.end, first: e)
                Self.accumulate(aggregates, e, into: &state.slots[s][i], key: key)
                // A window that had no events until now is emitted for the first time.
                if w.end <= watermark {
                    var g = state.slots[s][i]
                    settle(&g, slot: s, into: &out)
                    state.slots[s][i] = g
                }
                k += 1
            }
            return
        }
        var groups = state.slots[s]
        state.slots[s] = []
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
            g = newGroup(start: e.ts, end: e.ts, first: e)
        }
        Self.accumulate(aggregates, e, into: &g, key: key)
        g.closed = false
        if closesAt(g) <= watermark {
            settle(&g, slot: s, into: &out)
        } else {
            arm(close: g, slot: s)
        }
        let at = groups.firstIndex { $0.start > g.start } ?? groups.endIndex
        groups.insert(g, at: at)
        state.slots[s] = groups
    }

    /// Emits a group now known to be complete (closed, or updated after closing), then
    /// keeps it for late updates until its end + allowed lateness.
    private mutating func settle(_ g: inout Group, slot s: Int, into out: inout [DetectorOutput]) {
        emit(&g, key: state.table.keys[s], into: &out)
        if !g.closed {
            g.closed = true
            state.timers.push(Timer(deadline: closesAt(g).plus(allowed), first: g.first, seq: g.seq, slot: Int32(s), purge: true))
        }
    }

    /// The index of the slot's window starting at `start`, created (and its close armed) if new.
    private mutating func index(of start: Int64, slot s: Int, end: Int64, first e: EventPlace) -> Int {
        var at = state.slots[s].endIndex
        for i in state.slots[s].indices.reversed() {
            if state.slots[s][i].start == start { return i }
            if state.slots[s][i].start < start { break }
            at = i
        }
        let g = newGroup(start: start, end: end, first: e)
        state.slots[s].insert(g, at: at)
        arm(close: g, slot: s)
        return at
    }

    private mutating func arm(close g: Group, slot s: Int) {
        state.timers.push(Timer(deadline: closesAt(g), first: g.first, seq: g.seq, slot: Int32(s), purge: false))
    }

    private mutating func newGroup(start: Int64, end: Int64, first e: EventPlace) -> Group {
        state.nextSeq += 1
        state.openGroups += 1
        return Group(start: start, end: end,
                     accumulators: rule.aggregates.map { Accumulator.start($0.function, type: $0.type) }, seq: state.nextSeq,
                     first: EventStamp(ts: e.ts, input: e.origin.input, line: e.origin.line))
    }

    private static func accumulate(_ aggregates: [AggregateSpec], _ e: EventPlace, into g: inout Group, key: [Value]) {
        g.events += 1
        let ctx = EvalContext(row: e.row, store: nil, key: key, detectedAt: e.ts)
        for i in aggregates.indices {
            let v = aggregates[i].argument.map { $0(ctx) } ?? .bool(true)
            g.accumulators[i].add(v, ts: e.ts, origin: e.origin)
        }
    }

    /// Closes every group whose end is at or before `time` and forgets those whose
    /// allowed lateness is over, in deadline order.
    mutating func close(upTo time: Int64, into out: inout [DetectorOutput]) {
        var none: [Closed]? = nil
        close(upTo: time, into: &out, recording: &none)
    }

    /// What one timer emitted, for the tags of sharded detectors.
    struct Closed {
        var deadline: Int64
        var first: EventStamp
        var outputs: Int
    }

    /// `close(upTo:into:)`, recording what each timer emitted when `recording` is not nil.
    mutating func close(upTo time: Int64, into out: inout [DetectorOutput], recording: inout [Closed]?) {
        while let t = state.timers.min, t.deadline <= time {
            let before = out.count
            defer { if recording != nil && out.count > before { recording!.append(Closed(deadline: t.deadline, first: t.first, outputs: out.count - before)) } }
            state.timers.pop()
            let s = Int(t.slot)
            guard let i = state.slots[s].firstIndex(where: { $0.seq == t.seq }) else { continue }
            // Timers are not cancelled: one whose group has since merged or closed is stale,
            // and one whose session has grown moves to the session's new end.
            let closes = closesAt(state.slots[s][i])
            let closed = state.slots[s][i].closed
            if !t.purge && !closed && closes > t.deadline {
                var later = t
                later.deadline = closes
                state.timers.push(later)
                continue
            }
            if t.purge ? (!closed || closes.plus(allowed) != t.deadline) : (closed || closes != t.deadline) {
                continue
            }
            var g = state.slots[s][i]
            if !t.purge && allowed > 0 {
                settle(&g, slot: s, into: &out)
                state.slots[s][i] = g
                continue
            }
            state.slots[s].remove(at: i)
            state.openGroups -= 1
            if !t.purge { emit(&g, key: state.table.keys[s], into: &out) }
            release(slot: s)
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
        out.append(.alert(Alert(id: h.hex, source: source, keyValues: key, message: rule.message.render(ctx),
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
        out.append(.row(Row(table: spec.table, rule: rule.name, op: op, version: g.versions, columns: spec.columns, values: values,
                            at: ctx.detectedAt)))
    }
}

// Snapshots taken before groups recorded their first event (checkpoints of earlier
// builds) still restore: such groups and timers take the earliest stamp, so among
// themselves they keep breaking ties on creation order, as when they were taken, and
// close before groups opened after the restore.
extension WindowOperator.Group {
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        start = try c.decode(Int64.self, forKey: .start)
        end = try c.decode(Int64.self, forKey: .end)
        events = try c.decode(Int64.self, forKey: .events)
        accumulators = try c.decode([Accumulator].self, forKey: .accumulators)
        seq = try c.decode(UInt64.self, forKey: .seq)
        first = try c.decodeIfPresent(EventStamp.self, forKey: .first) ?? .earliest
        versions = try c.decode(Int.self, forKey: .versions)
        rowLive = try c.decode(Bool.self, forKey: .rowLive)
        alerted = try c.decode(Bool.self, forKey: .alerted)
        closed = try c.decode(Bool.self, forKey: .closed)
    }
}

extension WindowOperator.Timer {
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        deadline = try c.decode(Int64.self, forKey: .deadline)
        first = try c.decodeIfPresent(EventStamp.self, forKey: .first) ?? .earliest
        seq = try c.decode(UInt64.self, forKey: .seq)
        slot = try c.decode(Int32.self, forKey: .slot)
        purge = try c.decode(Bool.self, forKey: .purge)
    }
}

extension EventStamp {
    static let earliest = EventStamp(ts: .min, input: .min, line: .min)
}

/// An event as a window rule reads it: its time and origin, and its values in place
/// (in the detector's `EventStore`, or in a late event's own array).
struct EventPlace {
    var ts: Int64
    var origin: EventOrigin
    var row: UnsafePointer<Value>
}

extension WindowOperator.State: Codable {
    private enum CodingKeys: String, CodingKey { case table, slots, timers, nextSeq, openGroups, keys, free }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        slots = try c.decode([[WindowOperator.Group]].self, forKey: .slots)
        timers = try c.decode(MinHeap<WindowOperator.Timer>.self, forKey: .timers)
        nextSeq = try c.decode(UInt64.self, forKey: .nextSeq)
        openGroups = try c.decode(Int.self, forKey: .openGroups)
        if let table = try c.decodeIfPresent(KeyTable.self, forKey: .table) {
            self.table = table
        } else {
            // An earlier build's snapshot: per slot its key (empty when free), and the
            // free slots.
            let keys = try c.decode([[Value]].self, forKey: .keys)
            let free = Set(try c.decode([Int32].self, forKey: .free))
            table = KeyTable(keys: keys, live: keys.indices.map { !free.contains(Int32($0)) })
        }
        guard table.slotCount == slots.count else {
            throw DecodingError.dataCorruptedError(forKey: .slots, in: c, debugDescription: "\(table.slotCount) keys but \(slots.count) slots")
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(table, forKey: .table)
        try c.encode(slots, forKey: .slots)
        try c.encode(timers, forKey: .timers)
        try c.encode(nextSeq, forKey: .nextSeq)
        try c.encode(openGroups, forKey: .openGroups)
    }
}
