import Testing
import VigilRuntime

/// Random patterns over every operator x random streams with ties and out-of-order
/// events: the engine's output must equal the reference matcher's, match for match,
/// in the same order, with the same detection times and the same late events.
@Suite struct DifferentialTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A random pattern and the operators it uses.
    static func pattern(_ rng: inout SplitMix) -> (RefPattern, String, Set<String>) {
        var used = Set<String>()
        let types = ["a", "b", "c"]
        let positiveCount = Int.random(in: 1...3, using: &rng)
        var steps: [RefStep] = []
        for k in 0..<positiveCount {
            if k > 0, Int.random(in: 0..<4, using: &rng) == 0 {
                steps.append(RefStep(name: "n\(k)", negated: true, contiguity: .then,
                                     alternatives: [("n\(k)", ["b", "x", "c"].randomElement(using: &rng)!)]))
                used.insert("not between")
            }
            var step = RefStep(name: "s\(k)", alternatives: [("s\(k)", types.randomElement(using: &rng)!)])
            if k == 0 {
                step.contiguity = .start
            } else if steps.last!.negated {
                step.contiguity = Bool.random(using: &rng) ? .then : .any
            } else {
                step.contiguity = [.then, .then, .any, .next].randomElement(using: &rng)!
            }
            if k > 0, Int.random(in: 0..<5, using: &rng) == 0 {
                let other = types.filter { $0 != step.alternatives[0].type }.randomElement(using: &rng)!
                step.alternatives = [("s\(k)x", step.alternatives[0].type), ("s\(k)y", other)]
                used.insert("or")
            }
            if k > 0, !steps[0].quantified, Int.random(in: 0..<5, using: &rng) == 0 {
                step.compareWithFirst = true
                used.insert("cross-event")
            }
            if Int.random(in: 0..<2, using: &rng) == 0 {
                let isEnd = k == 0 || k == positiveCount - 1
                var choices: [(Int, Int?, String)] = [(1, nil, "+"), (2, 2, "{n}"), (2, nil, "{n,}"), (1, 3, "{n,m}")]
                if !isEnd { choices += [(0, 1, "?"), (0, nil, "*")] }
                let (mn, mx, kind) = choices.randomElement(using: &rng)!
                step.quantified = true
                step.min = mn
                step.max = mx
                used.insert("quantifier \(kind)")
                if k < positiveCount - 1, mx != 1, Int.random(in: 0..<4, using: &rng) == 0 {
                    step.untilType = "x"
                    used.insert("until")
                }
            }
            used.insert(step.contiguity == .start ? "start" : step.contiguity == .then ? "then" : step.contiguity == .any ? "then any" : "next")
            steps.append(step)
        }
        var within: Int64? = Bool.random(using: &rng) ? Int64.random(in: 2...12, using: &rng) : nil
        if Int.random(in: 0..<4, using: &rng) == 0 {
            steps.append(RefStep(name: "t", negated: true, contiguity: .then, alternatives: [("t", ["b", "c", "x"].randomElement(using: &rng)!)]))
            within = within ?? Int64.random(in: 2...12, using: &rng)
            used.insert("not at end")
        }
        if within != nil { used.insert("within") }
        var skip = RefSkip.noSkip
        let positives = steps.indices.filter { !steps[$0].negated }
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: skip = .toNext
        case 1: skip = .pastLast
        case 2: skip = .toFirst(positives.randomElement(using: &rng)!)
        case 3: skip = .toLast(positives.randomElement(using: &rng)!)
        default: break
        }
        if skip != .noSkip { used.insert("skip") }
        let p = RefPattern(steps: steps, within: within, skip: skip)
        return (p, text(p), used)
    }

    static func text(_ p: RefPattern) -> String {
        var out = ""
        for (i, s) in p.steps.enumerated() {
            if i > 0 {
                switch s.contiguity {
                case .then, .start: out += " then "
                case .any: out += " then any "
                case .next: out += " next "
                }
            }
            if s.negated { out += "not " }
            let cond = s.compareWithFirst ? " and v >= s0.v" : ""
            if s.alternatives.count > 1 {
                out += "(" + s.alternatives.map { "\($0.name): type == \"\($0.type)\"\(cond)" }.joined(separator: " or ") + ")"
            } else {
                out += "\(s.name): type == \"\(s.alternatives[0].type)\"\(cond)"
            }
            if s.quantified {
                switch (s.min, s.max) {
                case (0, 1): out += " ?"
                case (0, nil): out += " {0,}"
                case (1, nil): out += " {1,}"
                case (let n, nil): out += " {\(n),}"
                case (let n, let m?) where n == m: out += " {\(n)}"
                case (let n, let m?): out += " {\(n),\(m)}"
                }
            }
            if let u = s.untilType { out += " until type == \"\(u)\"" }
        }
        return out
    }

    static func clauses(_ p: RefPattern) -> String {
        var out = p.within.map { "within \($0)ms" } ?? ""
        let name = { (i: Int) in p.steps[i].alternatives.count > 1 ? p.steps[i].alternatives[0].name : p.steps[i].name }
        switch p.skip {
        case .noSkip: break
        case .toNext: out += " after match skip to next"
        case .pastLast: out += " after match skip past last"
        case .toFirst(let i): out += " after match skip to first \(name(i))"
        case .toLast(let i): out += " after match skip to last \(name(i))"
        }
        return out
    }

    static func events(_ rng: inout SplitMix, lateness: Int64) -> [RefEvent] {
        let n = Int.random(in: 0...14, using: &rng)
        var out: [RefEvent] = []
        var t: Int64 = 0
        let twoKeys = Int.random(in: 0..<4, using: &rng) == 0
        for i in 0..<n {
            t += Int64.random(in: 0...2, using: &rng)
            var ts = t
            // Out of order: within the lateness, and sometimes beyond it.
            if Int.random(in: 0..<5, using: &rng) == 0 { ts -= Int64.random(in: 0...(lateness + 2), using: &rng) }
            let type = ["a", "b", "c", "x", "a", "b"].randomElement(using: &rng)!
            out.append(RefEvent(id: "\(type)\(i + 1)", type: type, ts: ts, v: Int64.random(in: 0...3, using: &rng),
                                key: twoKeys && Bool.random(using: &rng) ? "u2" : "k", arrival: i + 1))
        }
        return out
    }

    @Test func engineAgreesWithTheReference() throws {
        var rng = SplitMix(state: 0xD1FF)
        var counts: [String: Int] = [:]
        let cases = 6000
        var failures = 0
        for n in 0..<cases {
            let (p, text, used) = Self.pattern(&rng)
            let lateness = Int64.random(in: 0...3, using: &rng)
            let evs = Self.events(&rng, lateness: lateness)
            let reference = ReferenceMatcher(pattern: p, lateness: lateness).run(evs)
            let program = try Harness.compile(Harness.ruleText(pattern: text, clauses: Self.clauses(p), lateness: lateness))
            let eventText = evs.map { "\($0.id)@\($0.ts)=\($0.v)" + ($0.key == "k" ? "" : "#\($0.key)") }.joined(separator: " ")
            let engine = try Harness.run(program, Harness.events(eventText, program: program))
            let got = engine.matches.map { RefMatch(ids: $0.ids, detectedAt: $0.at) }
            var usedHere = used
            if !reference.late.isEmpty { usedHere.insert("late events") }
            if !reference.matches.isEmpty { usedHere.insert("with matches") }
            // The prefilter keeps events no step can take from the rule: it must change nothing.
            if engine.prefilterSkips > 0 { usedHere.insert("prefiltered") }
            for u in usedHere { counts[u, default: 0] += 1 }
            if got != reference.matches || engine.late != reference.late {
                failures += 1
                if failures <= 3 {
                    Issue.record("""
                        case \(n): match \(text) \(Self.clauses(p)) (lateness \(lateness))
                          events:    \(eventText)
                          engine:    \(got.map { "(\($0.ids.joined(separator: ",")))@\($0.detectedAt)" }.joined(separator: " ")) late \(engine.late)
                          reference: \(reference.matches.map { "(\($0.ids.joined(separator: ",")))@\($0.detectedAt)" }.joined(separator: " ")) late \(reference.late)
                        """)
                }
            }
        }
        print("differential: \(cases) cases, \(failures) failures; per operator:",
              counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        #expect(failures == 0)
        for op in ["then", "then any", "next", "not between", "not at end", "or", "within", "skip", "until",
                   "cross-event", "quantifier +", "quantifier ?", "quantifier *", "quantifier {n}", "quantifier {n,}",
                   "quantifier {n,m}", "late events", "prefiltered"] {
            #expect(counts[op, default: 0] >= 100, "only \(counts[op, default: 0]) cases use \(op)")
        }
    }
}
