import Foundation
import Testing
@testable import VigilLanguage

/// Each `Diagnostics/*.vigil` case is checked and its full rendered output compared
/// with the `.stderr` golden beside it. Re-record with `VIGIL_BLESS=1 swift test`
/// and review the diff.
@Suite struct DiagnosticGoldenTests {
    static let dir = Support.root.appendingPathComponent("Tests/VigilLanguageTests/Diagnostics")

    static var cases: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".vigil") }.map { String($0.dropLast(6)) }.sorted()
    }

    static func output(_ name: String) throws -> (String, CheckResult) {
        let data = try Data(contentsOf: dir.appendingPathComponent(name + ".vigil"))
        let result = Frontend.check([SourceFile(path: "cases/\(name).vigil", bytes: [UInt8](data))])
        return (Support.render(result), result)
    }

    @Test("golden diagnostics", arguments: cases)
    func golden(_ name: String) throws {
        let (actual, result) = try Self.output(name)
        #expect(!result.diagnostics.isEmpty, "case \(name) reports nothing")
        let goldenURL = Self.dir.appendingPathComponent(name + ".stderr")
        if Support.bless {
            try actual.write(to: goldenURL, atomically: true, encoding: .utf8)
            return
        }
        let expected = (try? String(contentsOf: goldenURL, encoding: .utf8)) ?? "<missing golden: run VIGIL_BLESS=1 swift test>"
        #expect(actual == expected, "golden mismatch for \(name); re-record with VIGIL_BLESS=1 and review the diff")
    }

    @Test func thereAreAtLeastFortyDistinctErrorCases() throws {
        var errorCases = 0
        for name in Self.cases {
            let (_, result) = try Self.output(name)
            if result.hasErrors { errorCases += 1 }
        }
        #expect(errorCases >= 40)
    }

    @Test func everyCodeHasAGoldenCaseAndADocEntry() throws {
        var seen = Set<DiagnosticCode>()
        for name in Self.cases {
            let (_, result) = try Self.output(name)
            seen.formUnion(result.diagnostics.map(\.code))
        }
        let docs = try String(contentsOf: Support.root.appendingPathComponent("docs/diagnostics.md"), encoding: .utf8)
        for code in DiagnosticCode.allCases {
            #expect(seen.contains(code), "no golden case reports \(code.rawValue) (\(code))")
            #expect(docs.contains("## \(code.rawValue)"), "docs/diagnostics.md has no section for \(code.rawValue)")
        }
    }
}
