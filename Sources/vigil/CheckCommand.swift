import ArgumentParser
import VigilLanguage

/// `vigil check`: parse and check rule files, print diagnostics.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check rule files and report every problem with its file, line and column.",
        discussion: """
            Files and folders are checked together as one rule set, so a rule may read a \
            stream declared in another file. Folders are searched for *.vigil files.

            Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 bad flags or \
            unreadable paths.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case human, json
    }

    @Argument(help: "Rule files or folders of *.vigil files.")
    var paths: [String]

    @Option(help: "Output format: human (to stderr) or json (to stdout).")
    var format: Format = .human

    @Option(help: "Color diagnostics: auto, always or never.")
    var color: ColorChoice = .auto

    mutating func run() throws {
        let files: [SourceFile]
        do {
            files = try RuleFiles.load(paths)
        } catch {
            FileHandleOutput.standardError.write("error: \(error.message)\n")
            throw ExitCode(2)
        }
        let result = Frontend.check(files)
        switch format {
        case .json:
            let renderer = DiagnosticRenderer(sources: result.sources)
            let items = result.diagnostics.map(renderer.json)
            var out = "{\"diagnostics\":[" + items.joined(separator: ",") + "],"
            out += "\"errors\":\(result.errorCount),\"warnings\":\(result.warningCount),\"files\":\(files.count)}\n"
            FileHandleOutput.standardOutput.write(out)
        case .human:
            let stderr = FileHandleOutput.standardError
            let renderer = DiagnosticRenderer(sources: result.sources, color: stderr.useColor(color))
            for d in result.diagnostics { stderr.write(renderer.render(d)) }
            stderr.write(Self.summary(result, files: files.count) + "\n")
        }
        if result.hasErrors { throw ExitCode(1) }
    }

    static func summary(_ r: CheckResult, files: Int) -> String {
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        var parts: [String] = []
        if r.errorCount > 0 { parts.append(plural(r.errorCount, "error")) }
        if r.warningCount > 0 { parts.append(plural(r.warningCount, "warning")) }
        let declarations = r.units.reduce(0) { $0 + $1.declarations.count }
        let head = "checked \(plural(files, "file")), \(plural(declarations, "declaration"))"
        var line = parts.isEmpty ? "\(head): no problems" : "\(head): \(parts.joined(separator: ", "))"
        if r.suppressedErrors > 0 { line += " (\(r.suppressedErrors) not shown; fix the first ones and check again)" }
        return line
    }
}
