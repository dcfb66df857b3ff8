import ArgumentParser
import VigilCompiler
import VigilLanguage

/// `vigil explain`: shows the compiled NFA of each pattern rule and the plan of each
/// window, session and aggregate.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the compiled NFA of each pattern rule (text, or Graphviz dot) and the plan of each window, session and aggregate.",
        discussion: """
            The text form lists the rule's predicates (p0, p1, ...) and one state per step \
            with its edges: take (bind the event), proceed (a run ends at the next step's \
            event), until, kill (a negated event), ignore (skip-till-next) or else (strict). \
            Render dot with: vigil explain rules/auth.vigil --format dot | dot -Tsvg > nfa.svg
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, dot
    }

    @Argument(help: "Rule files or folders of *.vigil files.")
    var paths: [String]

    @Option(help: "Only this rule.")
    var rule: String?

    @Option(help: "Output format: text or dot.")
    var format: Format = .text

    @Option(help: "Color diagnostics: auto, always or never.")
    var color: ColorChoice = .auto

    mutating func run() throws {
        let stderr = FileHandleOutput.standardError
        let files: [SourceFile]
        do { files = try RuleFiles.load(paths) } catch {
            stderr.write("error: \(error.message)\n")
            throw ExitCode(2)
        }
        let result = Frontend.check(files)
        guard let ruleSet = result.ruleSet else {
            let renderer = DiagnosticRenderer(sources: result.sources, color: stderr.useColor(color))
            for d in result.diagnostics { stderr.write(renderer.render(d)) }
            stderr.write(Check.summary(result, files: files.count) + "\n")
            throw ExitCode(1)
        }
        let program = Compiler.compile(ruleSet).program
        var templates: [String: String] = [:]
        for r in ruleSet.rules { if let t = r.alert { templates[r.name] = ExprPrinter.template(t) } }
        let selected = program.rules.filter { rule == nil || $0.name == rule }
        let windows = program.windows.filter { rule == nil || $0.name == rule }
        let flows = program.flows.filter { rule == nil || $0.name == rule }
        if let rule, selected.isEmpty && windows.isEmpty && flows.isEmpty {
            stderr.write("error: `\(rule)` is not declared as a rule, aggregate or flow\n")
            throw ExitCode(2)
        }
        if rule != nil, format == .dot, selected.isEmpty {
            stderr.write("error: `\(rule!)` is a window, session, aggregate or flow: it has no NFA to draw; use --format text\n")
            throw ExitCode(2)
        }
        var out: [String] = []
        for r in selected {
            out.append(format == .dot ? NFADump.dot(r, streams: program.streams)
                                      : NFADump.text(r, streams: program.streams, templateSource: templates[r.name]))
        }
        if format == .text {
            for w in windows { out.append(WindowDump.text(w, streams: program.streams, templateSource: templates[w.name])) }
            for f in flows { out.append(FlowDump.text(f, program: program)) }
        }
        FileHandleOutput.standardOutput.write(out.joined(separator: "\n"))
    }
}
