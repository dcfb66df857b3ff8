import Foundation
import VigilRuntime

/// Expected against actual outputs of one case. Order is not compared; each expected
/// output takes the first actual one that has every field it gives.
enum Comparison {
    static func compare(_ c: TestCase, alerts: [Alert], rows: [Row]) -> [Failure] {
        var failures: [Failure] = []
        if let expected = c.expect.alerts {
            var used = Array(repeating: false, count: alerts.count)
            var unmatched: [ExpectedAlert] = []
            for e in expected {
                if let i = alerts.indices.first(where: { !used[$0] && diff(e, alerts[$0]).isEmpty }) { used[i] = true } else { unmatched.append(e) }
            }
            for e in unmatched {
                // Same rule and key, other fields differ: show the fields rather than two lines.
                if let i = alerts.indices.first(where: { !used[$0] && alerts[$0].rule == e.rule && keyMatches(e, alerts[$0]) }) {
                    used[i] = true
                    failures.append(.differingAlert(e, alerts[i], diff(e, alerts[i])))
                } else {
                    failures.append(.missingAlert(e, why: []))
                }
            }
            if c.mode == .exact {
                for i in alerts.indices where !used[i] { failures.append(.unexpectedAlert(alerts[i])) }
            }
        }
        if let expected = c.expect.rows {
            var used = Array(repeating: false, count: rows.count)
            var unmatched: [ExpectedRow] = []
            for e in expected {
                if let i = rows.indices.first(where: { !used[$0] && diff(e, rows[$0]).isEmpty }) { used[i] = true } else { unmatched.append(e) }
            }
            for e in unmatched {
                // The same table and identity (key and group start, the first columns).
                if let i = rows.indices.first(where: { !used[$0] && rows[$0].table == e.table && identityMatches(e, rows[$0]) }) {
                    used[i] = true
                    failures.append(.differingRow(e, rows[i], diff(e, rows[i])))
                } else {
                    failures.append(.missingRow(e, why: []))
                }
            }
            if c.mode == .exact {
                for i in rows.indices where !used[i] { failures.append(.unexpectedRow(rows[i])) }
            }
        }
        return failures
    }

    static func keyMatches(_ e: ExpectedAlert, _ a: Alert) -> Bool {
        (e.key ?? []).allSatisfy { k in a.key.contains { $0.name == k.name && matches(k.value, $0.value) } }
    }

    static func diff(_ e: ExpectedAlert, _ a: Alert) -> [FieldDiff] {
        var out: [FieldDiff] = []
        if e.rule != a.rule { out.append(FieldDiff(field: "rule", expected: e.rule, actual: a.rule)) }
        for k in e.key ?? [] {
            let actual = a.key.first { $0.name == k.name }?.value
            if actual.map({ !matches(k.value, $0) }) ?? true {
                out.append(FieldDiff(field: "key.\(k.name)", expected: k.value, actual: actual.map(text) ?? "(no such key field)"))
            }
        }
        if let at = e.at, !matches(at, .timestamp(a.detectedAt)) {
            out.append(FieldDiff(field: "at", expected: at, actual: RFC3339.format(a.detectedAt)))
        }
        if let m = e.message, m != a.message { out.append(FieldDiff(field: "message", expected: m, actual: a.message)) }
        if let s = e.severity, s != a.severity { out.append(FieldDiff(field: "severity", expected: s, actual: a.severity)) }
        if let n = e.suppressed, n != String(a.suppressed) { out.append(FieldDiff(field: "suppressed", expected: n, actual: String(a.suppressed))) }
        return out
    }

    static func identityMatches(_ e: ExpectedRow, _ r: Row) -> Bool {
        let identity = Set(r.columns.prefix { !["window_end", "session_end"].contains($0) })
        let given = e.fields.filter { identity.contains($0.name) }
        return !given.isEmpty && given.allSatisfy { f in r.columns.firstIndex(of: f.name).map { matches(f.value, r.values[$0]) } ?? false }
    }

    static func diff(_ e: ExpectedRow, _ r: Row) -> [FieldDiff] {
        var out: [FieldDiff] = []
        if e.table != r.table { out.append(FieldDiff(field: "table", expected: e.table, actual: r.table)) }
        if let op = e.op, op != r.op.rawValue { out.append(FieldDiff(field: "op", expected: op, actual: r.op.rawValue)) }
        if let v = e.version, v != String(r.version) { out.append(FieldDiff(field: "version", expected: v, actual: String(r.version))) }
        for f in e.fields {
            guard let i = r.columns.firstIndex(of: f.name) else {
                out.append(FieldDiff(field: "row.\(f.name)", expected: f.value, actual: "(no such column)"))
                continue
            }
            if !matches(f.value, r.values[i]) { out.append(FieldDiff(field: "row.\(f.name)", expected: f.value, actual: text(r.values[i]))) }
        }
        return out
    }

    /// A value as a test file writes it: strings bare, times in RFC 3339.
    static func text(_ v: Value) -> String { v.templateText }

    /// Whether the text of an expected value (as written in YAML) means `v`: numbers by
    /// value, timestamps as RFC 3339 or epoch milliseconds, durations as written in
    /// rules (`5m`) or milliseconds.
    static func matches(_ expected: String, _ v: Value) -> Bool {
        switch v {
        case .null: return ["null", "~", ""].contains(expected)
        case .bool(let b): return expected == (b ? "true" : "false")
        case .string(let s): return expected == s
        case .int(let n):
            if let x = Int64(expected) { return x == n }
            return Double(expected).map { $0 == Double(n) } ?? false
        case .double(let d):
            guard let x = Double(expected) else { return false }
            return x == d || abs(x - d) <= 1e-9 * max(1, abs(x), abs(d))
        case .timestamp(let t):
            if let x = Int64(expected) { return x == t }
            return RFC3339.parse(expected) == t
        case .duration(let ms):
            if let x = Int64(expected) { return x == ms }
            return expected == v.templateText
        }
    }
}
