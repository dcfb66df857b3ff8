import Foundation
import VigilRuntime
import VigilText

/// `vigil test --update`: writes what the rules under test produced into each case's
/// `expect:` block, leaving the rest of the file (comments included) as it was.
public enum Recorder {
    /// The test file's new text, with the `expect:` of every result's case re-recorded.
    public static func update(_ file: TestFile, with results: [CaseResult]) -> String {
        var lines = file.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Bottom up, so earlier line numbers stay valid.
        for r in results.sorted(by: { $0.testCase.line > $1.testCase.line }) where r.error == nil || r.testCase.expectLine == nil {
            let c = r.testCase
            let pad = String(repeating: " ", count: max(0, c.keyColumn - 1))
            let block = render(r, keepRows: c.expect.rows != nil).map { pad + $0 }
            if let start = c.expectLine {
                var end = start
                var i = start + 1
                while i <= c.lastLine, i - 1 < lines.count {
                    let line = lines[i - 1]
                    let indentWidth = line.prefix { $0 == " " }.count
                    let blank = line.trimmingCharacters(in: .whitespaces).isEmpty
                    if !blank && indentWidth < c.keyColumn { break }
                    if !blank && !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") { end = i }
                    i += 1
                }
                lines.replaceSubrange((start - 1)..<end, with: block)
            } else {
                lines.insert(contentsOf: block, at: min(c.lastLine, lines.count))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The `expect:` block for what came out (alerts always; rows when there are any or
    /// the case already checked them).
    static func render(_ r: CaseResult, keepRows: Bool) -> [String] {
        var out = ["expect:"]
        if r.alerts.isEmpty {
            out.append("  alerts: []")
        } else {
            out.append("  alerts:")
            for a in r.alerts {
                out.append("    - rule: \(a.rule)")
                out.append("      key: {\(a.key.map { "\($0.name): \(scalar($0.value))" }.joined(separator: ", "))}")
                out.append("      at: \(RFC3339.format(a.detectedAt))")
                out.append("      message: \(jsonQuote(a.message))")
                if a.suppressed > 0 { out.append("      suppressed: \(a.suppressed)") }
            }
        }
        if !r.rows.isEmpty || keepRows {
            if r.rows.isEmpty {
                out.append("  rows: []")
            } else {
                out.append("  rows:")
                for row in r.rows {
                    out.append("    - table: \(row.table)")
                    if row.op == .delete { out.append("      op: delete") }
                    if row.version > 1 { out.append("      version: \(row.version)") }
                    out.append("      row: {\(zip(row.columns, row.values).map { "\($0): \(scalar($1))" }.joined(separator: ", "))}")
                }
            }
        }
        return out
    }

    /// A value as a YAML flow scalar that reads back as the same value.
    static func scalar(_ v: Value) -> String {
        switch v {
        case .string(let s): return jsonQuote(s)
        case .timestamp(let t): return RFC3339.format(t)
        case .null: return "null"
        case .duration: return v.templateText
        // Numbers in full (templates round doubles for people).
        default: return v.json
        }
    }
}
