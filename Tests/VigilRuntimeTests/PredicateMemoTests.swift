import Testing
import VigilRuntime

/// The matcher evaluates a rule's plain field tests once per event, into a memo of two
/// words: predicates 0 to 63 are memoized there, later ones are evaluated each time they
/// are asked. A long pattern crosses that line; its matches must not change with it.
@Suite struct PredicateMemoTests {
    /// A sequence of `steps` steps, step k taking an event with `v == k`; steps whose
    /// number `strings` says are tested on the event's type instead (`type == "t<k>"`,
    /// a short ASCII literal, as the word comparison reads it).
    static func rule(steps: Int, strings: (Int) -> Bool) -> String {
        let body = (1...steps).map { k in
            let test = strings(k) ? "id == \"t\(k)\"" : "v == \(k)"
            return (k == 1 ? "a\(k): " : "then a\(k): ") + test
        }.joined(separator: " ")
        return Harness.ruleText(pattern: body, clauses: "within 1h", lateness: 0)
    }

    /// Events `t1@1=1 t2@2=2 ...`, leaving out those `skip` names, with `noise` events
    /// (`n…`, v 0) between them that no step takes.
    static func events(_ steps: Int, skip: Set<Int> = [], noise: Bool) -> String {
        (1...steps).filter { !skip.contains($0) }.map { k in
            (noise ? "n\(k)@\(2 * k)=0 " : "") + "t\(k)@\(2 * k + 1)=\(k)"
        }.joined(separator: " ")
    }

    @Test(arguments: [40, 64, 65, 70, 130])
    func longSequencesMatchAcrossTheMemo(steps: Int) throws {
        for strings in [{ (_: Int) in false }, { (k: Int) in k % 3 == 0 }] {
            let program = try Harness.compile(Self.rule(steps: steps, strings: strings))
            for noise in [false, true] {
                let whole = try Harness.run(program, Harness.events(Self.events(steps, noise: noise), program: program))
                #expect(whole.matches.map(\.ids) == [(1...steps).map { "t\($0)" }], "\(steps) steps, noise \(noise)")
                // A step past the 64th left out, and one before it: nothing completes.
                for gap in Set([steps, 64, 65, steps / 2].filter { $0 >= 1 && $0 <= steps }) {
                    let broken = try Harness.run(program, Harness.events(Self.events(steps, skip: [gap], noise: noise), program: program))
                    #expect(broken.matches.isEmpty, "\(steps) steps, step \(gap) missing, noise \(noise)")
                }
            }
        }
    }

    /// A rule's tests on one field are read together from the field's two words; literals
    /// longer than a word that share their first are told apart by the second.
    @Test func literalsSharingTheirFirstWordAreToldApart() throws {
        let program = try Harness.compile(Harness.ruleText(pattern: "a: type == \"longtypeA\" then b: type == \"longtypeB\"",
                                                           clauses: "within 1h", lateness: 0))
        let events = "longtypeA1@1 longtypeC2@2 longtypeB3@3 longtypeC4@4 longtypeA5@5 longtypeC6@6 longtypeA7@7 longtypeB8@8 longtype9@9"
        let run = try Harness.run(program, Harness.events(events, program: program))
        #expect(run.matches.map(\.ids) == [["longtypeA1", "longtypeB3"], ["longtypeA5", "longtypeB8"], ["longtypeA7", "longtypeB8"]])
    }
}
