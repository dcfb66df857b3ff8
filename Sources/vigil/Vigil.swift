import ArgumentParser

/// The `vigil` command: a complex event processing rules engine.
struct Vigil: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Vigil: a complex event processing rules engine.",
        discussion: """
            Write rules in the Vigil language (*.vigil files), check them, test them against \
            recorded events (*.tests.yaml, docs/testing.md), and run them over event streams. \
            See docs/language.md for the language.

            Exit codes: 0 success, 1 the rules have errors (or a test failed), 2 bad flags or \
            unreadable paths, 3 alerts remain spooled for a webhook after `run`'s drain timeout.
            """,
        subcommands: [Check.self, Run.self, Test.self, Explain.self]
    )
}

/// How diagnostics are colored.
enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}
