import VigilText

/// The result of checking a rule set: the parsed files and every diagnostic.
public struct CheckResult: Sendable {
    public var sources: SourceMap
    public var units: [SourceUnit]
    /// Sorted by file (in the order given), then position.
    public var diagnostics: [Diagnostic]
    /// Errors past `DiagnosticBag.errorLimit` that were counted but not kept, per file.
    public var suppressedErrors: Int
    /// The typed rule set; present only when there are no errors.
    public var ruleSet: CheckedRuleSet?

    public var errorCount: Int { diagnostics.filter { $0.severity == .error }.count + suppressedErrors }
    public var warningCount: Int { diagnostics.filter { $0.severity == .warning }.count }
    public var hasErrors: Bool { errorCount > 0 }
}

/// Entry point of the language front end: text in, checked rule set and diagnostics out.
public enum Frontend {
    /// Parses and checks `files` as one rule set (declarations in one file are visible
    /// in the others).
    ///
    /// - Complexity: O(n) in the total size of the files, plus PCRE2 compile time.
    public static func check(_ files: [SourceFile]) -> CheckResult {
        var sources = SourceMap()
        var units: [SourceUnit] = []
        var bags: [DiagnosticBag] = []
        for f in files {
            let index = sources.add(f)
            var bag = DiagnosticBag()
            if let bad = VigilText.firstInvalidUTF8(f.bytes) {
                bag.report(Diagnostic(
                    .invalidUTF8, "file is not valid UTF-8", at: Span(file: index, start: bad, end: bad + 1),
                    label: "invalid byte 0x\(String(f.bytes[bad], radix: 16, uppercase: true))",
                    notes: ["rule files must be UTF-8 text"]))
                bags.append(bag)
                continue
            }
            var parser = Parser(source: f, file: index)
            let unit = parser.parseFile()
            bag.append(contentsOf: parser.takeDiagnostics())
            if unit.declarations.isEmpty && !bag.hasErrors {
                bag.report(Diagnostic(
                    .emptyFile, "the file declares nothing", at: Span(file: index, start: 0, end: 0),
                    help: "a rule file holds `stream`, `reference`, `rule`, `flow` or `aggregate` declarations"))
            }
            units.append(unit)
            bags.append(bag)
        }
        var checker = Checker(sources: sources)
        checker.skipUnusedWarnings = bags.contains { $0.hasErrors }
        checker.check(units)
        var all: [Diagnostic] = []
        var suppressed = 0
        for b in bags {
            all += b.diagnostics
            suppressed += b.suppressedErrors
        }
        all += checker.diagnostics.diagnostics
        suppressed += checker.diagnostics.suppressedErrors
        all.sort { a, b in
            (a.span.file, a.span.start, a.severity == .error ? 0 : 1) < (b.span.file, b.span.start, b.severity == .error ? 0 : 1)
        }
        let hasErrors = suppressed > 0 || all.contains { $0.severity == .error }
        return CheckResult(sources: sources, units: units, diagnostics: all, suppressedErrors: suppressed,
                           ruleSet: hasErrors ? nil : checker.ruleSet)
    }
}
