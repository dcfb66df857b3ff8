import Testing
@testable import VigilLanguage

/// Feeds thousands of broken versions of the bundled rules to the front end. Every
/// mutation class is guaranteed to break the file, so each must yield an error whose
/// line lies inside the mutated region — and nothing may crash.
@Suite struct MutationFuzzTests {
    /// A deterministic generator (SplitMix64), so failures reproduce.
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

    /// One broken file and the byte range that was changed.
    struct Mutant {
        var kind: String
        var bytes: [UInt8]
        var region: Range<Int>
    }

    static func tokens(_ file: SourceFile) -> [Token] {
        var lexer = Lexer(bytes: file.bytes, file: 0)
        return lexer.tokenize()
    }

    /// Tokens after which the file cannot end: binary operators, `then`, `next`, `(`,
    /// `,`, `:` and clause words that need an argument.
    static func isIncompleteAfter(_ t: Token) -> Bool {
        switch t.kind {
        case .punct(let p): return [.lparen, .comma, .colon, .eq, .ne, .lt, .le, .gt, .ge, .plus, .minus, .slash, .percent, .lbrace, .dot].contains(p)
        case .keyword(let k): return [.and, .or, .then, .next, .in, .is, .matches, .within, .until].contains(k)
        case .identifier:
            guard case .string(let w) = t.value else { return false }
            return ["from", "severity", "key", "time", "lateness", "gap", "tumbling", "hopping", "every", "with", "having", "where", "select", "table", "suppress"].contains(w)
        default: return false
        }
    }

    static func mutants(of file: SourceFile, rng: inout SplitMix) -> [Mutant] {
        let bytes = file.bytes
        let toks = tokens(file).filter { $0.kind != .endOfFile }
        var out: [Mutant] = []

        // 1. Truncation inside a construct: cut right after a token that needs a successor,
        //    or inside a string literal.
        for (i, t) in toks.enumerated() where isIncompleteAfter(t) {
            // `skip to next` is complete: there `next` names a strategy, not a step.
            if t.kind == .keyword(.next), i > 0, case .string("to") = toks[i - 1].value { continue }
            out.append(Mutant(kind: "truncate-after-\(t.kind.description)", bytes: Array(bytes[..<t.span.end]),
                              region: t.span.start..<t.span.end))
        }
        for t in toks where t.kind == .string && t.span.end - t.span.start > 2 {
            let cut = t.span.start + 1 + Int.random(in: 0..<(t.span.end - t.span.start - 2), using: &rng)
            out.append(Mutant(kind: "truncate-in-string", bytes: Array(bytes[..<cut]), region: t.span.start..<cut))
        }

        // 2. Stray closing tokens: `]` anywhere between tokens; `)` where no parenthesis is open.
        var depth = 0
        for t in toks {
            let insertAt = t.span.start
            let stray: [UInt8] = depth == 0 && Bool.random(using: &rng) ? Array(" ) ".utf8) : Array(" ] ".utf8)
            var b = bytes
            b.insert(contentsOf: stray, at: insertAt)
            out.append(Mutant(kind: "stray-\(stray[1] == UInt8(ascii: ")") ? "paren" : "bracket")", bytes: b,
                              region: insertAt..<(insertAt + stray.count)))
            if t.kind == .punct(.lparen) { depth += 1 }
            if t.kind == .punct(.rparen) { depth -= 1 }
        }

        // 3. Impossible quantifier bounds: every quantifier becomes `{max+k, max}`.
        for (i, t) in toks.enumerated() {
            let isQuantifier: Bool
            switch t.kind {
            case .punct(.question), .punct(.lbrace): isQuantifier = true
            case .punct(.plus), .punct(.star):
                isQuantifier = i + 1 < toks.count && (toks[i + 1].startsLine || toks[i + 1].kind == .keyword(.then))
            default: isQuantifier = false
            }
            guard isQuantifier else { continue }
            var end = t.span.end
            if t.kind == .punct(.lbrace) {
                guard let close = toks[i...].first(where: { $0.kind == .punct(.rbrace) }) else { continue }
                end = close.span.end
            }
            let high = Int.random(in: 1...50, using: &rng)
            let low = Int.random(in: 0..<high, using: &rng)
            let replacement = Array(" {\(high),\(low)}".utf8)
            var b = bytes
            b.replaceSubrange(t.span.start..<end, with: replacement)
            out.append(Mutant(kind: "impossible-quantifier", bytes: b, region: t.span.start..<(t.span.start + replacement.count)))
        }
        // ... and an impossible quantifier added to the end of every step followed by another.
        for t in toks where t.kind == .keyword(.then) || t.kind == .keyword(.next) {
            let high = Int.random(in: 1...50, using: &rng)
            let insertion = Array(" {\(high),\(Int.random(in: 0..<high, using: &rng))} ".utf8)
            var b = bytes
            b.insert(contentsOf: insertion, at: t.span.start)
            if t.kind == .keyword(.next), case .string("to")? = toks.last(where: { $0.span.end <= t.span.start })?.value { continue }
            out.append(Mutant(kind: "impossible-quantifier", bytes: b, region: t.span.start..<(t.span.start + insertion.count)))
        }
        return out
    }

    @Test func mutatedRulesNeverCrashAndReportTheMutatedLine() throws {
        var rng = SplitMix(state: 0x5EED)
        var counts: [String: Int] = [:]
        var total = 0
        // Three rounds: each draws other stray tokens, cut points and bounds.
        for original in try Support.exampleRules() + Support.exampleRules() + Support.exampleRules() {
            for m in Self.mutants(of: original, rng: &rng) {
                let file = SourceFile(path: original.path, bytes: m.bytes)
                let result = Frontend.check([file])
                total += 1
                counts[m.kind.hasPrefix("truncate") ? "truncate" : m.kind, default: 0] += 1
                let firstLine = file.lineIndex(of: m.region.lowerBound) + 1
                let lastLine = file.lineIndex(of: max(m.region.lowerBound, m.region.upperBound - 1)) + 1
                let errorLines = result.diagnostics.filter { $0.severity == .error }
                    .map { file.position(of: $0.span.start).line }
                let hit = errorLines.contains { $0 >= firstLine && $0 <= lastLine }
                if !result.hasErrors || !hit {
                    Issue.record("""
                        \(m.kind) in \(original.path) lines \(firstLine)-\(lastLine): errors at \(errorLines)
                        \(Support.render(result))
                        """)
                    return
                }
            }
        }
        print("mutation fuzz: \(total) mutants:", counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        #expect(total >= 2000)
        #expect(counts.count == 4)
    }
}
