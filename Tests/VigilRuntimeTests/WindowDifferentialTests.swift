import Testing
import VigilRuntime

/// Random window and session rules over random keyed streams with out-of-order events
/// (within the stream's lateness, within the allowed lateness, and beyond both): the
/// engine must agree with `RefWindows`.
///
/// - Late events: exactly the reference's, in arrival order.
/// - Rows applied in order to a table keyed by (key, start) — an upsert replaces, a
///   delete removes — give exactly the groups formed from scratch over the admitted
///   events (where `having` holds).
/// - Without allowed lateness nothing is ever updated: one row per group, version 1, in
///   closing order, and the alerts in the same order.
/// - With it, each group alerts at most once, and every group whose final `having`
///   holds has alerted.
/// - A snapshot and restore at a random event changes nothing.
@Suite struct WindowDifferentialTests {
    struct Config: CustomStringConvertible {
        var kind: RefWindows.Kind
        var clause: String
        var lateness: Int64
        var allowed: Int64
        var having: (text: String, holds: ([RefWindows.Ev]) -> Bool)?
        var description: String {
            "\(clause)\(allowed > 0 ? " allowed lateness \(allowed)ms" : ""), lateness \(lateness)" + (having.map { ", having \($0.text)" } ?? "")
        }
    }

    static func config(_ rng: inout DifferentialTests.SplitMix) -> Config {
        let kinds: [(RefWindows.Kind, String)] = [
            (.tumbling(5), "window tumbling 5ms"), (.tumbling(10), "window tumbling 10ms"),
            (.hopping(10, every: 5), "window hopping 10ms every 5ms"), (.hopping(9, every: 3), "window hopping 9ms every 3ms"),
            (.session(gap: 3), "session gap 3ms"), (.session(gap: 5), "session gap 5ms"), (.session(gap: 10), "session gap 10ms"),
        ]
        let (kind, clause) = kinds.randomElement(using: &rng)!
        let havings: [(String, ([RefWindows.Ev]) -> Bool)?] = [
            nil, nil, ("count() >= 2", { $0.count >= 2 }), ("sum(v) > 10", { $0.map(\.v).reduce(0, +) > 10 }),
        ]
        return Config(kind: kind, clause: clause, lateness: [0, 0, 2, 5].randomElement(using: &rng)!,
                      allowed: [0, 0, 10, 25, 60].randomElement(using: &rng)!, having: havings.randomElement(using: &rng)!)
    }

    /// Mostly rising event times with ties, jumps and events thrown back in time.
    static func events(_ rng: inout DifferentialTests.SplitMix) -> String {
        var t: Int64 = Int64.random(in: 0...20, using: &rng)
        var out: [String] = []
        for i in 1...Int.random(in: 1...30, using: &rng) {
            t += [0, 0, 1, 1, 2, 3, 5, 8, 15].randomElement(using: &rng)!
            var ts = t
            if Int.random(in: 0..<4, using: &rng) == 0 { ts = max(0, t - Int64.random(in: 1...30, using: &rng)) }
            let type = ["a", "b"].randomElement(using: &rng)!
            let key = ["k", "u"].randomElement(using: &rng)!
            out.append("\(type)\(i)@\(ts)=\(Int.random(in: -3...9, using: &rng))#\(key)")
        }
        return out.joined(separator: " ")
    }

    @Test func engineAgreesWithTheReference() throws {
        var rng = DifferentialTests.SplitMix(state: 0x57_1D0E)
        var byKind: [String: Int] = [:]
        var seen = (late: 0, updates: 0, deletes: 0)
        for n in 0..<2500 {
            let c = Self.config(&rng)
            let text = Self.eventsText(&rng)
            let o = try check(c, text, snapshotAt: Int.random(in: 0..<40, using: &rng), case: n)
            seen.late += o.late.count
            seen.updates += o.rows.filter { $0.op == .upsert && $0.version > 1 }.count
            seen.deletes += o.rows.filter { $0.op == .delete }.count
            let kind = c.clause.split(separator: " ").prefix(2).joined(separator: " ")
            byKind[kind + (c.allowed > 0 ? " + allowed lateness" : "")] = (byKind[kind + (c.allowed > 0 ? " + allowed lateness" : "")] ?? 0) + 1
        }
        // Every shape, with and without allowed lateness, is exercised many times.
        #expect(byKind.count == 6, "\(byKind)")
        #expect(byKind.values.allSatisfy { $0 >= 100 }, "\(byKind)")
        // ...and late events, late updates and withdrawn rows are common.
        #expect(seen.late >= 500 && seen.updates >= 500 && seen.deletes >= 50, "\(String(describing: seen))")
    }

    static func eventsText(_ rng: inout DifferentialTests.SplitMix) -> String { events(&rng) }

    @discardableResult
    func check(_ c: Config, _ eventText: String, snapshotAt: Int, case n: Int) throws -> Harness.Outcome {
        var text = Harness.header.replacingOccurrences(of: "LATENESS", with: String(c.lateness))
        text += "rule r\n  from s\n  \(c.clause)\(c.allowed > 0 ? " allowed lateness \(c.allowed)ms" : "")\n"
        if let h = c.having { text += "  having \(h.text)\n" }
        text += "  alert \"a\"\n  select count() as n, sum(v) as total, min(v) as lo, max(v) as hi, first(id) as f, last(id) as l\n"
        text += "  into table gold.t\n"
        let program = try Harness.compile(text)
        let events = Harness.events(eventText, program: program)
        let outcome = try Harness.run(program, events)
        let place = "case \(n): \(c) over \(eventText)"

        let ref = RefWindows(kind: c.kind, lateness: c.lateness, allowed: c.allowed)
        let arrivals = events.map { e -> RefWindows.Ev in
            guard case .string(let k) = e.values[0], case .int(let v) = e.values[4] else { fatalError() }
            return RefWindows.Ev(key: k, ts: e.ts, line: e.origin.line, id: Harness.id(e), v: v)
        }
        let (admitted, late) = ref.admit(arrivals)
        #expect(outcome.late == late, "\(place): late events")
        let groups = ref.groups(admitted).filter { c.having?.holds($0.events) ?? true }

        // The table the rows build, against the groups formed from scratch.
        var table: [String: [String]] = [:]
        var versions: [String: Int] = [:]
        for row in outcome.rows {
            let values = row.values.map(Harness.render)
            let identity = values[0] + "@" + values[1]
            switch row.op {
            case .upsert: table[identity] = values
            case .delete:
                #expect(table[identity] != nil, "\(place): delete of a row not in the table: \(Harness.render(row))")
                table[identity] = nil
            }
            versions[identity] = row.version
        }
        let expected = Dictionary(uniqueKeysWithValues: groups.map { ($0.key + "@" + String($0.start), ref.row($0)) })
        #expect(table == expected, "\(place): final table")

        let alerts = outcome.alerts.map { "\(Harness.render($0.key[0].value))@\($0.window!.start)" }
        if c.allowed == 0 {
            let order = ref.closeOrder(groups)
            #expect(outcome.rows.map(Harness.render) == order.map { "+1(" + ref.row($0).joined(separator: ",") + ")" },
                    "\(place): rows in closing order")
            #expect(alerts == order.map { "\($0.key)@\($0.start)" }, "\(place): alerts")
        } else {
            #expect(Set(alerts).count == alerts.count, "\(place): a group alerted twice")
            for g in groups {
                // A session may have alerted under an earlier start before a late event moved it.
                let hit = outcome.alerts.contains {
                    $0.key[0].value == .string(g.key) && $0.window!.start >= g.start && $0.window!.start <= g.end
                }
                #expect(hit, "\(place): group \(g.key)@\(g.start) never alerted")
            }
        }

        let again = try Harness.run(program, events, snapshotAt: min(snapshotAt, events.count - 1))
        #expect(again.rows.map(Harness.render) == outcome.rows.map(Harness.render) && again.late == outcome.late
                && again.alerts.map(\.id) == outcome.alerts.map(\.id), "\(place): snapshot changed the output")
        return outcome
    }
}
