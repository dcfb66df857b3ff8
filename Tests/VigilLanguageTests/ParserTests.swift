import Testing
@testable import VigilLanguage

/// One test per construct: parse a snippet, assert the tree, and assert it checks clean.
@Suite struct ParserTests {
    static let stream = """
        stream ev
          key user
          time ts
          fields
            user: string
            ts: timestamp
            type: string
            amount: double
            n: int
            ok: bool
            ip: string
            process.parent.name: string

        """

    /// Parses `text` after the standard stream and returns its last declaration.
    func parse(_ body: String, clean: Bool = true) -> (Declaration?, CheckResult) {
        let result = Support.check(Self.stream + body)
        if clean {
            #expect(!result.hasErrors, "unexpected diagnostics:\n\(Support.render(result))")
        }
        return (result.units.first?.declarations.last, result)
    }

    func rule(_ body: String) -> RuleDecl? {
        guard case .rule(let r)? = parse(body).0 else { Issue.record("not a rule"); return nil }
        return r
    }

    func pattern(_ steps: String, extra: String = "") -> String {
        ASTDump.pattern(rule("rule r\n  from ev\n  match \(steps)\n\(extra)  alert \"x\"\n")?.match)
    }

    func condition(_ e: String) -> String {
        pattern("a: \(e)")
    }

    @Test func streamDeclaration() throws {
        let result = Support.check(Self.stream + "stream net key host, user time at lateness 1500ms idle timeout 2m fields host: string, user: string, at: timestamp, process.parent.name: string\nrule r from net match a: host == \"h\" alert \"x\" rule q from ev match a: ok alert \"y\"")
        let errors = result.hasErrors
        #expect(!errors, "\(Support.render(result))")
        guard case .stream(let s) = result.units[0].declarations[1] else { Issue.record("no stream"); return }
        #expect(s.key.map(\.text) == ["host", "user"])
        #expect(s.time?.text == "at")
        #expect(s.lateness?.milliseconds == 1500)
        #expect(s.idleTimeout?.milliseconds == 120_000)
        #expect(s.fields.map(\.path.text) == ["host", "user", "at", "process.parent.name"])
        #expect(s.fields.map(\.type.name) == ["string", "string", "timestamp", "string"])
    }

    @Test func durationsInEveryUnit() {
        let (d, _) = parse("rule r from ev match a: type == \"x\" then b: type == \"y\" within 1d alert \"x\" suppress 90s")
        guard case .rule(let r)? = d else { Issue.record("no rule"); return }
        #expect(r.within?.milliseconds == 86_400_000)
        #expect(r.suppress?.period.milliseconds == 90_000)
        for (text, ms) in [("250ms", 250), ("3s", 3000), ("2m", 120_000), ("1h", 3_600_000)] as [(String, Int64)] {
            let r = rule("rule r from ev match a: type == \"x\" then b: type == \"y\" within \(text) alert \"x\"")
            #expect(r?.within?.milliseconds == ms)
        }
    }

    @Test func referenceTable() {
        let (_, result) = parse("""
            reference cards from "samples/cards.csv" key card fields card: string, limit: double
            flow f from ev enrich with cards on user where cards.limit > amount into table silver.f
            """)
        guard case .reference(let r) = result.units[0].declarations[1] else { Issue.record("no reference"); return }
        #expect(r.source?.value == "samples/cards.csv")
        #expect(r.key?.text == "card")
        #expect(r.fields.count == 2)
    }

    @Test func ruleHeader() {
        let r = rule("""
            rule r
              severity critical
              tags fraud, "pci-dss"
              from ev by user, ip
              match a: type == "x"
              alert high "hi {user}"
            """)
        #expect(r?.severity?.name == "critical")
        #expect(r?.common.tags.map(\.name) == ["fraud", "pci-dss"])
        #expect(r?.common.from?.by.map(\.text) == ["user", "ip"])
        #expect(r?.alert?.severity?.name == "high")
    }

    @Test func contiguity() {
        #expect(pattern("a: type == \"a\" then b: type == \"b\"") == "a: (== type \"a\") ; then b: (== type \"b\")")
        #expect(pattern("a: type == \"a\" then any b: type == \"b\"") == "a: (== type \"a\") ; then any b: (== type \"b\")")
        #expect(pattern("a: type == \"a\" next b: type == \"b\"") == "a: (== type \"a\") ; next b: (== type \"b\")")
        // A step may be called `any`.
        #expect(pattern("a: type == \"a\" then any: type == \"b\"") == "a: (== type \"a\") ; then any: (== type \"b\")")
    }

    @Test func quantifiers() {
        let cases: [(String, String)] = [
            ("?", "{0,1}"), ("*", "{0,}"), ("+", "{1,}"), ("{3}", "{3,3}"), ("{3,}", "{3,}"), ("{2,5}", "{2,5}"),
        ]
        for (q, dumped) in cases {
            #expect(pattern("s: n > 1 then a: type == \"a\" \(q)\n  then b: ok") == "s: (> n 1) ; then a: (== type \"a\")\(dumped) ; then b: ok")
        }
    }

    @Test func trailingPlusIsAQuantifierButInnerPlusIsArithmetic() {
        #expect(pattern("a: n + 1 > 2 +\n  then b: ok") == "a: (> (+ n 1) 2){1,} ; then b: ok")
        #expect(pattern("a: n > 2 * 3 *\n  then b: ok") == "a: (> n (* 2 3)){0,} ; then b: ok")
        #expect(pattern("a: n > 2 + then b: ok") == "a: (> n 2){1,} ; then b: ok")
    }

    @Test func untilAndNot() {
        #expect(pattern("a: type == \"f\" {3,} until type == \"ok\" then b: ok")
                == "a: (== type \"f\"){3,} until (== type \"ok\") ; then b: ok")
        #expect(pattern("a: ok then not b: type == \"mfa\" then c: ok")
                == "a: ok ; then not b: (== type \"mfa\") ; then c: ok")
        #expect(pattern("a: ok then not b: type == \"mfa\"", extra: "  within 2m\n")
                == "a: ok ; then not b: (== type \"mfa\")")
    }

    @Test func labelledAlternatives() {
        #expect(pattern("a: ok then (b: type == \"x\" or n > 1 or c: type == \"y\")")
                == "a: ok ; then (b: (or (== type \"x\") (> n 1)) | c: (== type \"y\"))")
    }

    @Test func stepOnAnotherStream() {
        let (_, result) = parse("""
            stream pay key user time ts fields user: string, ts: timestamp, amount: double
            rule r from ev match a: type == "login" then p: pay where amount > a.amount within 1h alert "x"
            """)
        guard case .rule(let r) = result.units[0].declarations[2] else { Issue.record("no rule"); return }
        #expect(ASTDump.pattern(r.match) == "a: (== type \"login\") ; then p: pay where (> amount a.amount)")
    }

    @Test func unlabelledStepsAreNamedByPosition() {
        let r = rule("rule r from ev match type == \"a\" then type == \"b\" and ip == step1.ip alert \"{step2.ip}\"")
        #expect(r?.match?.steps.count == 2)
    }

    @Test func skipStrategies() {
        let cases: [(String, SkipStrategy)] = [
            ("no skip", .noSkip), ("skip to next", .toNext), ("skip past last", .pastLast),
        ]
        for (text, strategy) in cases {
            #expect(rule("rule r from ev match a: ok then b: ok after match \(text) alert \"x\"")?.skip?.strategy == strategy)
        }
        if case .toFirst(let id)? = rule("rule r from ev match a: ok then b: ok after match skip to first b alert \"x\"")?.skip?.strategy {
            #expect(id.name == "b")
        } else { Issue.record("skip to first") }
        if case .toLast(let id)? = rule("rule r from ev match a: ok then b: ok after match skip to last a alert \"x\"")?.skip?.strategy {
            #expect(id.name == "a")
        } else { Issue.record("skip to last") }
    }

    @Test func sessionsAndWindows() {
        let s = rule("rule r from ev session gap 30m allowed lateness 1m having count(type == \"buy\") == 0 alert \"{user} {duration}\"")
        #expect(s?.session?.gap.milliseconds == 1_800_000)
        #expect(s?.session?.allowedLateness?.milliseconds == 60_000)
        let t = rule("rule r from ev window tumbling 5m having count() > 3 alert \"{window_start}\"")
        #expect(t?.window?.kind == .tumbling)
        let h = rule("rule r from ev window hopping 10m every 1m allowed lateness 30s having avg(amount) > 1.0 alert \"x\"")
        #expect(h?.window?.kind == .hopping(every: DurationLiteral(milliseconds: 60_000, span: h!.window!.span)) || h?.window?.size.milliseconds == 600_000)
        if case .hopping(let every)? = h?.window?.kind { #expect(every.milliseconds == 60_000) } else { Issue.record("hopping") }
        #expect(h?.window?.allowedLateness?.milliseconds == 30_000)
    }

    @Test func alertTemplateAndSuppress() {
        let r = rule("rule r from ev match a: n > 1 {2,} then b: ok alert \"{user}: {count(a)} then {b.ip} \\{literal\\}\" suppress 10m by user, ip")
        #expect(ASTDump.template(r!.alert!.template) == "{user}: {count(a)} then {b.ip} {literal}")
        #expect(r?.suppress?.by.map(\.text) == ["user", "ip"])
    }

    @Test func tableOutputs() {
        let append = rule("rule r from ev match a: ok alert \"x\" into table gold.hits")
        if case .append? = append?.common.into?.mode {} else { Issue.record("append") }
        let (d, _) = parse("aggregate g from ev by user window tumbling 5m select count() as n into table gold.g merge on (user, window_start)")
        guard case .aggregate(let a)? = d, case .merge(let on)? = a.common.into?.mode else { Issue.record("merge"); return }
        #expect(on.map(\.name) == ["user", "window_start"])
        let (d2, _) = parse("flow f from ev select user, ip into table silver.f scd2 on (user)")
        guard case .flow(let f)? = d2, case .scd2(let on2)? = f.common.into?.mode else { Issue.record("scd2"); return }
        #expect(on2.map(\.name) == ["user"])
    }

    @Test func flowClauses() {
        let (d, _) = parse("""
            flow f
              tags bronze
              from ev
              where amount > 0
              where ok
              expect a: n >= 0 else warn
              expect b: ip is not null else drop
              expect c: type in ("x", "y") else quarantine
              expect d: amount < 1e6 else fail
              select user, amount * 2 as doubled, process.parent.name
              into table silver.f
            """)
        guard case .flow(let f)? = d else { Issue.record("no flow"); return }
        #expect(f.filters.count == 2)
        #expect(f.expectations.map(\.action.name) == ["warn", "drop", "quarantine", "fail"])
        #expect(f.common.select.map { $0.alias?.name ?? ASTDump.expr($0.expr) } == ["user", "doubled", "process.parent.name"])
    }

    @Test func expressionPrecedence() {
        #expect(condition("ok or n > 1 and ok") == "a: (or ok (and (> n 1) ok))")
        #expect(condition("not ok and ok") == "a: (and (not ok) ok)")
        #expect(condition("n + 2 * 3 - 1 > -n % 2") == "a: (> (- (+ n (* 2 3)) 1) (% (- n) 2))")
        #expect(condition("(n + 2) * 3 > 0") == "a: (> (* (+ n 2) 3) 0)")
        #expect(condition("type not in (\"a\", \"b\")") == "a: (not in type [\"a\", \"b\"])")
        #expect(condition("ip is null or ip is not null") == "a: (or (is null ip) (is not null ip))")
        #expect(condition("ip matches /^10\\.\\/x/i") == "a: (matches ip /^10\\./x/i)")
        #expect(condition("lower(type) == \"x\" and coalesce(ip, \"-\") != \"-\"") == "a: (and (== lower(type) \"x\") (!= coalesce(ip, \"-\") \"-\"))")
        #expect(condition("process.parent.name == \"cmd.exe\"") == "a: (== process.parent.name \"cmd.exe\")")
        #expect(condition("ok == true and n != 2_000") == "a: (and (== ok true) (!= n 2000))")
        #expect(condition("amount >= 1.5e3") == "a: (>= amount 1500.0)")
    }

    @Test func crossEventReferences() {
        #expect(pattern("s: amount < 2.0 {3,} then b: amount > avg(s.amount) and ip != s.first.ip and n > count(s)")
                == "s: (< amount 2.0){3,} ; then b: (and (and (> amount avg(s.amount)) (!= ip s.first.ip)) (> n count(s)))")
    }

    @Test func commentsAndNewlinesAreFree() {
        let r = rule("""
            rule r   # trailing comment
              from ev # another
              match
                # a comment between steps
                a: type ==
                  "x"
                then b: ok
              alert "x"
            """)
        #expect(ASTDump.pattern(r?.match) == "a: (== type \"x\") ; then b: ok")
    }

    @Test func bundledRulePacksCheckClean() throws {
        let result = Frontend.check(try Support.exampleRules())
        #expect(result.diagnostics.isEmpty, "\(Support.render(result))")
        #expect(result.units.count >= 3)
    }

    @Test func bundledRulePacksUseEveryConstruct() throws {
        let text = try Support.exampleRules().map { String(decoding: $0.bytes, as: UTF8.self) }.joined(separator: "\n")
        let constructs = [
            "stream ", "reference ", "rule ", "flow ", "aggregate ", "key ", "time ", "lateness ", "idle timeout",
            "fields", "process.parent.name", "severity ", "tags ", " by ", "match", " then ", " then any ", " next ",
            "?\n", "{3,}", "{5,}", "{2,4}", " until ", " not ", " or ", "within ", "after match skip past last",
            "skip to next", "skip to last", "no skip", "session gap", "window tumbling", "window hopping",
            "allowed lateness", "having ", "alert ", "suppress ", "where ", "enrich with", "expect ", "else warn",
            "else drop", "else quarantine", "else fail", "select ", "into table", "merge on", "scd2 on", "append",
            " matches /", " in (", "is not null", "count(", "avg(", "sum(", ".first.", ".last.", "cidr_match(",
            "lower(", "p95(", "count_distinct(",
        ]
        for c in constructs {
            #expect(text.contains(c), "no bundled rule uses `\(c)`")
        }
    }
}
