import Foundation
import Testing
@testable import VigilRuntime

/// Tumbling and hopping windows and sessions, with the expected alerts inline:
/// each as its message and detection time.
@Suite struct WindowTests {
    func run(_ clauses: String, _ events: String, lateness: Int64 = 0, snapshotEvery: Bool = true) throws -> [String] {
        let text = Harness.header.replacingOccurrences(of: "LATENESS", with: String(lateness)) + """
            rule r
              from s
              \(clauses)

            """
        let program = try Harness.compile(text)
        let evs = Harness.events(events, program: program)
        let outcome = try Harness.run(program, evs)
        let rendered = outcome.alerts.map { "\($0.message)@\($0.detectedAt)" }
        if snapshotEvery {
            for i in 0..<evs.count {
                let again = try Harness.run(program, evs, snapshotAt: i)
                #expect(again.alerts.map { "\($0.message)@\($0.detectedAt)" } == rendered, "snapshot at \(i) changed the output")
            }
        }
        return rendered
    }

    @Test func tumblingWindowsAlignToTheEpochAndAnEventAtTheEndGoesToTheNext() throws {
        let got = try run(#"window tumbling 10ms having count() >= 2 alert "{k} {count()} from {window_start}""#,
                          "a1@0 a2@5 a3@9 a4@10 a5@19 a6@25")
        #expect(got == ["k 3 from 1970-01-01T00:00:00.000Z@10", "k 2 from 1970-01-01T00:00:00.010Z@20"])
    }

    @Test func emptyWindowsAreNotEmitted() throws {
        let got = try run(#"window tumbling 10ms alert "{count()} in [{window_start}, {window_end})""#, "a1@3 a2@47")
        #expect(got == ["1 in [1970-01-01T00:00:00.000Z, 1970-01-01T00:00:00.010Z)@10",
                        "1 in [1970-01-01T00:00:00.040Z, 1970-01-01T00:00:00.050Z)@50"])
    }

    @Test func hoppingWindowsOverlap() throws {
        let got = try run(#"window hopping 10ms every 5ms alert "{count()} at {window_start}""#, "a1@7 a2@12")
        // [0,10): a1; [5,15): a1 a2; [10,20): a2 — closed in end order.
        #expect(got == ["1 at 1970-01-01T00:00:00.000Z@10", "2 at 1970-01-01T00:00:00.005Z@15", "1 at 1970-01-01T00:00:00.010Z@20"])
    }

    @Test func sessionsCloseWhenTheWatermarkPassesTheGap() throws {
        let got = try run(#"session gap 10ms having count() >= 2 alert "{count()} events over {duration}""#,
                          "a1@0 a2@5 a3@14 a4@30 a5@31 x6@100")
        // Gaps < 10 join: [0, 14] (3 events), then [30, 31] (2); a6 alone fails `having`.
        #expect(got == ["3 events over 14ms@24", "2 events over 1ms@41"])
    }

    @Test func aGapOfExactlyTheSessionGapSplits() throws {
        let got = try run(#"session gap 10ms alert "{count()}""#, "a1@0 a2@10")
        #expect(got == ["1@10", "1@20"])
    }

    @Test func keysHaveTheirOwnWindows() throws {
        let got = try run(#"window tumbling 10ms alert "{k}: {count()}""#, "a1@1#u1 a2@2#u2 a3@3#u1")
        #expect(got == ["u1: 2@10", "u2: 1@10"])
    }

    @Test func aggregates() throws {
        let got = try run(#"""
            window tumbling 100ms
              alert "n={count()} b={count(type == "b")} sum={sum(v)} avg={avg(v)} min={min(v)} max={max(v)} first={first(id)} last={last(id)} distinct={count_distinct(type)} p50={p50(v)}"
            """#, "a1@1=4 b2@2=1 b3@3=7 a4@4=2")
        #expect(got == ["n=4 b=2 sum=14 avg=3.5 min=1 max=7 first=a1 last=a4 distinct=2 p50=1.99@100"])
    }

    @Test func theWatermarkReleasesOutOfOrderEvents() throws {
        let got = try run(#"window tumbling 10ms alert "{count()} {first(id)}""#, "a2@5 a1@3 a3@12", lateness: 5)
        #expect(got == ["2 a1@10", "1 a3@20"])
    }

    /// State is bounded by what is open: closed groups (and, with allowed lateness, those
    /// whose lateness is over) are forgotten, and so are the keys that hold none.
    @Test func stateIsReclaimedWhenGroupsClose() throws {
        for (clauses, kept) in [("session gap 10ms", false), ("window tumbling 10ms", false),
                                ("session gap 10ms allowed lateness 50ms", true)] {
            let text = Harness.header.replacingOccurrences(of: "LATENESS", with: "0")
                + "rule r\n  from s\n  \(clauses)\n  select count() as n\n  into table gold.t\n"
            let program = try Harness.compile(text)
            var detector = Detector(program: program)
            let keys = (1...1000).map { "a\($0)@\($0 / 250)#u\($0)" }.joined(separator: " ")
            for e in Harness.events(keys, program: program) { _ = detector.accept(e) }
            // An event far ahead moves the watermark past every group's end.
            var rows = detector.accept(Harness.events("x1@30#z", program: program)[0]).count
            #expect(rows == 1000, "\(clauses)")
            // With allowed lateness they are kept until end + 50ms, then forgotten.
            #expect(detector.stats.openGroups == (kept ? 1000 : 0), "\(clauses)")
            rows += detector.accept(Harness.events("x2@200#z", program: program)[0]).count
            #expect(detector.stats.openGroups == 0, "\(clauses)")
            #expect(detector.stats.peakOpenGroups >= 999, "\(clauses)")
            rows += detector.finish().count
            #expect(rows == 1002 && detector.stats.openGroups == 0, "\(clauses)")
        }
    }

    /// A checkpoint from a build whose groups and timers did not record their first event
    /// still restores, and the run goes on to the same output (ties between keys closing
    /// together included).
    @Test func snapshotsWithoutFirstEventsStillRestore() throws {
        let text = Harness.header.replacingOccurrences(of: "LATENESS", with: "2") + """
            rule r
              from s
              window tumbling 5ms
              alert "{k} {count()}"

            rule g
              from s
              session gap 3ms
              alert "{k} session {count()}"

            """
        let program = try Harness.compile(text)
        let evs = Harness.events("a1@0#u1 a2@1#u2 a3@1#u3 a4@4#u1 a5@6#u2 a6@6#u3 a7@7#u1 a8@12#u2 a9@13#u3 a10@20#u1", program: program)
        let whole = try Harness.run(program, evs).alerts.map(\.message)
        var cutsWithGroups = 0
        for cut in 1..<evs.count {
            var d = Detector(program: program)
            var messages: [String] = []
            func take(_ o: [DetectorOutput]) { for case .alert(let a) in o { messages.append(a.message) } }
            for e in evs[..<cut] { take(d.accept(e)) }
            // The snapshot as an earlier build wrote it: no `first` anywhere.
            var removed = 0
            func strip(_ v: Any) -> Any {
                if var o = v as? [String: Any] {
                    if o.removeValue(forKey: "first") != nil { removed += 1 }
                    return o.mapValues(strip)
                }
                if let a = v as? [Any] { return a.map(strip) }
                return v
            }
            let old = try JSONSerialization.data(withJSONObject: strip(JSONSerialization.jsonObject(with: Data(d.snapshot(format: .json)))))
            if removed > 0 { cutsWithGroups += 1 }
            d = try Detector(program: program, restoring: [UInt8](old))
            for e in evs[cut...] { take(d.accept(e)) }
            take(d.finish())
            #expect(messages == whole, "restored after event \(cut)")
        }
        #expect(cutsWithGroups >= 4, "only \(cutsWithGroups) snapshots held groups")
    }
}
