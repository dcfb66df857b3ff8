import Foundation
@testable import VigilLanguage

/// Helpers shared by the front-end tests.
enum Support {
    /// The repository root, found from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Checks `text` as one file named `path`.
    static func check(_ text: String, path: String = "test.vigil") -> CheckResult {
        Frontend.check([SourceFile(path: path, text: text)])
    }

    /// Renders every diagnostic of a result as plain text, as `vigil check` prints it.
    static func render(_ result: CheckResult) -> String {
        let r = DiagnosticRenderer(sources: result.sources, color: false)
        return result.diagnostics.map(r.render).joined()
    }

    /// The codes reported, in order.
    static func codes(_ result: CheckResult) -> [String] {
        result.diagnostics.map(\.code.rawValue)
    }

    /// Whether goldens should be re-recorded (`VIGIL_BLESS=1 swift test`).
    static var bless: Bool { ProcessInfo.processInfo.environment["VIGIL_BLESS"] == "1" }

    /// The example rules shipped in `rules/`.
    static func exampleRules() throws -> [SourceFile] {
        let dir = root.appendingPathComponent("rules")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".vigil") }.sorted()
        return try names.map { name in
            let data = try Data(contentsOf: dir.appendingPathComponent(name))
            return SourceFile(path: "rules/" + name, bytes: [UInt8](data))
        }
    }
}
