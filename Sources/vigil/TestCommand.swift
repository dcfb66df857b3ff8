import ArgumentParser
import Foundation
import VigilTesting

/// `vigil test`: runs rule tests (`*.tests.yaml`) against recorded or inline events.
struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run rule tests (*.tests.yaml): recorded events in, expected alerts and rows out.",
        discussion: """
            Each test file names the rule files it tests (by default the .vigil file with the \
            same stem beside it) and a list of cases: input events per stream (a recorded \
            file, or events written inline) and the alerts and rows that must come out. \
            Cases run in event time only and are flushed at the end of their input, like \
            `vigil run` on the same files. For an expected alert that did not fire, the \
            report shows per key how far each partial match got and what stopped it. \
            See docs/testing.md.

            Exit codes: 0 every case passed, 1 a case failed, 2 a test file or its rules \
            could not be read.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, junit
    }

    @Argument(help: "Test files, or folders searched for *.tests.yaml (default: rules).")
    var paths: [String] = []

    @Option(help: "Only cases whose name contains this text.")
    var filter: String?

    @Flag(help: "Record what the rules produce as the expected output of the selected cases.")
    var update = false

    @Option(help: "Output format: text, or junit (JUnit XML on stdout).")
    var format: Format = .text

    mutating func run() throws {
        let stderr = FileHandleOutput.standardError
        let stdout = FileHandleOutput.standardOutput
        var files: [String] = []
        for path in paths.isEmpty ? ["rules"] : paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                stderr.write("error: cannot read `\(path)`: no such file or directory\n")
                throw ExitCode(2)
            }
            if isDirectory.boolValue {
                let found = (FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? [])
                    .filter { $0.hasSuffix(".tests.yaml") }.sorted()
                files += found.map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        guard !files.isEmpty else {
            stderr.write("error: no *.tests.yaml in \(paths.isEmpty ? "rules" : paths.joined(separator: ", "))\n")
            throw ExitCode(2)
        }
        var all: [(path: String, results: [CaseResult])] = []
        var errors: [TestFileError] = []
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                errors.append(TestFileError(path: path, line: 1, column: 1, message: "cannot read the test file"))
                continue
            }
            do {
                let file = try TestFile.parse(path: path, text: String(decoding: data, as: UTF8.self))
                let results = try TestRunner().run(file, filter: filter)
                if update {
                    let text = Recorder.update(file, with: results)
                    if text != file.text { try text.write(toFile: path, atomically: true, encoding: .utf8) }
                    stderr.write("\(path): recorded \(results.count) case\(results.count == 1 ? "" : "s"); review the diff\n")
                    continue
                }
                all.append((path, results))
            } catch let e as TestFileError {
                errors.append(e)
            }
        }
        if format == .junit {
            stdout.write(Report.junit(all, errors: errors))
        } else {
            for e in errors { stderr.write(e.rendered) }
            for (path, results) in all { stdout.write(Report.text(path, results)) }
            if !update {
                let results = all.flatMap(\.results)
                stdout.write("\n" + Report.summary(results) + (errors.isEmpty ? "" : ", \(errors.count) test file\(errors.count == 1 ? "" : "s") with errors") + "\n")
            }
        }
        if !errors.isEmpty { throw ExitCode(2) }
        if all.contains(where: { $0.results.contains { !$0.passed } }) { throw ExitCode(1) }
    }
}
