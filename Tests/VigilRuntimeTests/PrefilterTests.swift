import Testing
import VigilRuntime

/// The prefilter's bookkeeping past what the differential test draws: many rules on one
/// stream (the detector tracks the first 64 of a stream's rules in a mask).
@Suite struct PrefilterTests {
    /// 70 rules read stream `s`; the first 69 wait for `a` then `b`, the last for `c`
    /// then `d`. The `c` and `d` events are kept from every rule but the last, so the
    /// mask over the first 64 is empty: the last rule must still take them.
    @Test func aRulePastTheSixtyFourthStillSeesItsEvents() throws {
        var text = Harness.header.replacingOccurrences(of: "LATENESS", with: "0")
        for i in 0..<70 {
            let (first, second) = i == 69 ? ("c", "d") : ("a", "b")
            text += """
                rule r\(i)
                  from s
                  match x: type == "\(first)" then y: type == "\(second)"
                  alert "m"

                """
        }
        let program = try Harness.compile(text)
        let outcome = try Harness.run(program, Harness.events("c1@1 d2@2 a3@3 b4@4", program: program))
        #expect(outcome.alerts.filter { $0.rule == "r69" }.map { $0.detectedAt } == [2])
        #expect(outcome.alerts.filter { $0.rule == "r0" }.map { $0.detectedAt } == [4])
        #expect(outcome.alerts.count == 70)
        // The first 64 rules keep c1 and d2 out; the rest are not filtered.
        #expect(outcome.prefilterSkips == 64 * 2)
    }
}
