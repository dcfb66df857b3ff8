import Testing
@testable import VigilRuntime

/// A prefilter whose options are each one `field == "short ASCII"` test compares a short
/// ASCII field's words in place: it must admit exactly the events its tests hold for,
/// whatever the field holds.
@Suite struct PrefilterWordsTests {
    @Test func literalSetsAdmitWhatTheirTestsHoldFor() throws {
        let text = Harness.header.replacingOccurrences(of: "LATENESS", with: "0") + """
            rule set
              from s
              match x: type == "a" then y: type == "bb" then z: type == "abcdefghijklmno"
              alert "m"

            rule other
              from s
              match x: type != "a" then y: id == "a"
              alert "m"

            """
        let program = try Harness.compile(text)
        let prefilter = Prefilter(rules: program.rules, streams: program.streams.count)
        let samples: [Value] = [.string("a"), .string("bb"), .string("b"), .string(""), .string("aa"), .string("abcdefghijklmno"),
                                .string("abcdefghijklmnop"), .string("bb\u{301}"), .string("\u{E9}"), .string(String(repeating: "a", count: 20)),
                                .null, .int(5)]
        var checked = 0
        for (r, rule) in program.rules.enumerated() {
            let conditions = rule.pattern.steps.flatMap { $0.alternatives.map { $0.predicate } }
            for type in samples {
                for id in [Value.string("a"), .string("z")] {
                    let row: [Value] = [.string("k"), .timestamp(0), type, id, .int(0)]
                    let expected = row.withUnsafeBufferPointer { p in
                        conditions.contains { c in c.necessary.allSatisfy { $0.holds(p.baseAddress!) } }
                    }
                    let got = row.withUnsafeBufferPointer { prefilter.admits(rule: r, stream: 0, $0.baseAddress!) }
                    #expect(got == expected, "rule \(rule.name): type \(type), id \(id)")
                    checked += 1
                }
            }
        }
        #expect(checked == 2 * samples.count * 2)
    }
}
