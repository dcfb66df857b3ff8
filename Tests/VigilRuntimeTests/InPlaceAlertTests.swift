import Foundation
import Testing
import VigilText
@testable import VigilRuntime

/// Alerts from `accept(taking:into:)` read their matched events where the detector
/// stores them; alerts from `accept(_:)` carry copies. Over random events of a few keys
/// (out of order within the lateness, so the reorder buffer holds some back), with a
/// run of three or more events, a trailing absence, a skip strategy, and a rule keyed
/// by two fields with tags and a message of its key and text to escape, each call's
/// alerts must be the same lines, read right after the call. Their messages are rendered
/// as they are read; some ids hold a quote, a backslash and a tab, escaped in the line. Debug builds start the
/// store with two slots, so it is swept and grown all the time here.
@Suite struct InPlaceAlertTests {
    static let rules = """
        rule run
          from s
          match
            a: type == "a"
            then b: type == "b" {3,}
            then c: type == "c"
          within 40ms
          alert "{k}: {count(b)} b from {a.id} to {c.id}"
        rule quiet
          from s
          match
            a: type == "a"
            then not b: type == "b"
          within 15ms
          alert "{k}: {a.id} and no b"
        rule once
          from s
          match
            a: type == "a"
            then c: type == "c"
          within 30ms
          after match skip past last
          alert "{k}: {a.id} then {c.id}"
        rule pairs
          severity high
          tags quiet, loud
          from s by k, type
          match
            a: type == "b"
            then b: type == "b"
          within 20ms
          alert "{k}/{type} said \\"hi\\"\\t\\\\ end"

        """

    @Test func matchTheCopiedOnes() throws {
        let program = try Harness.compile(Harness.header.replacingOccurrences(of: "LATENESS", with: "6") + Self.rules)
        var rng = DifferentialTests.SplitMix(state: 41)
        var copying = Detector(program: program)
        var inPlace = Detector(program: program)
        var scratch = Event(stream: 0, ts: 0, origin: EventOrigin(input: 0, line: 0), values: [])
        var outputs: [DetectorOutput] = []
        var alerts: [String: Int] = [:]
        let decoder = JSONLineDecoder(schema: program.streams[0], stream: 0)
        var kept = 0
        func lines(_ outs: [DetectorOutput]) -> [String] {
            outs.compactMap { o in
                guard case .alert(let a) = o else { return nil }
                // Both ways of reading the events (the line, and the steps), and both of
                // reading the message (written from its template in the line, and asked).
                return a.json(streams: program.streams) + " " + a.message + " "
                    + a.matched.map { "\($0.step):\($0.events.count)" }.joined(separator: ",")
            }
        }
        for line in 1...4_000 {
            let type = ["a", "b", "b", "c", "x"][Int.random(in: 0..<5, using: &rng)]
            let ts = Int64(line * 2 + Int.random(in: -5...0, using: &rng))
            let e = Event(stream: 0, ts: ts, origin: EventOrigin(input: 0, line: Int64(line)),
                          values: [.string("k\(Int.random(in: 0..<4, using: &rng))"), .timestamp(ts), .string(type),
                                   .string(line % 7 == 0 ? "\(type)\"\\\t\(line)" : "\(type)\(line)"), .int(Int64(line))])
            let expected = lines(copying.accept(e))
            // The in-place detector gets the event as the run loop does: decoded from its
            // line, which it keeps when the line is the event as alerts write it (most
            // are; those with an escaped id are not).
            let text = "{\"k\":" + jsonQuote(e.values[0].templateText) + ",\"ts\":\(ts),\"type\":\"\(type)\",\"id\":"
                + jsonQuote(e.values[3].templateText) + ",\"v\":\(line)}"
            let bytes = Array(text.utf8)
            var canonical = false
            bytes.withUnsafeBufferPointer { p in
                #expect(decoder.decode(p, origin: e.origin, into: &scratch, canonical: &canonical) == nil)
                inPlace.accept(taking: &scratch, into: &outputs, line: canonical ? p : nil)
            }
            kept += canonical ? 1 : 0
            let got = lines(outputs)
            #expect(got == expected, "line \(line)")
            for o in outputs { if case .alert(let a) = o { alerts[a.rule, default: 0] += 1 } }
        }
        #expect(lines(inPlace.finish()) == lines(copying.finish()))
        // Every rule fired often, so every path was compared.
        for rule in ["run", "quiet", "once", "pairs"] { #expect(alerts[rule, default: 0] >= 20, "\(rule): \(alerts)") }
        // Lines kept and lines not: both ways of writing a matched event were compared.
        #expect(kept > 3_000 && kept < 4_000, "\(kept) lines kept")
    }
}
