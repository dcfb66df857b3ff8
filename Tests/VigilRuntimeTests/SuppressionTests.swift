import Testing
import VigilRuntime

/// `suppress D by F`, in event time: one alert per value of F per period D; the folded
/// ones are counted, and the next alert emitted says how many. Expected alerts inline as
/// `ids@detection time` with `+N` when N alerts were folded into it.
@Suite struct SuppressionTests {
    func run(_ rule: String, _ events: String, lateness: Int64 = 0) throws -> (alerts: [String], suppressed: Int, unreported: Int) {
        let text = Harness.header.replacingOccurrences(of: "LATENESS", with: String(lateness)) + rule
        let program = try Harness.compile(text)
        let evs = Harness.events(events, program: program)
        let outcome = try Harness.run(program, evs)
        let rendered = outcome.alerts.map { a in
            a.matched.flatMap { $0.events.map(Harness.id) }.joined(separator: ",") + (a.window.map { "[\($0.start)]" } ?? "")
                + "@\(a.detectedAt)" + (a.suppressed > 0 ? "+\(a.suppressed)" : "")
        }
        // Snapshot and restore anywhere: the same alerts.
        for i in 0..<evs.count {
            let again = try Harness.run(program, evs, snapshotAt: i)
            #expect(again.alerts.map(\.id) == outcome.alerts.map(\.id) && again.alerts.map(\.suppressed) == outcome.alerts.map(\.suppressed),
                    "snapshot at \(i) changed the output")
        }
        var detector = Detector(program: program)
        for e in evs { _ = detector.accept(e) }
        _ = detector.finish()
        return (rendered, detector.stats.suppressed.values.reduce(0, +), detector.suppressedUnreported)
    }

    static let every = "rule r\n  from s\n  match a: type == \"a\"\n  alert \"m\"\n"

    @Test func oneAlertPerPeriodAndTheNextSaysHowManyWereFolded() throws {
        let r = try run(Self.every + "  suppress 10ms\n", "a1@0 a2@5 a3@9 a4@10 a5@25 a6@26")
        // a1 opens [0, 10): a2, a3 folded; a4 at 10 is outside and reports them; a5 opens
        // [25, 35): a6 folded, and no later alert reports it.
        #expect(r.alerts == ["a1@0", "a4@10+2", "a5@25"])
        #expect(r.suppressed == 3 && r.unreported == 1)
    }

    @Test func eachKeyHasItsOwnPeriods() throws {
        let r = try run(Self.every + "  suppress 10ms\n", "a1@0#u1 a2@1#u2 a3@2#u1 a4@3#u2 a5@12#u1")
        #expect(r.alerts == ["a1@0", "a2@1", "a5@12+1"])
    }

    @Test func byAFieldOfTheMatch() throws {
        // By `v` (a field of the bound event), not the key: different values never fold.
        let r = try run(Self.every + "  suppress 10ms by v\n", "a1@0=1 a2@1=2 a3@2=1 a4@3=2 a5@4=3")
        #expect(r.alerts == ["a1@0", "a2@1", "a5@4"])
        #expect(r.suppressed == 2)
    }

    @Test func windowAlertsAreSuppressedByKey() throws {
        let rule = "rule r\n  from s\n  window tumbling 10ms\n  alert \"m\"\n  suppress 25ms\n"
        let r = try run(rule, "a1@1 a2@11 a3@21 a4@31 a5@41")
        // Windows close at 10, 20, 30, 40, 50: 10 opens [10, 35), 20 and 30 fold, 40
        // reports them and opens [40, 65), where 50 folds (reported by no later alert).
        #expect(r.alerts == ["[0]@10", "[30]@40+2"])
        #expect(r.suppressed == 3 && r.unreported == 1)
    }

    @Test func withoutSuppressNothingIsFolded() throws {
        let r = try run(Self.every, "a1@0 a2@1 a3@2")
        #expect(r.alerts == ["a1@0", "a2@1", "a3@2"] && r.suppressed == 0)
    }

    @Test func theCountIsInTheAlertLine() throws {
        let program = try Harness.compile(Harness.header.replacingOccurrences(of: "LATENESS", with: "0") + Self.every + "  suppress 10ms\n")
        let outcome = try Harness.run(program, Harness.events("a1@0 a2@5 a3@12", program: program))
        let lines = outcome.alerts.map { $0.json(streams: program.streams) }
        #expect(lines.count == 2 && !lines[0].contains("suppressed") && lines[1].hasSuffix(",\"suppressed\":1}"), "\(lines)")
    }
}
