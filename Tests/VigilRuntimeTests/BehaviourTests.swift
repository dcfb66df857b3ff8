import Foundation
import Testing
import VigilRuntime

/// Behaviour scripts: `Behaviour/*.cases`, one feature per file, each case a pattern,
/// events and the expected matches inline (the notation of DESIGN.md):
///
///     case: a then b — every start
///     pattern: a: type == "a" then b: type == "b"
///     clauses: within 10ms
///     lateness: 0
///     events: a1@0 a2@1 b3@2 b4@3
///     expect: (a1,b3) (a2,b3)
///     late: x1
///
/// `expect:` lists matches in emission order, each as its event ids in bound order,
/// optionally `@t` for the detection time; `expect: none` for no match.
///
/// A case with `window:` runs a window or session rule instead of a pattern:
///
///     case: a late event merges two sessions
///     window: session gap 10ms allowed lateness 30ms
///     having: count() >= 2
///     select: count() as n
///     alert: {count()} events
///     events: a1@0 a2@20 x3@40 a4@10
///     rows: +1(k,0,0,1,1) +1(k,20,20,1,1) -2(k,20,20,1,1) +2(k,0,20,3,3)
///     alerts: 3 events@30
///
/// `rows:` lists the rows in emission order as `+VERSION(values)` for an upsert and
/// `-VERSION(values)` for a delete (key, group bounds in ms, then the selected
/// columns); `alerts:` the alerts as `message@detection time`, separated by ` | `.
///
/// Every case is also run with a snapshot/restore after each event, which must not
/// change anything.
@Suite struct BehaviourTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var file: String
        var line: Int
        var name: String
        var pattern = ""
        var clauses = ""
        var lateness: Int64 = 0
        var events = ""
        var expect: [(ids: [String], at: Int64?)] = []
        var late: [String] = []
        var window = ""
        var having = ""
        var select = ""
        var alert = ""
        var rows: [String]? = nil
        var alerts: [String]? = nil
        var testDescription: String { "\(file):\(line) \(name)" }
    }

    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Behaviour")

    static var cases: [Case] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".cases") }.sorted()
        var out: [Case] = []
        for file in files {
            let text = (try? String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)) ?? ""
            var current: Case?
            for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                guard let colon = line.firstIndex(of: ":") else { continue }
                let key = String(line[..<colon]), value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if key == "case" {
                    if let c = current { out.append(c) }
                    current = Case(file: file, line: n + 1, name: value)
                    continue
                }
                switch key {
                case "pattern": current?.pattern = value
                case "clauses": current?.clauses = value
                case "lateness": current?.lateness = Int64(value) ?? 0
                case "events": current?.events = value
                case "late": current?.late = value.split(separator: " ").map(String.init)
                case "expect": current?.expect = value == "none" ? [] : parseMatches(value)
                case "window": current?.window = value
                case "having": current?.having = value
                case "select": current?.select = value
                case "alert": current?.alert = value
                case "rows": current?.rows = value == "none" ? [] : value.split(separator: " ").map(String.init)
                case "alerts": current?.alerts = value == "none" ? [] : value.components(separatedBy: " | ")
                default: break
                }
            }
            if let c = current { out.append(c) }
        }
        return out
    }

    static func parseMatches(_ s: String) -> [(ids: [String], at: Int64?)] {
        var out: [(ids: [String], at: Int64?)] = []
        var rest = Substring(s)
        while let open = rest.firstIndex(of: "("), let close = rest.firstIndex(of: ")") {
            let ids = rest[rest.index(after: open)..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            rest = rest[rest.index(after: close)...]
            var at: Int64? = nil
            if rest.first == "@" {
                let digits = rest.dropFirst().prefix { $0.isNumber || $0 == "-" }
                at = Int64(digits)
                rest = rest.dropFirst(1 + digits.count)
            }
            out.append((ids, at))
        }
        return out
    }

    static func render(_ matches: [(ids: [String], at: Int64?)]) -> String {
        matches.isEmpty ? "none" : matches.map { "(" + $0.ids.joined(separator: ",") + ")" + ($0.at.map { "@\($0)" } ?? "") }.joined(separator: " ")
    }

    @Test("behaviour", arguments: cases)
    func behaviour(_ c: Case) throws {
        if !c.window.isEmpty { return try windowBehaviour(c) }
        let program = try Harness.compile(Harness.ruleText(pattern: c.pattern, clauses: c.clauses, lateness: c.lateness))
        let events = Harness.events(c.events, program: program)
        let outcome = try Harness.run(program, events)
        let expected = Self.render(c.expect)
        // Detection times are compared only where the case gives them.
        let actual = Self.render(outcome.matches.enumerated().map { i, m in
            (m.ids, i < c.expect.count && c.expect[i].at != nil ? m.at : nil)
        })
        #expect(actual == expected, "\(c.file):\(c.line) \(c.name)")
        #expect(outcome.late == c.late, "\(c.file):\(c.line) \(c.name): late events")
        // Snapshot and restore at every position: same output.
        for i in 0..<events.count {
            let again = try Harness.run(program, events, snapshotAt: i)
            #expect(again.matches.map(\.ids) == outcome.matches.map(\.ids) && again.matches.map(\.at) == outcome.matches.map(\.at),
                    "\(c.file):\(c.line) \(c.name): snapshot at event \(i) changed the output")
        }
    }

    func windowBehaviour(_ c: Case) throws {
        var text = Harness.header.replacingOccurrences(of: "LATENESS", with: String(c.lateness)) + "rule r\n  from s\n  \(c.window)\n"
        if !c.having.isEmpty { text += "  having \(c.having)\n" }
        if !c.alert.isEmpty { text += "  alert \"\(c.alert)\"\n" }
        if !c.select.isEmpty { text += "  select \(c.select)\n  into table gold.t\n" }
        let program = try Harness.compile(text)
        let events = Harness.events(c.events, program: program)
        let render = { (o: Harness.Outcome) in (o.rows.map(Harness.render), o.alerts.map { "\($0.message)@\($0.detectedAt)" }, o.late) }
        let (rows, alerts, late) = render(try Harness.run(program, events))
        let place = "\(c.file):\(c.line) \(c.name)"
        if let expected = c.rows { #expect(rows == expected, "\(place): rows") }
        if let expected = c.alerts { #expect(alerts == expected, "\(place): alerts") }
        #expect(late == c.late, "\(place): late events")
        for i in 0..<events.count {
            let again = render(try Harness.run(program, events, snapshotAt: i))
            #expect(again.0 == rows && again.1 == alerts && again.2 == late, "\(place): snapshot at event \(i) changed the output")
        }
    }

    @Test func everyFeatureHasCases() {
        let files = Set(Self.cases.map(\.file))
        for feature in ["contiguity", "quantifiers", "negation", "absence", "within", "lateness", "multistream", "skip", "windows", "sessions"] {
            #expect(files.contains("\(feature).cases"), "no behaviour cases for \(feature)")
        }
    }
}

/// An alert line is valid JSON whose strings read back exactly, escapes and all.
@Suite struct AlertJSONTests {
    @Test func alertLinesAreValidJSON() throws {
        let program = try Harness.compile(Harness.ruleText(pattern: #"a: type == "a" then b: type == "b""#, clauses: "", lateness: 0))
        let events = Harness.events("a1@0=5 b2@1=-7", program: program)
        let outcome = try Harness.run(program, events)
        #expect(outcome.alerts.count == 1)
        for var a in outcome.alerts {
            a.message = "quote \" back\\slash \n tab\t \u{1} é 🎉"
            let object = try JSONSerialization.jsonObject(with: Data(a.json(streams: program.streams).utf8)) as? [String: Any]
            #expect(object?["message"] as? String == a.message)
            #expect(object?["detected_at"] as? Int == 1)
            let matched = object?["matched"] as? [[String: Any]] ?? []
            #expect(matched.map { $0["step"] as? String } == ["a", "b"])
            let b = (matched.last?["events"] as? [[String: Any]])?.first
            #expect(b?["v"] as? Int == -7)
            #expect(b?["id"] as? String == "b2")
        }
    }
}

/// An idle stream stops holding back the watermark of a rule over several streams.
@Suite struct IdleStreamTests {
    @Test func idleStreamReleasesTheOthers() throws {
        let program = try Harness.compile(Harness.ruleText(pattern: #"a: type == "a" then b: t where type == "b""#, clauses: "", lateness: 0))
        let events = Harness.events("a1@1000 t:b2@2000 t:x3@3000", program: program)
        var detector = Detector(program: program)
        var outputs: [DetectorOutput] = []
        for e in events { outputs += detector.accept(e) }
        // Stream s's watermark (1000) holds the rule back: b2 is not released yet.
        #expect(outputs.isEmpty)
        outputs += detector.markIdle(stream: 0)
        let alerts = outputs.compactMap { if case .alert(let a) = $0 { a } else { nil } }
        #expect(alerts.map { $0.matched.flatMap { $0.events.map(Harness.id) } } == [["a1", "b2"]])
        // s wakes up with an event behind what the rule released: late, not matched.
        let late = detector.accept(Harness.events("a4@1500", program: program)[0])
        guard case .late(_, let w)? = late.first else { Issue.record("expected a late event"); return }
        #expect(w == 3000)
        // ...and an event ahead of it is matched again.
        var more = detector.accept(Harness.events("a5@3500", program: program)[0])
        more += detector.accept(Harness.events("t:b6@3600", program: program)[0])
        more += detector.finish()
        let ids = more.compactMap { if case .alert(let a) = $0 { a.matched.flatMap { $0.events.map(Harness.id) } } else { nil } }
        #expect(ids == [["a5", "b6"]])
    }
}
