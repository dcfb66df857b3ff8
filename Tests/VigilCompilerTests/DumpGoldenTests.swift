import Foundation
import Testing
import VigilCompiler
import VigilLanguage

/// Locks the compiled NFA of every operator (`Dumps/*.vigil`) and of every bundled rule
/// (`rules/*.vigil`) as text (`.nfa`, with the plans of windows, sessions and
/// aggregates after the NFAs) and Graphviz (`.dot`, NFAs only). Re-record with
/// `VIGIL_BLESS=1 swift test --filter DumpGoldenTests` and review the diff.
@Suite struct DumpGoldenTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let dir = root.appendingPathComponent("Tests/VigilCompilerTests/Dumps")

    static var cases: [String] {
        let ops = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasSuffix(".vigil") }.map { "Dumps/" + $0 }
        let rules = ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("rules").path)) ?? [])
            .filter { $0.hasSuffix(".vigil") }.map { "rules/" + $0 }
        return (ops + rules).sorted()
    }

    static func dumps(_ relative: String) throws -> (text: String, dot: String) {
        let url = relative.hasPrefix("rules/") ? root.appendingPathComponent(relative) : dir.appendingPathComponent(String(relative.dropFirst(6)))
        let file = SourceFile(path: relative, bytes: [UInt8](try Data(contentsOf: url)))
        let result = Frontend.check([file])
        guard let rs = result.ruleSet else {
            let r = DiagnosticRenderer(sources: result.sources)
            Issue.record("\(relative) does not check:\n\(result.diagnostics.map(r.render).joined())")
            return ("", "")
        }
        let program = Compiler.compile(rs).program
        var templates: [String: String] = [:]
        for r in rs.rules { if let t = r.alert { templates[r.name] = ExprPrinter.template(t) } }
        let text = (program.rules.map { NFADump.text($0, streams: program.streams, templateSource: templates[$0.name]) }
            + program.windows.map { WindowDump.text($0, streams: program.streams, templateSource: templates[$0.name]) }
            + program.flows.map { FlowDump.text($0, program: program) }).joined(separator: "\n")
        let dot = program.rules.map { NFADump.dot($0, streams: program.streams) }.joined(separator: "\n")
        return (text, dot)
    }

    @Test("NFA dumps", arguments: cases)
    func golden(_ relative: String) throws {
        let (text, dot) = try Self.dumps(relative)
        #expect(!text.isEmpty)
        let base = Self.dir.appendingPathComponent(relative.replacingOccurrences(of: "/", with: "--")
            .replacingOccurrences(of: ".vigil", with: "").replacingOccurrences(of: "Dumps--", with: ""))
        for (ext, actual) in [("nfa", text), ("dot", dot)] {
            let url = base.appendingPathExtension(ext)
            if ProcessInfo.processInfo.environment["VIGIL_BLESS"] == "1" {
                try actual.write(to: url, atomically: true, encoding: .utf8)
                continue
            }
            let expected = (try? String(contentsOf: url, encoding: .utf8)) ?? "<missing golden: run VIGIL_BLESS=1 swift test>"
            #expect(actual == expected, "\(relative).\(ext) differs from its golden; re-record with VIGIL_BLESS=1 and review")
        }
    }
}
