import Foundation
import Testing
import VigilLake
import VigilRuntime

/// Delta tables Vigil writes, read by the `deltalake` reader (delta-rs) and pyarrow:
/// rows, schema, versions, the txn action that makes a replayed batch a no-op, per-file
/// statistics, and a crash between the data file and the commit.
@Suite(.serialized) struct DeltaTableTests {
    static func tempTable() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-delta-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("gold/revenue")
    }

    static let columns = [ParquetColumn(name: "country", kind: .string, nullable: false),
                          ParquetColumn(name: "window_start", kind: .timestamp, nullable: false),
                          ParquetColumn(name: "payments", kind: .int64),
                          ParquetColumn(name: "revenue", kind: .double),
                          ParquetColumn(name: "flagged", kind: .bool)]

    static func batch(_ b: Int) -> [[Value]] {
        (0..<4).map { i in
            [.string(["US", "GB", "DE", "FR"][i]), .timestamp(1_700_000_000_000 + Int64(b) * 300_000),
             i == 3 ? .null : .int(Int64(b * 10 + i)), .double(Double(b) + Double(i) / 4), .bool(i % 2 == 0)]
        }
    }

    static let reader = """
        import sys, json
        import pyarrow as pa
        from deltalake import DeltaTable
        dt = DeltaTable(sys.argv[1])
        t = dt.to_pyarrow_table().sort_by([("window_start", "ascending"), ("country", "ascending")])
        adds = pa.table(dt.get_add_actions(flatten=True)).to_pydict()
        print(json.dumps({
            "version": dt.version(),
            "txn": dt.transaction_version(sys.argv[2]),
            "schema": [f.name + ":" + str(f.type) for f in t.schema],
            "rows": t.num_rows,
            "payments": t.column("payments").to_pylist(),
            "countries": t.column("country").to_pylist(),
            "files": len(dt.file_uris()),
            "num_records": [int(x) for x in adds.get("num_records", [])],
            "min_payments": [None if x is None else int(x) for x in adds.get("min.payments", [])],
            "null_payments": [int(x) for x in adds.get("null_count.payments", [])],
        }))
        sys.stdout.flush()
        import os
        os._exit(0)  # delta-rs can abort in interpreter teardown; the output is complete
        """

    func read(_ table: URL, appId: String) throws -> [String: Any] {
        let out = try ParquetTests.python(Self.reader, [table.path, appId])
        return (try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]) ?? ["raw": out]
    }

    @Test func appendsAreReadByDeltaRsWithTheirStatistics() throws {
        let url = try Self.tempTable()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent().deletingLastPathComponent()) }
        let table = DeltaTable(path: url.path, columns: Self.columns)
        #expect(try table.append(Self.batch(0), appId: "vigil-test", batch: 1) == .committed(version: 0))
        #expect(try table.append(Self.batch(1), appId: "vigil-test", batch: 2) == .committed(version: 1))
        let r = try read(url, appId: "vigil-test")
        #expect(r["version"] as? Int == 1 && r["txn"] as? Int == 2)
        #expect(r["schema"] as? [String] == ["country:string", "window_start:timestamp[us, tz=UTC]", "payments:int64",
                                              "revenue:double", "flagged:bool"])
        #expect(r["rows"] as? Int == 8 && r["files"] as? Int == 2)
        #expect(r["countries"] as? [String] == ["DE", "FR", "GB", "US", "DE", "FR", "GB", "US"])
        #expect((r["payments"] as? [Any])?.map { "\($0)" } == ["2", "<null>", "1", "0", "12", "<null>", "11", "10"])
        #expect(r["num_records"] as? [Int] == [4, 4])
        #expect((r["min_payments"] as? [Int])?.sorted() == [0, 10] && r["null_payments"] as? [Int] == [1, 1], "\(r)")
        // Every commit file was created once, with protocol and metaData first.
        let first = try String(contentsOfFile: url.appendingPathComponent("_delta_log/00000000000000000000.json").path, encoding: .utf8)
        #expect(first.hasPrefix("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n{\"metaData\":"))
    }

    /// The log's actions, locked as a golden with ids, file names and sizes normalized
    /// (timestamps are passed in). Re-record with VIGIL_BLESS=1 and review.
    @Test func logActionsGolden() throws {
        let url = try Self.tempTable()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent().deletingLastPathComponent()) }
        let table = DeltaTable(path: url.path, columns: Self.columns)
        _ = try table.append(Self.batch(0), appId: "golden", batch: 1, now: 1_700_000_000_000)
        _ = try table.merge(Self.batch(1), on: ["country"], appId: "golden", batch: 2, now: 1_700_000_060_000)
        var text = ""
        for v in 0...1 {
            let name = String(repeating: "0", count: 19) + "\(v).json"
            text += "# \(name)\n" + (try String(contentsOf: url.appendingPathComponent("_delta_log/\(name)"), encoding: .utf8))
        }
        let normalized = text
            .replacingOccurrences(of: #"part-[0-9a-f-]{36}-c000"#, with: "part-<uuid>-c000", options: .regularExpression)
            .replacingOccurrences(of: #""id":"[0-9a-f-]{36}""#, with: "\"id\":\"<uuid>\"", options: .regularExpression)
            .replacingOccurrences(of: #""size":[0-9]+"#, with: "\"size\":<n>", options: .regularExpression)
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("delta-log.golden")
        if ProcessInfo.processInfo.environment["VIGIL_BLESS"] == "1" {
            try normalized.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = (try? String(contentsOf: golden, encoding: .utf8)) ?? "<missing golden: run VIGIL_BLESS=1>"
        #expect(normalized == expected, "the _delta_log actions changed; re-record with VIGIL_BLESS=1 and review")
    }

    @Test func aReplayedBatchIsSkippedAndANewRunIsNot() throws {
        let url = try Self.tempTable()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent().deletingLastPathComponent()) }
        let table = DeltaTable(path: url.path, columns: Self.columns)
        #expect(try table.append(Self.batch(0), appId: "det-a", batch: 1) == .committed(version: 0))
        #expect(try table.append(Self.batch(0), appId: "det-a", batch: 1) == .skipped)
        // Another detector (app id) writing its own batch 1 is not skipped.
        #expect(try table.append(Self.batch(1), appId: "det-b", batch: 1) == .committed(version: 1))
        let r = try read(url, appId: "det-a")
        #expect(r["rows"] as? Int == 8 && r["txn"] as? Int == 1)
    }

    @Test func aCrashBeforeTheCommitLeavesThePreviousVersion() throws {
        let url = try Self.tempTable()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent().deletingLastPathComponent()) }
        let table = DeltaTable(path: url.path, columns: Self.columns)
        #expect(try table.append(Self.batch(0), appId: "a", batch: 1) == .committed(version: 0))
        // A writer that died after writing its data file: the file is there, no commit.
        let (bytes, _) = try ParquetWriter(columns: Self.columns).write(Self.batch(1))
        try Data(bytes).write(to: url.appendingPathComponent("part-orphan-c000.zstd.parquet"))
        var r = try read(url, appId: "a")
        #expect(r["version"] as? Int == 0 && r["rows"] as? Int == 4 && r["files"] as? Int == 1)
        // The replay of that batch commits it once.
        #expect(try table.append(Self.batch(1), appId: "a", batch: 2) == .committed(version: 1))
        #expect(try table.append(Self.batch(1), appId: "a", batch: 2) == .skipped)
        r = try read(url, appId: "a")
        #expect(r["rows"] as? Int == 8 && r["txn"] as? Int == 2)
    }

    @Test func aTakenVersionIsRetriedAtTheNext() throws {
        let url = try Self.tempTable()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent().deletingLastPathComponent()) }
        let a = DeltaTable(path: url.path, columns: Self.columns)
        #expect(try a.append(Self.batch(0), appId: "a", batch: 1) == .committed(version: 0))
        // Two writers race for version 1 from many threads: each commit lands once, in
        // its own version, and none overwrites another.
        let results = Locked<[DeltaTable.Outcome]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let outcome = try? a.append(Self.batch(i + 1), appId: "w\(i)", batch: 1)
            results.update { $0.append(outcome ?? .skipped) }
        }
        let versions = results.value.compactMap { if case .committed(let v) = $0 { v } else { nil } }.sorted()
        #expect(versions == Array(1...8))
        let r = try read(url, appId: "w3")
        #expect(r["version"] as? Int == 8 && r["rows"] as? Int == 36 && r["txn"] as? Int == 1)
    }
}

/// Merge on keys, copy-on-write pruned by file statistics, checked row by row with
/// delta-rs.
@Suite(.serialized) struct DeltaMergeTests {
    static let columns = [ParquetColumn(name: "id", kind: .int64, nullable: false), ParquetColumn(name: "name", kind: .string),
                          ParquetColumn(name: "score", kind: .double)]

    static let reader = """
        import sys, json
        from deltalake import DeltaTable
        dt = DeltaTable(sys.argv[1])
        t = dt.to_pyarrow_table().sort_by("id")
        print(json.dumps({"version": dt.version(), "ids": t.column("id").to_pylist(), "names": t.column("name").to_pylist(),
                          "files": len(dt.file_uris())}))
        sys.stdout.flush()
        import os
        os._exit(0)  # delta-rs can abort in interpreter teardown; the output is complete
        """

    @Test func upsertsRewriteOnlyTheFilesWhoseKeysOverlap() throws {
        let url = try DeltaTableTests.tempTable()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent().deletingLastPathComponent()) }
        let table = DeltaTable(path: url.path, columns: Self.columns)
        // Ten files of 100 ids each: 0-99, 100-199, ...
        for f in 0..<10 {
            let rows: [[Value]] = (0..<100).map { i in [.int(Int64(f * 100 + i)), .string("v0-\(f * 100 + i)"), .double(Double(i))] }
            _ = try table.append(rows, appId: "load", batch: Int64(f + 1))
        }
        // Update ids 150-159 and 420, insert 1000-1004, delete 777.
        var batch: [[Value]] = (150..<160).map { [.int(Int64($0)), .string("v1-\($0)"), .double(1)] }
        batch.append([.int(420), .string("v1-420"), .null])
        batch += (1000..<1005).map { [.int(Int64($0)), .string("v1-\($0)"), .double(2)] }
        let r = try table.merge(batch, deletes: [[.int(777)]], on: ["id"], appId: "det", batch: 1)
        #expect(r.outcome == .committed(version: 10))
        // The batch spans ids 150-1004, so the statistics rule out only file 0-99.
        #expect(r.filesTotal == 10 && r.filesRead == 9 && r.filesRewritten == 3)
        #expect(try table.merge(batch, on: ["id"], appId: "det", batch: 1).outcome == .skipped)
        let out = try ParquetTests.python(Self.reader, [url.path])
        let t = (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]) ?? [:]
        var expected: [Int: String] = [:]
        for i in 0..<1000 { expected[i] = "v0-\(i)" }
        for row in batch { if case .int(let id) = row[0], case .string(let n) = row[1] { expected[Int(id)] = n } }
        expected[777] = nil
        let ids = (t["ids"] as? [Int]) ?? []
        let names = (t["names"] as? [String]) ?? []
        #expect(ids == expected.keys.sorted())
        #expect(names == expected.keys.sorted().map { expected[$0]! })
        // 10 files, 3 rewritten into one file of survivors, plus the batch's file.
        #expect(t["files"] as? Int == 9)
    }

    @Test func aMergeIntoATableWithoutFilesInserts() throws {
        let url = try DeltaTableTests.tempTable()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent().deletingLastPathComponent()) }
        let table = DeltaTable(path: url.path, columns: Self.columns)
        let r = try table.merge([[.int(1), .string("a"), .double(1)]], on: ["id"], appId: "d", batch: 1)
        #expect(r.outcome == .committed(version: 0) && r.filesRead == 0 && r.filesRewritten == 0 && r.filesTotal == 0)
        #expect(throws: DeltaTable.Failure.self) { try table.merge([], on: ["nope"], appId: "d", batch: 2) }
    }
}

final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var v: T
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func update(_ f: (inout T) -> Void) { lock.lock(); f(&v); lock.unlock() }
}

/// SCD2 tables: history per key, read back row by row with delta-rs.
@Suite struct SCD2Tests {
    static let columns = [
        ParquetColumn(name: "id", kind: .int64, nullable: false),
        ParquetColumn(name: "plan", kind: .string),
        ParquetColumn(name: "valid_from", kind: .timestamp, nullable: false),
        ParquetColumn(name: "valid_to", kind: .timestamp),
        ParquetColumn(name: "is_current", kind: .bool, nullable: false),
    ]

    static let reader = """
        import sys, json
        from deltalake import DeltaTable
        dt = DeltaTable(sys.argv[1])
        t = dt.to_pyarrow_table().sort_by([("id", "ascending"), ("valid_from", "ascending")])
        ms = lambda v: None if v is None else int(v.timestamp() * 1000)
        print(json.dumps({"version": dt.version(), "files": len(dt.file_uris()),
                          "rows": [[r["id"], r["plan"], ms(r["valid_from"]), ms(r["valid_to"]), r["is_current"]] for r in t.to_pylist()]}))
        sys.stdout.flush()
        import os
        os._exit(0)  # delta-rs can abort in interpreter teardown; the output is complete
        """

    @Test func changesCloseTheCurrentRowAndRepeatsChangeNothing() throws {
        let url = try DeltaTableTests.tempTable()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent().deletingLastPathComponent()) }
        let table = DeltaTable(path: url.path, columns: Self.columns)
        let change = { (id: Int64, plan: String, at: Int64) in DeltaTable.Change(values: [.int(id), .string(plan)], at: at) }
        // Batch 1: three keys; key 2 changes twice within the batch.
        var r = try table.scd2([change(1, "free", 100), change(2, "free", 100), change(2, "pro", 150), change(3, "pro", 120)],
                               on: ["id"], appId: "d", batch: 1)
        #expect(r.outcome == .committed(version: 0) && r.filesRead == 0)
        // Batch 2: key 1 repeats its plan (nothing), key 3 changes, key 2 is deleted, key 4 is new.
        r = try table.scd2([change(1, "free", 200), change(3, "team", 210), DeltaTable.Change(values: [.int(2), .null], delete: true, at: 220),
                            change(4, "free", 230)], on: ["id"], appId: "d", batch: 2)
        #expect(r.outcome == .committed(version: 1) && r.filesRead == 1 && r.filesRewritten == 1)
        #expect(try table.scd2([change(1, "x", 300)], on: ["id"], appId: "d", batch: 2).outcome == .skipped)
        // Batch 3 touches only key 100: the statistics of both files (ids 1-4) rule them out.
        r = try table.scd2([change(100, "free", 400)], on: ["id"], appId: "d", batch: 3)
        #expect(r.filesRead == 0 && r.filesRewritten == 0 && r.filesTotal == 2)
        let out = try ParquetTests.python(Self.reader, [url.path])
        let t = (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]) ?? [:]
        let rows = (t["rows"] as? [[Any]] ?? []).map { $0.map { "\($0)" }.joined(separator: " ") }
        #expect(rows == [
            "1 free 100 <null> 1",
            "2 free 100 150 0",
            "2 pro 150 220 0",
            "3 pro 120 210 0",
            "3 team 210 <null> 1",
            "4 free 230 <null> 1",
            "100 free 400 <null> 1",
        ], "\(t)")
        #expect(t["version"] as? Int == 2)
    }
}

/// The issue's scale: 100,000 upserts into a 1,000,000-row table of eight files. Only
/// the files whose `id` statistics overlap the batch are read and rewritten.
@Suite struct LargeMergeTests {
    @Test func aHundredThousandUpsertsRewriteOnlyTheOverlappingFiles() throws {
        let url = try DeltaTableTests.tempTable()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent().deletingLastPathComponent()) }
        let columns = [ParquetColumn(name: "id", kind: .int64, nullable: false), ParquetColumn(name: "v", kind: .string),
                       ParquetColumn(name: "n", kind: .int64)]
        let table = DeltaTable(path: url.path, columns: columns)
        for f in 0..<8 {
            let rows: [[Value]] = (f * 125_000..<(f + 1) * 125_000).map { [.int(Int64($0)), .string("v0"), .int(Int64($0 % 97))] }
            _ = try table.append(rows, appId: "load", batch: Int64(f + 1))
        }
        // Ids 450,000-549,999 fall in files 3 (375,000-499,999) and 4 (500,000-624,999).
        let upserts: [[Value]] = (450_000..<550_000).map { [.int(Int64($0)), .string("v1"), .int(-1)] }
        let r = try table.merge(upserts, on: ["id"], appId: "det", batch: 1)
        #expect(r.filesTotal == 8 && r.filesRead == 2 && r.filesRewritten == 2)
        let out = try ParquetTests.python("""
            import sys, json
            import polars as pl
            t = pl.read_delta(sys.argv[1])
            v1 = t.filter(pl.col("v") == "v1")
            print(json.dumps({"rows": t.height, "ids": t["id"].n_unique(), "v1": v1.height,
                              "v1_range": [v1["id"].min(), v1["id"].max()], "v1_n": v1["n"].unique().to_list()}))
            sys.stdout.flush()
            import os
            os._exit(0)
            """, [url.path])
        let t = (try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]) ?? [:]
        #expect(t["rows"] as? Int == 1_000_000 && t["ids"] as? Int == 1_000_000, "\(t)")
        #expect(t["v1"] as? Int == 100_000 && t["v1_range"] as? [Int] == [450_000, 549_999] && t["v1_n"] as? [Int] == [-1], "\(t)")
    }
}
