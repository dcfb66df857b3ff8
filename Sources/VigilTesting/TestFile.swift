import Foundation
import VigilText
import Yams

/// A rule test file (`rules/payments.tests.yaml`): the rules it tests and its cases.
/// See docs/testing.md for the format.
public struct TestFile: Sendable {
    public var path: String
    public var text: String
    /// Rule files (`.vigil`), resolved against the test file's folder.
    public var rules: [String]
    public var cases: [TestCase]
}

public struct TestCase: Sendable {
    public var name: String
    /// Line of the case's `name:` (1-based).
    public var line: Int
    /// Rules under test (their alerts and rows are compared); nil: every rule of the files.
    public var rules: [String]?
    public var inputs: [TestInput]
    public var expect: Expectation
    public var mode: MatchMode
    /// Where `expect:` is, for `--update`: its line and column (nil when absent), and the
    /// case's last line and the column its keys start at.
    public var expectLine: Int?
    public var keyColumn: Int
    public var lastLine: Int
}

public enum MatchMode: String, Sendable {
    /// Every output of the rules under test must be expected, and every expected one
    /// must come out.
    case exact
    /// Every expected output must come out; others are allowed.
    case subset
}

public struct TestInput: Sendable {
    public enum Source: Sendable {
        /// A recorded file, resolved against the test file's folder.
        case file(String)
        /// Events written in the test file: each as a JSON object and its line.
        case inline([(json: String, line: Int)])
    }
    public var stream: String
    public var source: Source
    public var line: Int
}

public struct Expectation: Sendable {
    /// nil: alerts are not checked; []: none may come out.
    public var alerts: [ExpectedAlert]?
    public var rows: [ExpectedRow]?
}

/// The fields an alert must have; those not given are not compared.
public struct ExpectedAlert: Sendable {
    public var rule: String
    public var key: [(name: String, value: String)]?
    /// Detection time: RFC 3339 or epoch milliseconds.
    public var at: String?
    public var message: String?
    public var severity: String?
    /// How many alerts `suppress` folded into it.
    public var suppressed: String?
    public var line: Int
}

public struct ExpectedRow: Sendable {
    public var table: String
    public var op: String?
    /// The group's row version (2 and up: updated by a late event).
    public var version: String?
    public var fields: [(name: String, value: String)]
    public var line: Int
}

/// A problem in a test file, with its position.
public struct TestFileError: Error, Sendable {
    public var path: String
    public var line: Int
    public var column: Int
    public var message: String
    public var help: String?

    public init(path: String, line: Int, column: Int, message: String, help: String? = nil) {
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        self.help = help
    }

    public var rendered: String {
        "error: \(message)\n  --> \(path):\(line):\(column)\n" + (help.map { "   = help: \($0)\n" } ?? "")
    }
}

extension TestFile {
    /// Parses a test file; every problem is reported with its line and column.
    public static func parse(path: String, text: String) throws(TestFileError) -> TestFile {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw TestFileError(path: path, line: 1, column: 1, message: "the test file is empty",
                                    help: "add `cases:` with at least one case")
            }
            root = node
        } catch let e as TestFileError {
            throw e
        } catch let e as YamlError {
            throw Self.yamlError(e, path: path)
        } catch {
            throw TestFileError(path: path, line: 1, column: 1, message: "cannot read YAML: \(error)")
        }
        let p = Reader(path: path)
        guard let top = root.mapping else { throw p.error(root, "the test file must be a mapping with `cases:`") }
        try p.onlyKeys(top, ["rules", "cases"], in: "the test file")
        let dir = (path as NSString).deletingLastPathComponent
        var rules: [String]
        if let r = top["rules"] {
            rules = try p.strings(r, "`rules`").map { ($0 as NSString).isAbsolutePath ? $0 : (dir as NSString).appendingPathComponent($0) }
        } else {
            // `payments.tests.yaml` tests `payments.vigil` beside it.
            let base = (path as NSString).lastPathComponent
            let stem = base.hasSuffix(".tests.yaml") ? String(base.dropLast(".tests.yaml".count)) : (base as NSString).deletingPathExtension
            rules = [(dir as NSString).appendingPathComponent(stem + ".vigil")]
        }
        guard let casesNode = top["cases"] else {
            throw TestFileError(path: path, line: 1, column: 1, message: "the test file has no `cases:`",
                                help: "add `cases:` with a list of cases, each with `name`, `input` and `expect`")
        }
        guard let list = casesNode.sequence else { throw p.error(casesNode, "`cases` must be a list") }
        var cases: [TestCase] = []
        var names: [String: Int] = [:]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (i, c) in list.enumerated() {
            var tc = try p.testCase(c, dir: dir)
            if let first = names[tc.name] {
                throw p.error(c["name"] ?? c, "case `\(tc.name)` is declared twice (first at line \(first))")
            }
            names[tc.name] = tc.line
            // The case runs until the next one starts (or the file ends).
            let next = i + 1 < list.count ? (list[i + 1].mark?.line ?? lines.count + 1) : lines.count + 1
            var last = next - 1
            while last > tc.line, lines[last - 1].trimmingCharacters(in: .whitespaces).isEmpty
                || lines[last - 1].trimmingCharacters(in: .whitespaces).hasPrefix("#") { last -= 1 }
            tc.lastLine = last
            cases.append(tc)
        }
        return TestFile(path: path, text: text, rules: rules, cases: cases)
    }

    static func yamlError(_ e: YamlError, path: String) -> TestFileError {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return TestFileError(path: path, line: mark.line, column: mark.column, message: "invalid YAML: \(problem)")
        case .reader(let problem, _, _, _):
            return TestFileError(path: path, line: 1, column: 1, message: "cannot read the test file: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return TestFileError(path: path, line: context.mark.line, column: context.mark.column,
                                 message: "duplicate key \(duplicates.map { "`\($0)`" }.joined(separator: ", "))")
        default:
            return TestFileError(path: path, line: 1, column: 1, message: "invalid YAML: \(e)")
        }
    }
}

/// Reads nodes into the model, with positioned errors.
private struct Reader {
    var path: String

    func error(_ n: Node, _ message: String, help: String? = nil) -> TestFileError {
        TestFileError(path: path, line: n.mark?.line ?? 1, column: n.mark?.column ?? 1, message: message, help: help)
    }

    func onlyKeys(_ m: Node.Mapping, _ allowed: [String], in place: String) throws(TestFileError) {
        for (k, _) in m {
            guard let name = k.scalar?.string, allowed.contains(name) else {
                throw error(k, "unknown key `\(k.scalar?.string ?? "?")` in \(place)",
                            help: "expected one of \(allowed.map { "`\($0)`" }.joined(separator: ", "))")
            }
        }
    }

    func string(_ n: Node, _ what: String) throws(TestFileError) -> String {
        guard let s = n.scalar?.string else { throw error(n, "\(what) must be a single value") }
        return s
    }

    func strings(_ n: Node, _ what: String) throws(TestFileError) -> [String] {
        if let s = n.scalar?.string { return [s] }
        guard let seq = n.sequence else { throw error(n, "\(what) must be a name or a list of names") }
        var out: [String] = []
        for x in seq { out.append(try string(x, "each of \(what)")) }
        return out
    }

    func testCase(_ n: Node, dir: String) throws(TestFileError) -> TestCase {
        guard let m = n.mapping else { throw error(n, "a case must be a mapping with `name`, `input` and `expect`") }
        try onlyKeys(m, ["name", "rules", "input", "expect", "match"], in: "a case")
        guard let nameNode = m["name"] else { throw error(n, "this case has no `name`") }
        let name = try string(nameNode, "`name`")
        let rules = try m["rules"].map { (r) throws(TestFileError) in try strings(r, "`rules`") }
        var mode = MatchMode.exact
        if let mm = m["match"] {
            guard let v = MatchMode(rawValue: try string(mm, "`match`")) else {
                throw error(mm, "`match` must be `exact` or `subset`")
            }
            mode = v
        }
        guard let inputNode = m["input"] else {
            throw error(n, "case `\(name)` has no `input`", help: "name a stream and its events: `input: {payments: ../samples/payments.jsonl}`")
        }
        guard let inputs = inputNode.mapping else { throw error(inputNode, "`input` must map stream names to a file or a list of events") }
        var parsed: [TestInput] = []
        for (k, v) in inputs {
            let stream = try string(k, "a stream name")
            if let file = v.scalar?.string {
                let resolved = (file as NSString).isAbsolutePath ? file : (dir as NSString).appendingPathComponent(file)
                parsed.append(TestInput(stream: stream, source: .file(resolved), line: v.mark?.line ?? 0))
            } else if let seq = v.sequence {
                var events: [(String, Int)] = []
                for e in seq {
                    guard e.mapping != nil else { throw error(e, "each event must be a mapping of field names to values") }
                    events.append((json(e), e.mark?.line ?? 0))
                }
                parsed.append(TestInput(stream: stream, source: .inline(events), line: v.mark?.line ?? 0))
            } else {
                throw error(v, "the input of `\(stream)` must be a file path or a list of events")
            }
        }
        // A case without `expect` is an error when run, and what `--update` fills in.
        let expect = try m["expect"].map { (x) throws(TestFileError) in try expectation(x) } ?? Expectation()
        let keyColumn = m.first.flatMap { $0.key.mark?.column } ?? 3
        let expectLine = m.first { $0.key.scalar?.string == "expect" }?.key.mark?.line
        return TestCase(name: name, line: nameNode.mark?.line ?? 0, rules: rules, inputs: parsed, expect: expect, mode: mode,
                        expectLine: expectLine, keyColumn: keyColumn, lastLine: 0)
    }

    func expectation(_ n: Node) throws(TestFileError) -> Expectation {
        if n.scalar?.string == "nothing" { return Expectation(alerts: [], rows: []) }
        guard let m = n.mapping else { throw error(n, "`expect` must be `nothing` or a mapping with `alerts` and/or `rows`") }
        try onlyKeys(m, ["alerts", "rows"], in: "`expect`")
        var e = Expectation()
        if let a = m["alerts"] {
            guard let seq = a.sequence else { throw error(a, "`alerts` must be a list (`[]` for none)") }
            var out: [ExpectedAlert] = []
            for x in seq { out.append(try alert(x)) }
            e.alerts = out
        }
        if let r = m["rows"] {
            guard let seq = r.sequence else { throw error(r, "`rows` must be a list (`[]` for none)") }
            var out: [ExpectedRow] = []
            for x in seq { out.append(try row(x)) }
            e.rows = out
        }
        if e.alerts == nil && e.rows == nil {
            throw error(n, "`expect` names neither `alerts` nor `rows`", help: "write `alerts: []` to expect no alert")
        }
        return e
    }

    func pairs(_ n: Node, _ what: String) throws(TestFileError) -> [(name: String, value: String)] {
        guard let m = n.mapping else { throw error(n, "\(what) must be a mapping of names to values") }
        var out: [(name: String, value: String)] = []
        for (k, v) in m { out.append((try string(k, "a field name"), try string(v, "the value of `\(k.scalar?.string ?? "")`"))) }
        return out
    }

    func alert(_ n: Node) throws(TestFileError) -> ExpectedAlert {
        guard let m = n.mapping else { throw error(n, "an expected alert must be a mapping with `rule`") }
        try onlyKeys(m, ["rule", "key", "at", "message", "severity", "suppressed"], in: "an expected alert")
        guard let rule = m["rule"] else { throw error(n, "this expected alert has no `rule`") }
        return ExpectedAlert(rule: try string(rule, "`rule`"), key: try m["key"].map { (k) throws(TestFileError) in try pairs(k, "`key`") },
                             at: try m["at"].map { (x) throws(TestFileError) in try string(x, "`at`") },
                             message: try m["message"].map { (x) throws(TestFileError) in try string(x, "`message`") },
                             severity: try m["severity"].map { (x) throws(TestFileError) in try string(x, "`severity`") },
                             suppressed: try m["suppressed"].map { (x) throws(TestFileError) in try string(x, "`suppressed`") },
                             line: n.mark?.line ?? 0)
    }

    func row(_ n: Node) throws(TestFileError) -> ExpectedRow {
        guard let m = n.mapping else { throw error(n, "an expected row must be a mapping with `table` and `row`") }
        try onlyKeys(m, ["table", "op", "version", "row"], in: "an expected row")
        guard let table = m["table"] else { throw error(n, "this expected row has no `table`") }
        guard let fields = m["row"] else { throw error(n, "this expected row has no `row` (its columns)") }
        return ExpectedRow(table: try string(table, "`table`"), op: try m["op"].map { (x) throws(TestFileError) in try string(x, "`op`") },
                           version: try m["version"].map { (x) throws(TestFileError) in try string(x, "`version`") },
                           fields: try pairs(fields, "`row`"), line: n.mark?.line ?? 0)
    }

    /// An inline event as one JSON object line: plain scalars that read as numbers,
    /// booleans or null stay so; everything else is a string. Nested mappings nest.
    func json(_ n: Node) -> String {
        if let m = n.mapping {
            return "{" + m.map { "\(quote($0.key.scalar?.string ?? "")):\(json($0.value))" }.joined(separator: ",") + "}"
        }
        if let seq = n.sequence { return "[" + seq.map(json).joined(separator: ",") + "]" }
        guard let s = n.scalar else { return "null" }
        if s.style == .plain {
            if s.string == "null" || s.string == "~" || s.string.isEmpty { return "null" }
            if s.string == "true" || s.string == "false" { return s.string }
            if Int64(s.string) != nil || (Double(s.string) != nil && s.string.allSatisfy({ "0123456789.-+eE".contains($0) })) {
                return s.string
            }
        }
        return quote(s.string)
    }

    func quote(_ s: String) -> String { jsonQuote(s) }
}
