import Foundation
import Testing
import VigilLake
import VigilRuntime

/// Reference tables for `enrich`, from CSV, JSON Lines and Delta tables.
@Suite struct ReferenceLoaderTests {
    static let spec = ReferenceSpec(name: "cards", path: "", schema: StreamSchema(
        name: "cards", fields: [.init(name: "card", type: .string), .init(name: "limit", type: .double), .init(name: "since", type: .timestamp)],
        keySlots: [0], timeSlot: -1, latenessMs: 0, idleTimeoutMs: nil))

    static func dir() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-ref-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    func load(_ path: String, base: String) throws(ReferenceLoader.Failure) -> ReferenceTable {
        var s = Self.spec
        s.path = path
        return try ReferenceLoader.load(s, base: base)
    }

    @Test func csvJsonLinesAndDeltaGiveTheSameRows() throws {
        let d = try Self.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        try "card,limit,since,extra\nc1,100,2023-11-14T22:13:20Z,x\nc2,,1700000000000,y\n".write(toFile: d + "/cards.csv", atomically: true, encoding: .utf8)
        try "{\"card\":\"c1\",\"limit\":100,\"since\":\"2023-11-14T22:13:20Z\"}\n{\"card\":\"c2\",\"since\":1700000000000}\n"
            .write(toFile: d + "/cards.jsonl", atomically: true, encoding: .utf8)
        let table = DeltaTable(path: d + "/cards_delta", columns: [
            ParquetColumn(name: "since", kind: .timestamp), ParquetColumn(name: "card", kind: .string), ParquetColumn(name: "limit", kind: .int64),
        ])
        _ = try table.append([[.timestamp(1_700_000_000_000), .string("c1"), .int(100)], [.timestamp(1_700_000_000_000), .string("c2"), .null]],
                             appId: "t", batch: 1)
        for name in ["cards.csv", "cards.jsonl", "cards_delta"] {
            let t = try load(name, base: d)
            #expect(t.count == 2, "\(name)")
            #expect(t.lookup(.string("c1"))[1] == .double(100), "\(name)")
            #expect(t.lookup(.string("c2"))[1] == .null, "\(name)")
            #expect(t.lookup(.string("c2"))[2] == .timestamp(1_700_000_000_000), "\(name)")
            #expect(t.lookup(.string("nope")) == [.null, .null, .null], "\(name)")
        }
    }

    @Test func badReferenceFilesAreClearErrors() throws {
        let d = try Self.dir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        try "card,limit\nc1,100\nc2,lots\n".write(toFile: d + "/bad.csv", atomically: true, encoding: .utf8)
        try "card,limit\nc1,1\nc1,2\n".write(toFile: d + "/dup.csv", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: d + "/plain", withIntermediateDirectories: true)
        let cases: [(String, String)] = [
            ("bad.csv", "reference table `cards` (bad.csv): line 3: field `limit` must be a double, found \"lots\""),
            ("dup.csv", "reference table `cards` (dup.csv): key \"c1\" appears twice (lines 2 and 3)"),
            ("missing.csv", "reference table `cards` (missing.csv): no such file or directory (relative paths are read from \(d))"),
            ("plain", "reference table `cards` (plain): a directory without _delta_log is not a Delta table"),
        ]
        for (path, message) in cases {
            #expect(throws: ReferenceLoader.Failure.self) { try load(path, base: d) }
            do { _ = try load(path, base: d) } catch { #expect(error.description == message) }
        }
    }
}
