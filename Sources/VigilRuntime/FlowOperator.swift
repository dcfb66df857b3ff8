/// What one flow did with the events of its stream, for the run summary.
public struct FlowStats: Sendable, Codable, Equatable {
    /// Events the flow read.
    public var events = 0
    /// Events `where` filtered out (never checked against the expectations).
    public var filtered = 0
    /// Rows written to the flow's table (a row that only failed `warn` expectations
    /// included).
    public var written = 0
    public var dropped = 0
    public var quarantined = 0
    /// Per expectation: the rows that failed it, whatever its action did.
    public var failures: [String: Int] = [:]

    public init() {}
}

/// A `fail` expectation was not met: the detector stops at this event.
public struct FlowFailure: Sendable, Error, CustomStringConvertible {
    public var flow: String
    /// The failed `fail` expectations, and the other failed expectations.
    public var expectations: [String]
    public var event: Event
    /// The first false conjunct of the first failed `fail` expectation, with the values
    /// it read: `amount >= 0 is false (amount = -5.0)`.
    public var reason: String

    public var description: String {
        "expectation `\(expectations[0])` of flow `\(flow)` failed: \(reason)"
    }
}

/// Runs one flow over an event. Stateless: the counters live in the detector's stats.
struct FlowOperator {
    let rule: FlowRule
    let quarantine: RowOutput?

    init(rule: FlowRule) {
        self.rule = rule
        self.quarantine = rule.quarantine
    }

    /// Appends the flow's row (or quarantine row) for `e`. Returns the failure when a
    /// `fail` expectation is not met; then nothing is appended.
    func process(_ e: Event, references: [ReferenceTable], stats: inout FlowStats, into out: inout [DetectorOutput]) -> FlowFailure? {
        stats.events += 1
        var values = e.values
        for (r, slot) in rule.enrich { values += references[r].lookup(e.values[slot]) }
        let enriched = Event(stream: e.stream, ts: e.ts, origin: e.origin, values: values)
        let ctx = EvalContext(event: enriched, bound: BoundEvents(), key: [], detectedAt: e.ts)
        for f in rule.filters where !f(ctx).isTrue {
            stats.filtered += 1
            return nil
        }
        var failed: [Expectation] = []
        for x in rule.expectations where !x.check(ctx).isTrue { failed.append(x) }
        for x in failed { stats.failures[x.name, default: 0] += 1 }
        let action = failed.map(\.action).max()
        if action == .fail {
            let first = failed.first { $0.action == .fail }!
            return FlowFailure(flow: rule.name, expectations: [first.name] + failed.map(\.name).filter { $0 != first.name },
                               event: e, reason: Self.why(first, ctx))
        }
        let row = rule.rows.select.map { $0(ctx) }
        switch action {
        case .drop?:
            stats.dropped += 1
        case .quarantine?:
            stats.quarantined += 1
            let q = quarantine!
            out.append(.row(Row(table: q.table, rule: rule.name, op: .upsert, version: 1, columns: q.columns,
                                values: row + [.string(failed.map(\.name).joined(separator: ",")), .timestamp(e.ts)], at: e.ts)))
        default:
            stats.written += 1
            out.append(.row(Row(table: rule.rows.table, rule: rule.name, op: .upsert, version: 1, columns: rule.rows.columns,
                                values: row, at: e.ts)))
        }
        return nil
    }

    /// `amount >= 0 is false (amount = -5.0)`: the first conjunct that does not hold.
    static func why(_ x: Expectation, _ ctx: EvalContext) -> String {
        for p in x.parts {
            let v = p.eval(ctx)
            guard !v.isTrue else { continue }
            let values = p.operands.map { "\($0.text) = \($0.eval(ctx).json)" }
            return "`\(p.text)` is \(v.isNull ? "null" : "false")" + (values.isEmpty ? "" : " (\(values.joined(separator: ", ")))")
        }
        return "`\(x.text)` is not true"
    }
}
