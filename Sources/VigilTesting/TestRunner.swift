import Foundation
import VigilCompiler
import VigilConnectors
import VigilLake
import VigilLanguage
import VigilRuntime

/// What running one case gave.
public struct CaseResult: Sendable {
    public var file: String
    public var testCase: TestCase
    /// Empty when the case passes.
    public var failures: [Failure]
    /// The case could not run (an input that does not decode, an unknown rule or stream).
    public var error: TestFileError?
    public var alerts: [Alert]
    public var rows: [Row]
    /// Display names of the inputs, by input index (for event positions).
    public var inputNames: [String]

    public var passed: Bool { failures.isEmpty && error == nil }
}

public enum Failure: Sendable {
    case missingAlert(ExpectedAlert, why: [KeyExplanation])
    case unexpectedAlert(Alert)
    case differingAlert(ExpectedAlert, Alert, [FieldDiff])
    case missingRow(ExpectedRow, why: [KeyExplanation])
    case unexpectedRow(Row)
    case differingRow(ExpectedRow, Row, [FieldDiff])
}

public struct FieldDiff: Sendable {
    public var field: String
    public var expected: String
    public var actual: String
}

/// Runs test files: rules compiled once per file, each case on its own detector over
/// its inputs, in event time only (a virtual clock), flushed at the end of its input —
/// exactly what `vigil run` does with the same files.
public struct TestRunner {
    public init() {}

    /// Runs every case of `file` whose name contains `filter` (all when nil).
    public func run(_ file: TestFile, filter: String? = nil) throws(TestFileError) -> [CaseResult] {
        let program = try compile(file)
        var references: [ReferenceTable] = []
        for spec in program.references {
            do { references.append(try ReferenceLoader.load(spec)) } catch {
                throw TestFileError(path: file.path, line: 1, column: 1, message: "cannot load the rules' reference tables: \(error.description)")
            }
        }
        return file.cases.filter { c in filter.map { c.name.contains($0) } ?? true }.map { run($0, of: file, program: program, references: references) }
    }

    public func compile(_ file: TestFile) throws(TestFileError) -> Program {
        var sources: [SourceFile] = []
        for path in file.rules {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TestFileError(path: file.path, line: 1, column: 1, message: "cannot read the rule file `\(path)`",
                                    help: "name the rule files under test with `rules:` (paths relative to the test file)")
            }
            sources.append(SourceFile(path: path, bytes: [UInt8](data)))
        }
        let result = Frontend.check(sources)
        guard let rs = result.ruleSet else {
            let r = DiagnosticRenderer(sources: result.sources)
            throw TestFileError(path: file.path, line: 1, column: 1,
                                message: "the rules under test have errors:\n" + result.diagnostics.filter { $0.severity == .error }.map(r.render).joined())
        }
        return Compiler.compile(rs).program
    }

    func run(_ c: TestCase, of file: TestFile, program: Program, references: [ReferenceTable] = []) -> CaseResult {
        var result = CaseResult(file: file.path, testCase: c, failures: [], error: nil, alerts: [], rows: [], inputNames: [])
        let names = Set(program.rules.map(\.name) + program.windows.map(\.name) + program.flows.map(\.name))
        for r in c.rules ?? [] where !names.contains(r) {
            result.error = TestFileError(path: file.path, line: c.line, column: 1, message: "case `\(c.name)` tests `\(r)`, which the rules do not declare",
                                         help: "declared: \(names.sorted().joined(separator: ", "))")
            return result
        }
        if c.expectLine == nil {
            result.error = TestFileError(path: file.path, line: c.line, column: 1, message: "case `\(c.name)` has no `expect`",
                                         help: "say what must come out (`expect: {alerts: []}` for nothing), or record it with `vigil test --update`")
        }
        let tested = Set(c.rules ?? Array(names))
        let events: [Event]
        do { events = try self.events(c, file: file, program: program, names: &result.inputNames) } catch {
            result.error = error
            return result
        }
        var detector = Detector(program: program, references: references)
        var outputs: [DetectorOutput] = []
        let fed = Set(c.inputs.compactMap { program.streamIndex($0.stream) })
        for s in program.streams.indices where !fed.contains(s) { outputs += detector.markIdle(stream: s) }
        for e in events { outputs += detector.accept(e) }
        outputs += detector.finish()
        for o in outputs {
            switch o {
            case .alert(let a) where tested.contains(a.rule): result.alerts.append(a)
            case .row(let r) where tested.contains(r.rule): result.rows.append(r)
            case .stopped(let failure):
                let e = failure.event
                let input = e.origin.input >= 0 && Int(e.origin.input) < result.inputNames.count ? result.inputNames[Int(e.origin.input)] : "input"
                result.error = TestFileError(path: file.path, line: c.line, column: 1,
                                             message: "case `\(c.name)`: the run stopped at \(input):\(e.origin.line): \(failure.description)")
                return result
            default: break
            }
        }
        result.failures = Comparison.compare(c, alerts: result.alerts, rows: result.rows)
        // Why each missing alert did not fire, from a replay that watches its key.
        for i in result.failures.indices {
            switch result.failures[i] {
            case .missingAlert(let expected, _):
                result.failures[i] = .missingAlert(expected, why: Explainer.explain(expected, program: program, events: events, fed: fed))
            case .missingRow(let expected, _):
                result.failures[i] = .missingRow(expected, why: Explainer.explain(expected, program: program, events: events, fed: fed, tested: tested))
            default: break
            }
        }
        return result
    }

    /// The case's events, input by input (each input's index is its position).
    func events(_ c: TestCase, file: TestFile, program: Program, names: inout [String]) throws(TestFileError) -> [Event] {
        var out: [Event] = []
        for (k, input) in c.inputs.enumerated() {
            guard let stream = program.streamIndex(input.stream) else {
                throw TestFileError(path: file.path, line: input.line, column: 1, message: "unknown stream `\(input.stream)`",
                                    help: "the rules declare \(program.streams.map { "`\($0.name)`" }.joined(separator: ", "))")
            }
            switch input.source {
            case .file(let path):
                names.append(Self.display(path))
                let source = EventSource(stream: stream, path: path, format: .guess(path), inputIndex: Int32(k))
                var problem: TestFileError?
                do {
                    try source.read(schemas: program.streams) { item, _ in
                        switch item {
                        case .event(let e): out.append(e)
                        case .deadLetter(let d):
                            if problem == nil {
                                problem = TestFileError(path: file.path, line: input.line, column: 1,
                                                        message: "line \(d.line) of \(Self.display(path)) does not decode: \(d.reason)")
                            }
                        }
                    }
                } catch {
                    throw TestFileError(path: file.path, line: input.line, column: 1, message: "cannot read \(Self.display(path)): \(error)")
                }
                if let problem { throw problem }
            case .inline(let list):
                names.append((file.path as NSString).lastPathComponent)
                let decoder = JSONLineDecoder(schema: program.streams[stream], stream: Int32(stream))
                for (json, line) in list {
                    var bytes = Array(json.utf8)
                    let decoded = bytes.withUnsafeMutableBufferPointer {
                        decoder.decode(UnsafeBufferPointer($0), origin: EventOrigin(input: Int32(k), line: Int64(line)))
                    }
                    switch decoded {
                    case .success(let e): out.append(e)
                    case .failure(let f):
                        throw TestFileError(path: file.path, line: line, column: 1, message: "this `\(input.stream)` event does not decode: \(f.reason)")
                    }
                }
            }
        }
        return out
    }

    /// A path relative to the working directory when it lies under it.
    static func display(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath + "/"
        let standard = (path as NSString).standardizingPath
        let absolute = standard.hasPrefix("/") ? standard : cwd + standard
        return absolute.hasPrefix(cwd) ? String(absolute.dropFirst(cwd.count)) : standard
    }
}
