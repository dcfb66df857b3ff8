import Testing
import VigilRuntime

/// A pattern rule's alert reports its events by step (through the rule's `MatchPlan`,
/// without building the list): the alternative that bound a run names it, and a step
/// that bound nothing is listed empty under its own name.
@Suite struct AlertStepsTests {
    /// The alert of `pattern` over `events`, as `step:id,id` groups, from `matched` and
    /// from the written line (which must agree).
    func steps(_ pattern: String, _ events: String) throws -> (matched: [String], line: String) {
        let program = try Harness.compile(Harness.ruleText(pattern: pattern, clauses: "", lateness: 0))
        let outcome = try Harness.run(program, Harness.events(events, program: program))
        let alert = try #require(outcome.alerts.first)
        let matched = alert.matched.map { "\($0.step):" + $0.events.map(Harness.id).joined(separator: ",") }
        let json = alert.json(streams: program.streams)
        let start = try #require(json.range(of: "\"matched\":"))
        return (matched, String(json[start.upperBound...]))
    }

    @Test func theAlternativeThatBoundNamesTheStep() throws {
        let r = try steps(#"a: type == "a" then (b: type == "b" or c: type == "c")"#, "a1@0 c2@1 b3@2")
        #expect(r.matched == ["a:a1", "c:c2"])
        #expect(r.line.contains(#"{"step":"c","events":[{"k":"k","ts":1,"type":"c","id":"c2","v":null}]}"#))
    }

    @Test func aStepThatBoundNothingIsListedEmpty() throws {
        let r = try steps(#"a: type == "a" then b: type == "b" ? then c: type == "c""#, "a1@0 c2@1")
        #expect(r.matched == ["a:a1", "b:", "c:c2"])
        #expect(r.line.hasPrefix(#"[{"step":"a","events":[{"k":"k","ts":0,"type":"a","id":"a1","v":null}]},{"step":"b","events":[]},{"step":"c","#))
    }

    @Test func aRunOfAlternativesIsGroupedByTheAlternativeThatBoundEach() throws {
        let r = try steps(#"a: type == "a" then (b: type == "b" or c: type == "c") {3} then d: type == "d""#,
                          "a1@0 b2@1 b3@2 c4@3 d5@4")
        #expect(r.matched == ["a:a1", "b:b2,b3", "c:c4", "d:d5"])
        #expect(r.line.contains(#"{"step":"b","events":[{"k":"k","ts":1,"type":"b","id":"b2","v":null},{"k":"k","ts":2,"type":"b","id":"b3","v":null}]},{"step":"c","#))
    }
}
