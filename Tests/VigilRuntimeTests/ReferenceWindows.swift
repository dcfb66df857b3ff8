/// The slow, obviously correct model of windows and sessions that the differential
/// tests compare the engine with. It never simulates timers or merges: it decides, by
/// arrival, which events a rule takes in, then forms every group from scratch.
struct RefWindows {
    enum Kind {
        case tumbling(Int64)
        case hopping(Int64, every: Int64)
        case session(gap: Int64)
    }

    struct Ev {
        var key: String
        var ts: Int64
        var line: Int64
        var id: String
        var v: Int64
    }

    struct Group {
        var key: String
        var start: Int64
        /// Window end (exclusive), or the session's last event time.
        var end: Int64
        /// In event-time order (ties by arrival).
        var events: [Ev]
        /// When the group closes: the window end, or the last event + gap.
        var deadline: Int64
    }

    var kind: Kind
    /// The stream's lateness: the watermark is the maximum event time seen minus it.
    var lateness: Int64
    var allowed: Int64

    /// Splits the arrivals into the events the rule takes in and the late ones: an event
    /// is taken in when it is not behind the watermark, or at most `allowed` behind it.
    func admit(_ arrivals: [Ev]) -> (admitted: [Ev], late: [String]) {
        var maxTs = Int64.min
        var admitted: [Ev] = []
        var late: [String] = []
        for e in arrivals {
            let watermark = maxTs == .min ? Int64.min : maxTs - lateness
            if e.ts >= watermark {
                admitted.append(e)
                maxTs = max(maxTs, e.ts)
            } else if allowed > 0 && e.ts >= watermark - allowed {
                admitted.append(e)
            } else {
                late.append(e.id)
            }
        }
        return (admitted, late)
    }

    /// Every group over `events`, each key's groups formed from scratch.
    func groups(_ events: [Ev]) -> [Group] {
        let sorted = events.sorted { ($0.ts, $0.line) < ($1.ts, $1.line) }
        var out: [Group] = []
        for key in Set(sorted.map(\.key)).sorted() {
            let mine = sorted.filter { $0.key == key }
            switch kind {
            case .tumbling(let size):
                out += windows(mine, key: key, size: size, every: size)
            case .hopping(let size, let every):
                out += windows(mine, key: key, size: size, every: every)
            case .session(let gap):
                var current: Group?
                for e in mine {
                    if var g = current, e.ts - g.end < gap {
                        g.end = e.ts
                        g.events.append(e)
                        g.deadline = e.ts + gap
                        current = g
                    } else {
                        if let g = current { out.append(g) }
                        current = Group(key: key, start: e.ts, end: e.ts, events: [e], deadline: e.ts + gap)
                    }
                }
                if let g = current { out.append(g) }
            }
        }
        return out
    }

    private func windows(_ events: [Ev], key: String, size: Int64, every: Int64) -> [Group] {
        var byStart: [Int64: Group] = [:]
        for e in events {
            // Every start s = k * every with s <= ts < s + size, by brute force.
            var s = (e.ts / every - size / every - 2) * every
            while s <= e.ts {
                if s + size > e.ts {
                    byStart[s, default: Group(key: key, start: s, end: s + size, events: [], deadline: s + size)].events.append(e)
                }
                s += every
            }
        }
        return byStart.values.sorted { $0.start < $1.start }
    }

    /// The order groups close in when nothing arrives late: by closing time, then by the
    /// order they were opened (their first event's release order, then start).
    func closeOrder(_ groups: [Group]) -> [Group] {
        groups.sorted {
            let a = $0.events[0], b = $1.events[0]
            return ($0.deadline, a.ts, a.line, $0.start) < ($1.deadline, b.ts, b.line, $1.start)
        }
    }

    /// The row the engine writes for a group: key, bounds (and event count for sessions),
    /// then `count(), sum(v), min(v), max(v), first(id), last(id)`.
    func row(_ g: Group) -> [String] {
        var out = [g.key, String(g.start), String(g.end)]
        if case .session = kind { out.append(String(g.events.count)) }
        let vs = g.events.map(\.v)
        out += [String(vs.count), String(vs.reduce(0, +)), String(vs.min()!), String(vs.max()!),
                g.events.first!.id, g.events.last!.id]
        return out
    }
}
