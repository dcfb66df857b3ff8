/// `suppress D by F`: how a rule limits its alerts.
public struct Suppression: Sendable {
    /// Where a `by` value comes from: a key field, or a field of the rule's last bound
    /// event of a stream (pattern rules).
    public enum Source: Sendable, Hashable {
        case key(Int)
        case field(stream: Int, slot: Int)
    }
    public var periodMs: Int64
    /// Empty: by the rule's key.
    public var by: [Source]

    public init(periodMs: Int64, by: [Source]) {
        self.periodMs = periodMs
        self.by = by
    }

    /// The values an alert is suppressed by.
    func values(of a: Alert) -> [Value] {
        if by.isEmpty { return a.key.map(\.value) }
        return by.map { source in
            switch source {
            case .key(let i): return i < a.key.count ? a.key[i].value : .null
            case .field(let stream, let slot):
                for step in a.matched.reversed() {
                    if let e = step.events.last(where: { Int($0.stream) == stream }) { return e.values[slot] }
                }
                return .null
            }
        }
    }
}

/// The state of one rule's suppression, in event time (detection times), so replays
/// suppress the same alerts: per value of `by`, the end of the current period and how
/// many alerts it folded. No I/O, no clock.
struct Suppressor: Sendable, Codable {
    struct Period: Sendable, Codable {
        var until: Int64
        var folded: Int
    }
    var periods: [[Value]: Period] = [:]
    var cleaned = Int64.min

    /// Whether `a` is emitted; if so it carries how many alerts were folded since the
    /// last one emitted for its values.
    mutating func admit(_ a: inout Alert, _ s: Suppression) -> Bool {
        let values = s.values(of: a)
        if var p = periods[values], a.detectedAt < p.until {
            p.folded += 1
            periods[values] = p
            return false
        }
        a.suppressed = periods[values]?.folded ?? 0
        periods[values] = Period(until: a.detectedAt.plus(s.periodMs), folded: 0)
        return true
    }

    /// Forgets periods that are over and folded nothing (the next alert starts afresh
    /// either way); those with a count wait for the alert that reports it.
    /// At most once per period of event time, so it costs nothing per event.
    mutating func reclaim(before time: Int64, period: Int64) {
        guard cleaned == .min || time.minus(cleaned) > period else { return }
        cleaned = time
        periods = periods.filter { $0.value.until > time || $0.value.folded > 0 }
    }

    /// Alerts folded that no later alert has reported yet.
    var unreported: Int { periods.values.reduce(0) { $0 + $1.folded } }
}

/// Every rule's suppression (rules as the detector numbers them: pattern rules, then
/// window rules; nil for a rule without `suppress`): what the detector applies to each
/// rule's outputs, and the shard merger to the merged outputs.
struct RuleSuppressors: Sendable {
    private let specs: [Suppression?]
    private let names: [String]
    /// Per rule: how far behind its watermark an alert can still be detected (a window
    /// rule's allowed lateness; 0 for pattern rules).
    private let behind: [Int64]
    /// Per rule, what the snapshot holds.
    var states: [Suppressor?]

    init(program: Program) {
        specs = program.rules.map(\.suppress) + program.windows.map(\.suppress)
        names = program.rules.map(\.name) + program.windows.map(\.name)
        behind = program.rules.map { _ in 0 } + program.windows.map(\.allowedLatenessMs)
        states = specs.map { $0 == nil ? nil : Suppressor() }
        suppresses = specs.map { $0 != nil }
    }

    /// Per rule: it has `suppress` (read per event, where testing `states[r]` for nil
    /// copied the suppressor out).
    private let suppresses: [Bool]

    func applies(toRule r: Int) -> Bool { suppresses[r] }

    /// Whether rule `r`'s alert `a` is emitted (it then carries the count folded before
    /// it); a folded one is counted in `suppressed` under the rule's name.
    mutating func admit(_ a: inout Alert, rule r: Int, counting suppressed: inout [String: Int]) -> Bool {
        guard states[r] != nil, let s = specs[r] else { return true }
        if states[r]!.admit(&a, s) { return true }
        suppressed[names[r], default: 0] += 1
        return false
    }

    /// Forgets rule `r`'s periods that no alert can fall in any more, its watermark being
    /// `w`: an alert detected later is at most `behind` the watermark, so reclaiming
    /// never changes what is suppressed.
    @inline(__always) mutating func reclaim(rule r: Int, watermark w: Int64) {
        if suppresses[r] { reclaimPeriods(rule: r, watermark: w) }
    }

    @inline(never) private mutating func reclaimPeriods(rule r: Int, watermark w: Int64) {
        guard states[r] != nil, let s = specs[r], w != Int64.min else { return }
        states[r]!.reclaim(before: w.minus(behind[r]), period: s.periodMs)
    }

    /// Folded alerts that no later alert of their rule and values has reported.
    var unreported: Int { states.reduce(0) { $0 + ($1?.unreported ?? 0) } }
}
