import Foundation
import VigilRuntime

/// Renders results for people (text) and for CI systems (JUnit XML).
public enum Report {
    /// One block per file: `ok`/`FAIL` per case, and under each failure its diff and,
    /// for every missing alert, why it did not fire.
    public static func text(_ file: String, _ results: [CaseResult]) -> String {
        var out = "\(file)\n"
        for r in results {
            out += (r.passed ? "  ok    " : "  FAIL  ") + r.testCase.name + "\n"
            if let e = r.error { out += indent(e.rendered, 8) }
            for f in r.failures { out += indent(failure(f, r), 8) }
        }
        return out
    }

    public static func summary(_ results: [CaseResult]) -> String {
        let failed = results.filter { !$0.passed }.count
        return "\(results.count) case\(results.count == 1 ? "" : "s"): \(results.count - failed) passed, \(failed) failed"
    }

    static func indent(_ s: String, _ n: Int) -> String {
        let pad = String(repeating: " ", count: n)
        return s.split(separator: "\n", omittingEmptySubsequences: false).dropLast(s.hasSuffix("\n") ? 1 : 0)
            .map { $0.isEmpty ? "" : pad + $0 }.joined(separator: "\n") + "\n"
    }

    static func failure(_ f: Failure, _ r: CaseResult) -> String {
        let at = { (line: Int) in "\((r.file as NSString).lastPathComponent):\(line)" }
        switch f {
        case .unexpectedAlert(let a):
            return "unexpected alert: \(alert(a))\n  message: \(quoted(a.message))\n"
        case .missingAlert(let e, let why):
            var s = "missing alert: \(e.rule)\(e.key.map { " " + $0.map { "\($0.name)=\($0.value)" }.joined(separator: ",") } ?? "")"
            s += e.at.map { " at \($0)" } ?? ""
            s += "  (expected at \(at(e.line)))\n"
            if why.isEmpty { s += "  why: no event of this key reached `\(e.rule)`\n" }
            for k in why { s += indent(explanation(k, r), 2) }
            return s
        case .differingAlert(let e, let a, let diffs):
            return "differing alert: \(alert(a))  (expected at \(at(e.line)))\n" + diffs.map(diff).joined()
        case .missingRow(let e, let why):
            var s = "missing row in \(e.table): \(e.fields.map { "\($0.name)=\($0.value)" }.joined(separator: ", "))  (expected at \(at(e.line)))\n"
            for k in why { s += indent(explanation(k, r), 2) }
            return s
        case .unexpectedRow(let row):
            return "unexpected row in \(row.table) (\(row.op.rawValue), version \(row.version)): \(columns(row))\n"
        case .differingRow(let e, let row, let diffs):
            return "differing row in \(row.table): \(columns(row))  (expected at \(at(e.line)))\n" + diffs.map(diff).joined()
        }
    }

    static func diff(_ d: FieldDiff) -> String {
        "  \(d.field):\n    expected \(quoted(d.expected))\n    actual   \(quoted(d.actual))\n"
    }

    static func alert(_ a: Alert) -> String {
        "\(a.rule) \(a.key.map { "\($0.name)=\($0.value.templateText)" }.joined(separator: ",")) at \(RFC3339.format(a.detectedAt))"
    }

    static func columns(_ row: Row) -> String {
        zip(row.columns, row.values).map { "\($0)=\($1.templateText)" }.joined(separator: ", ")
    }

    static func quoted(_ s: String) -> String { "\"" + s + "\"" }

    /// `samples/auth.jsonl:3 (2023-11-14T22:13:20.000Z)`
    static func event(_ e: Event, _ r: CaseResult) -> String {
        let name = Int(e.origin.input) < r.inputNames.count ? r.inputNames[Int(e.origin.input)] : "input \(e.origin.input)"
        return "\(name):\(e.origin.line) (\(RFC3339.format(e.ts)))"
    }

    static func values(_ vs: [(text: String, value: Value)]) -> String {
        vs.isEmpty ? "" : " (" + vs.map { "\($0.text) = \($0.value.templateText)" }.joined(separator: ", ") + ")"
    }

    static func rejection(_ x: Rejection) -> String {
        if x.otherStream { return "`\(x.step)` reads another stream" }
        return "`\(x.condition)` is \(x.isNull ? "null" : "false")\(values(x.values))"
    }

    static func explanation(_ k: KeyExplanation, _ r: CaseResult) -> String {
        let key = k.key.map { "\($0.name)=\($0.value.templateText)" }.joined(separator: ",")
        var s = ""
        if !k.groups.isEmpty || k.attempts.isEmpty && k.events == 0 && k.unstartedCount == 0 && k.late.isEmpty {
            s += "why, for \(key):\n"
            if k.groups.isEmpty && k.late.isEmpty { s += "  no event of this key reached `\(k.rule)`\n" }
            for g in k.groups {
                s += "  group [\(RFC3339.format(g.start)), \(RFC3339.format(g.end))\(g.events > 0 ? "], \(g.events) events" : ")")"
                if let f = g.failed { s += ": `having` failed at `\(f.condition)`\(values(f.values))\n" } else { s += ": `having` held\n" }
            }
        } else {
            s += "why, for \(key) (\(k.events) event\(k.events == 1 ? "" : "s") of the key reached `\(k.rule)`):\n"
        }
        for a in k.attempts {
            guard let first = a.bound.first?.events.first else { continue }
            s += "  partial match from \(event(first, r))\n"
            for b in a.bound {
                s += "    \(b.step): \(b.events.map { "\(r.inputNames.indices.contains(Int($0.origin.input)) ? r.inputNames[Int($0.origin.input)] : "?"):\($0.origin.line)" }.joined(separator: ", "))\n"
            }
            s += "    " + outcome(a.outcome, r) + "\n"
            if a.rejectedCount > 0 {
                s += "      \(a.rejectedCount) later event\(a.rejectedCount == 1 ? "" : "s") of the key did not satisfy `\(a.rejected[0].step)`:\n"
                for x in a.rejected { s += "        \(event(x.event, r)): \(rejection(x))\n" }
                if a.rejectedCount > a.rejected.count { s += "        ...\n" }
            } else if case .waiting = a.outcome {
                s += "      no later event of the key came\n"
            }
        }
        if k.unstartedCount > 0 {
            s += "  \(k.unstartedCount) event\(k.unstartedCount == 1 ? "" : "s") of the key started nothing"
            s += k.unstartedCount > k.unstarted.count ? "; the first \(k.unstarted.count):\n" : ":\n"
            for x in k.unstarted { s += "    \(event(x.event, r)): \(rejection(x))\n" }
        }
        for (e, w) in k.late {
            s += "  late: \(event(e, r)) arrived behind the watermark \(RFC3339.format(w)); it is never matched\n"
        }
        return s
    }

    static func outcome(_ o: AttemptStory.Outcome, _ r: CaseResult) -> String {
        switch o {
        case .matched(let at):
            return "-> matched at \(RFC3339.format(at)) (with other fields than expected?)"
        case .expired(let within, let deadline, let by, let watermark):
            let past = by.map { "; \(event($0, r)) is later" } ?? ", and the watermark passed it (\(watermark.map(RFC3339.format) ?? "?"))"
            return "x expired: `within \(Self.duration(within))` ended at \(RFC3339.format(deadline))\(past)"
        case .negated(let step, let by, let c):
            return "x killed by `not \(step)`: \(event(by, r)) satisfies `\(c.condition)`\(values(c.values))"
        case .runTooShort(let step, let count, let min, let by, let next):
            return "x the run of `\(step)` ended with \(count) of at least \(min): `\(next)` took \(event(by, r)), which ends the run"
        case .untilTooShort(let step, let count, let min, let by):
            return "x `until` ended the run of `\(step)` at \(event(by, r)) with \(count) of at least \(min)"
        case .notNext(let step, let by, let why):
            return "x `next \(step)` needed the very next event; \(event(by, r)) is not one: \(rejection(why))"
        case .skipped(let strategy, let by):
            return "x dropped by `after match \(strategy)` when a match completed\(by.map { " at \(event($0, r))" } ?? "")"
        case .droppedByLimit:
            return "x dropped: the key reached its limit of partial matches"
        case .waiting(let step, let run):
            return "... still waiting for `\(step)` at the end of the input" + (run.map { " (it has \($0.have) of at least \($0.need))" } ?? "")
        }
    }

    static func duration(_ ms: Int64) -> String {
        Value.duration(ms).templateText
    }

    /// JUnit XML: one `testsuite` per file, one `testcase` per case; failures carry the
    /// same text as the terminal report.
    public static func junit(_ files: [(path: String, results: [CaseResult])], errors: [TestFileError] = []) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let total = files.reduce(0) { $0 + $1.results.count }
        let failed = files.reduce(0) { $0 + $1.results.filter { !$0.passed }.count }
        out += "<testsuites name=\"vigil test\" tests=\"\(total + errors.count)\" failures=\"\(failed)\" errors=\"\(errors.count)\">\n"
        for f in files {
            let fails = f.results.filter { !$0.passed }.count
            out += "  <testsuite name=\"\(xml(f.path))\" tests=\"\(f.results.count)\" failures=\"\(fails)\" errors=\"0\">\n"
            for r in f.results {
                out += "    <testcase classname=\"\(xml(f.path))\" name=\"\(xml(r.testCase.name))\""
                if r.passed { out += "/>\n"; continue }
                let text = (r.error.map(\.rendered) ?? "") + r.failures.map { failure($0, r) }.joined()
                let first = text.split(separator: "\n").first.map(String.init) ?? "failed"
                out += ">\n      <failure message=\"\(xml(first))\">\(xml(text))</failure>\n    </testcase>\n"
            }
            out += "  </testsuite>\n"
        }
        for e in errors {
            out += "  <testsuite name=\"\(xml(e.path))\" tests=\"1\" failures=\"0\" errors=\"1\">\n"
            out += "    <testcase classname=\"\(xml(e.path))\" name=\"(test file)\">\n      <error message=\"\(xml(e.message))\">\(xml(e.rendered))</error>\n    </testcase>\n  </testsuite>\n"
        }
        return out + "</testsuites>\n"
    }

    static func xml(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t", "\r": out.unicodeScalars.append(u)
            default:
                // XML 1.0 cannot carry other control characters at all.
                if u.value < 0x20 { out += "?" } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }
}
