import Foundation
import Testing
import VigilRuntime
import VigilTesting

/// The test runner's own tests: passing and failing cases, the report (golden, with
/// diffs and explanations), `--update`, JUnit output, and bad test files.
/// Re-record goldens with `VIGIL_BLESS=1 swift test --filter TestRunnerTests` and review.
@Suite struct TestRunnerTests {
    static let cases = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Cases")

    static func load(_ name: String) throws -> TestFile {
        let path = cases.appendingPathComponent(name).path
        return try TestFile.parse(path: path, text: try String(contentsOfFile: path, encoding: .utf8))
    }

    static func golden(_ name: String, _ actual: String) throws {
        let url = cases.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["VIGIL_BLESS"] == "1" {
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = (try? String(contentsOf: url, encoding: .utf8)) ?? "<missing golden: run VIGIL_BLESS=1 swift test>"
        #expect(actual == expected, "\(name) differs from its golden; re-record with VIGIL_BLESS=1 and review")
    }

    /// Paths in reports, made independent of where the checkout is.
    static func portable(_ s: String) -> String {
        s.replacingOccurrences(of: cases.path + "/", with: "Cases/")
    }

    @Test func passingCasesPass() throws {
        let results = try TestRunner().run(try Self.load("pass.tests.yaml"))
        #expect(results.map(\.testCase.name) == ["three failures then a login from the same country", "subset mode ignores other alerts",
                                                 "nothing", "a window row"])
        for r in results { #expect(r.passed, "\(r.testCase.name): \(Report.text("", [r]))") }
    }

    @Test func failuresAreReportedWithDiffsAndExplanations() throws {
        let file = try Self.load("fail.tests.yaml")
        let results = try TestRunner().run(file)
        #expect(results.count == 7 && results.allSatisfy { !$0.passed })
        try Self.golden("fail.report", Self.portable(Report.text(file.path, results) + Report.summary(results) + "\n"))
    }

    @Test func filterSelectsCases() throws {
        let results = try TestRunner().run(try Self.load("fail.tests.yaml"), filter: "differs")
        #expect(results.map(\.testCase.name) == ["the alert differs"])
    }

    @Test func updateRecordsWhatCameOutAndThenPasses() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-update-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["rules.vigil", "update.tests.yaml"] {
            try FileManager.default.copyItem(at: Self.cases.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let path = dir.appendingPathComponent("update.tests.yaml").path
        let before = try TestFile.parse(path: path, text: try String(contentsOfFile: path, encoding: .utf8))
        let first = try TestRunner().run(before)
        #expect(first.filter(\.passed).count == 0)
        let recorded = Recorder.update(before, with: first)
        try Self.golden("update.recorded.yaml", recorded)
        let after = try TestFile.parse(path: path, text: recorded)
        let again = try TestRunner().run(after)
        #expect(again.count == 3 && again.allSatisfy(\.passed), "\(again.map { Report.text("", [$0]) })")
        // Recording twice changes nothing.
        #expect(Recorder.update(after, with: again) == recorded)
    }

    @Test func junitIsValidXMLWithEveryCase() throws {
        let pass = try Self.load("pass.tests.yaml"), fail = try Self.load("fail.tests.yaml")
        let xml = Report.junit([(pass.path, try TestRunner().run(pass)), (fail.path, try TestRunner().run(fail))],
                               errors: [TestFileError(path: "bad.tests.yaml", line: 3, column: 5, message: "a <bad> & \"odd\" file")])
        // A real XML parser reads it back (Python's, which CI has anyway).
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("junit-\(UUID().uuidString).xml")
        try xml.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import sys, xml.etree.ElementTree as ET
            root = ET.parse(sys.argv[1]).getroot()
            print(root.tag, len(root.findall("testsuite")), len(root.iter("testcase").__class__.__name__) and len(list(root.iter("testcase"))),
                  len(list(root.iter("failure"))), len(list(root.iter("error"))))
            """, url.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let counts = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0)
        #expect(counts == "testsuites 3 12 7 1\n", "\(counts)")
        #expect(xml.contains("failures=\"7\"") && xml.contains("a &lt;bad&gt; &amp; &quot;odd&quot; file"))
    }

    /// Every bad test file gets an error at its line, never a crash.
    @Test(arguments: [
        ("cases: [", 2, "invalid YAML"),
        ("", 1, "empty"),
        ("rules: rules.vigil\n", 1, "no `cases:`"),
        ("cases: 3\n", 1, "`cases` must be a list"),
        ("cases:\n  - input: {}\n", 2, "has no `name`"),
        ("cases:\n  - name: a\n    inputs: {}\n", 3, "unknown key `inputs`"),
        ("cases:\n  - name: a\n    input: {logins: [1]}\n    expect: nothing\n", 3, "each event must be a mapping"),
        ("cases:\n  - name: a\n    input: {logins: []}\n    expect: {alerts: 3}\n", 4, "`alerts` must be a list"),
        ("cases:\n  - name: a\n    input: {logins: []}\n    expect: {}\n", 4, "names neither"),
        ("cases:\n  - name: a\n    input: {logins: []}\n    match: sometimes\n    expect: nothing\n", 4, "`match` must be"),
        ("cases:\n  - name: a\n    input: {logins: []}\n    expect: nothing\n  - name: a\n    input: {logins: []}\n    expect: nothing\n", 5, "declared twice"),
        ("cases:\n  - name: a\n    input: {logins: []}\n    expect: {alerts: [{key: {user: x}}]}\n", 4, "has no `rule`"),
        ("cases:\n  - name: a\n    name: b\n", 2, "duplicate key"),
    ] as [(String, Int, String)])
    func badTestFilesAreReportedAtTheirLine(_ text: String, _ line: Int, _ message: String) {
        do {
            _ = try TestFile.parse(path: Self.cases.appendingPathComponent("bad.tests.yaml").path, text: text)
            Issue.record("no error for \(text.debugDescription)")
        } catch {
            #expect(error.line == line && error.message.contains(message), "\(text.debugDescription): \(error.rendered)")
        }
    }

    /// Problems found when a case runs: each fails that case with the line, never a crash.
    @Test(arguments: [
        ("    input: {nope: []}\n    expect: nothing\n", 3, "unknown stream `nope`"),
        ("    rules: [nope]\n    input: {logins: []}\n    expect: nothing\n", 2, "do not declare"),
        ("    input:\n      logins:\n        - {user: a, ts: soon, type: ok, ip: x, country: DE}\n    expect: nothing\n", 5, "does not decode"),
        ("    input: {logins: missing.jsonl}\n    expect: nothing\n", 3, "cannot read"),
    ] as [(String, Int, String)])
    func caseErrorsFailTheCaseAtTheirLine(_ body: String, _ line: Int, _ message: String) throws {
        let text = "rules: rules.vigil\ncases:\n  - name: a\n" + body
        let shifted = text.replacingOccurrences(of: "rules: rules.vigil\ncases:\n", with: "rules: rules.vigil\ncases:\n")
        let file = try TestFile.parse(path: Self.cases.appendingPathComponent("case.tests.yaml").path, text: shifted)
        let results = try TestRunner().run(file)
        #expect(results.count == 1)
        let error = results.first?.error
        #expect(error != nil && error!.line == line + 1 && error!.message.contains(message), "\(error?.rendered ?? "no error")")
    }

    @Test func missingRuleFilesAreAnError() throws {
        let file = try TestFile.parse(path: Self.cases.appendingPathComponent("orphan.tests.yaml").path,
                                      text: "cases:\n  - name: a\n    input: {logins: []}\n    expect: nothing\n")
        #expect(throws: TestFileError.self) { try TestRunner().run(file) }
    }

    /// Mutants of the bundled test files (truncated anywhere, or with a stray character)
    /// give a passing or failing result or an error with a line — never a crash.
    @Test func mutatedTestFilesNeverCrash() throws {
        let root = Self.cases.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var seed: UInt64 = 0x7E57
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        var outcomes = (parsed: 0, errors: 0)
        for name in ["auth", "payments", "clickstream"] {
            let path = root.appendingPathComponent("rules/\(name).tests.yaml").path
            let text = Array(try String(contentsOfFile: path, encoding: .utf8))
            for _ in 0..<60 {
                var mutant = text
                switch next(3) {
                case 0: mutant = Array(text.prefix(next(text.count)))
                case 1: mutant.insert(["[", "{", ":", "-", "\"", "'", "#", "\t", "&", "*"][next(10)], at: next(text.count))
                default: mutant.remove(at: next(text.count))
                }
                do {
                    let file = try TestFile.parse(path: path, text: String(mutant))
                    outcomes.parsed += 1
                    for r in try TestRunner().run(file) {
                        if let e = r.error { #expect(e.line >= 1) }
                        _ = Report.text(path, [r])
                    }
                } catch {
                    outcomes.errors += 1
                    #expect(error.line >= 1 && !error.message.isEmpty)
                }
            }
        }
        // Both kinds happen: the mutants are not all trivially fine or all rejected.
        #expect(outcomes.parsed > 20 && outcomes.errors > 20, "\(outcomes)")
    }
}
