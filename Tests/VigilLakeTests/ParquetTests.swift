import Foundation
import Testing
import VigilLake
import VigilRuntime

/// Parquet files Vigil writes, read back by a real reader: pyarrow, from the venv that
/// `scripts/setup-deps.sh` creates (`.venv-test`). It checks the schema, every value
/// and null, the codec, and each column chunk's statistics.
@Suite struct ParquetTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs Python from the test venv on `script` with `args`; returns stdout.
    static func python(_ script: String, _ args: [String]) throws -> String {
        let python = root.appendingPathComponent(".venv-test/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            Issue.record("no \(python.path): run scripts/setup-deps.sh (scripts/test does) to install pyarrow and deltalake")
            return ""
        }
        let p = Process()
        p.executableURL = python
        p.arguments = ["-c", script] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(String(decoding: errors, as: UTF8.self))")
        return String(decoding: data, as: UTF8.self)
    }

    static let columns = [
        ParquetColumn(name: "id", kind: .int64, nullable: false),
        ParquetColumn(name: "name", kind: .string),
        ParquetColumn(name: "amount", kind: .double),
        ParquetColumn(name: "ok", kind: .bool),
        ParquetColumn(name: "at", kind: .timestamp),
    ]

    static func rows(_ n: Int) -> [[Value]] {
        (0..<n).map { i -> [Value] in
            let name: Value = i % 7 == 3 ? .null : .string("név-\(i % 13)")
            let amount: Value = i % 5 == 0 ? .null : .double(Double(i) * 1.5 - 10)
            let ok: Value = i % 11 == 0 ? .null : .bool(i % 2 == 0)
            let at: Value = i % 9 == 4 ? .null : .timestamp(1_700_000_000_000 + Int64(i) * 1000)
            return [.int(Int64(i)), name, amount, ok, at]
        }
    }

    static let reader = """
        import sys, json, pyarrow.parquet as pq
        f = pq.ParquetFile(sys.argv[1])
        t = f.read()
        md = f.metadata
        def text(v):
            if v is None: return "null"
            if isinstance(v, bool): return "true" if v else "false"
            if hasattr(v, "isoformat"): return v.isoformat()
            return str(v)
        out = {"schema": ["%s:%s:%s" % (fl.name, fl.type, "true" if fl.nullable else "false") for fl in t.schema],
               "rows": t.num_rows, "row_groups": md.num_row_groups,
               "columns": {c: [text(v) for v in t.column(c).to_pylist()] for c in t.column_names},
               "codecs": sorted({md.row_group(g).column(c).compression for g in range(md.num_row_groups) for c in range(md.num_columns)}),
               "encodings": [sorted({e for g in range(md.num_row_groups) for e in md.row_group(g).column(c).encodings}) for c in range(md.num_columns)],
               "dictionary": [md.row_group(0).column(c).has_dictionary_page for c in range(md.num_columns)],
               "stats": [["%s %s %s" % (text(md.row_group(g).column(c).statistics.min), text(md.row_group(g).column(c).statistics.max),
                                         md.row_group(g).column(c).statistics.null_count)
                          for c in range(md.num_columns)] for g in range(md.num_row_groups)]}
        print(json.dumps(out))
        """

    func roundTrip(_ rows: [[Value]], codec: ParquetCodec, rowGroupRows: Int) throws -> [String: Any] {
        let writer = ParquetWriter(columns: Self.columns, codec: codec, rowGroupRows: rowGroupRows)
        let (bytes, _) = try writer.write(rows)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString).parquet")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let out = try Self.python(Self.reader, [url.path])
        return (try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]) ?? [:]
    }

    @Test(arguments: [ParquetCodec.zstd, .snappy, .uncompressed])
    func pyarrowReadsEveryValueNullAndStatistic(_ codec: ParquetCodec) throws {
        let rows = Self.rows(2500)
        let r = try roundTrip(rows, codec: codec, rowGroupRows: 1000)
        #expect(r["rows"] as? Int == 2500 && r["row_groups"] as? Int == 3)
        #expect(r["schema"] as? [String] == ["id:int64:false", "name:string:true", "amount:double:true",
                                              "ok:bool:true", "at:timestamp[us, tz=UTC]:true"])
        #expect(r["codecs"] as? [String] == [codec.rawValue.uppercased()])
        // The 13 distinct names are dictionary-encoded; the other columns are PLAIN.
        #expect(r["dictionary"] as? [Bool] == [false, true, false, false, false])
        #expect((r["encodings"] as? [[String]])?[1] == ["PLAIN", "RLE", "RLE_DICTIONARY"], "\(r["encodings"] ?? "")")
        #expect((r["encodings"] as? [[String]])?[0] == ["PLAIN", "RLE"])
        let cols = r["columns"] as? [String: [String]] ?? [:]
        func text(_ v: Value) -> String {
            switch v {
            case .null: return "null"
            case .int(let n): return String(n)
            case .string(let s): return s
            case .double(let d): return "\(d)"
            case .bool(let b): return b ? "true" : "false"
            case .timestamp(let ms): return RFC3339.format(ms).replacingOccurrences(of: ".000Z", with: "+00:00")
            default: return "?"
            }
        }
        var mismatches = 0
        for (i, row) in rows.enumerated() {
            let actual = Self.columns.map { cols[$0.name]?[i] ?? "missing" }
            if row.map(text) != actual {
                mismatches += 1
                if mismatches < 3 { Issue.record("row \(i): wrote \(row.map(text)), read \(actual)") }
            }
        }
        #expect(mismatches == 0)
        // Statistics per row group: min and max of the non-null values, and the null count.
        let stats = r["stats"] as? [[String]] ?? []
        let group = rows[0..<1000]
        func expected(_ c: Int) -> String {
            let vs = group.map { $0[c] }.filter { !$0.isNull }
            let sorted = vs.sorted { a, b in
                if case .string(let x) = a, case .string(let y) = b { return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8)) }
                if case .bool(let x) = a, case .bool(let y) = b { return !x && y }
                return (ValueOps.compare(a, b) ?? 0) < 0
            }
            return "\(text(sorted.first!)) \(text(sorted.last!)) \(group.count - vs.count)"
        }
        #expect(stats.count == 3)
        #expect(stats.first == (0..<5).map(expected))
    }

    @Test func badRowsAreClearErrors() {
        let writer = ParquetWriter(columns: Self.columns)
        #expect(throws: ParquetWriter.Failure.self) { try writer.write([[.null, .null, .null, .null, .null]]) }
        #expect(throws: ParquetWriter.Failure.self) { try writer.write([[.int(1), .int(2), .null, .null, .null]]) }
        #expect(throws: ParquetWriter.Failure.self) { try writer.write([[.int(1)]]) }
    }

    @Test func anEmptyFileIsValid() throws {
        let r = try roundTrip([], codec: .zstd, rowGroupRows: 10)
        #expect(r["rows"] as? Int == 0)
    }

    /// What the writer writes, the reader reads back exactly (it is what merges use).
    @Test(arguments: [ParquetCodec.zstd, .snappy, .uncompressed])
    func theReaderReadsWhatTheWriterWrote(_ codec: ParquetCodec) throws {
        let rows = Self.rows(2500)
        let (bytes, _) = try ParquetWriter(columns: Self.columns, codec: codec, rowGroupRows: 700).write(rows)
        let back = try ParquetReader.read(bytes)
        #expect(back.columns == Self.columns)
        #expect(back.rows.count == rows.count)
        #expect(back.rows.map { $0.map(\.json) } == rows.map { $0.map(\.json) })
        #expect(throws: ParquetReader.Failure.self) { try ParquetReader.read(Array(bytes.dropLast(3))) }
        #expect(throws: ParquetReader.Failure.self) { try ParquetReader.read(Array("PAR1 nothing here PAR1".utf8)) }
    }

    /// A file pyarrow wrote (dictionary encoding off, so PLAIN) reads back too.
    @Test func theReaderReadsPyarrowFiles() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pyarrow-\(UUID().uuidString).parquet")
        defer { try? FileManager.default.removeItem(at: url) }
        _ = try Self.python("""
            import sys, pyarrow as pa, pyarrow.parquet as pq
            t = pa.table({"id": pa.array([1, 2, None], pa.int64()), "name": ["a", None, "ccc"], "x": [0.5, None, -1.0],
                          "ok": [True, False, None]})
            pq.write_table(t, sys.argv[1], use_dictionary=False, compression="zstd", data_page_version="1.0")
            """, [url.path])
        let back = try ParquetReader.read([UInt8](try Data(contentsOf: url)))
        #expect(back.rows.map { $0.map(\.json) } == [["1", "\"a\"", "0.5", "true"], ["2", "null", "null", "false"], ["null", "\"ccc\"", "-1.0", "null"]])
    }

    /// Dictionary or PLAIN, whatever the cardinality (one value, bit widths at their
    /// boundaries, all distinct, all null): both readers read every value back.
    @Test(arguments: [1, 2, 255, 256, 257, 2500, 0])
    func stringColumnsOfEveryCardinalityReadBack(_ distinct: Int) throws {
        let columns = [ParquetColumn(name: "id", kind: .int64, nullable: false), ParquetColumn(name: "s", kind: .string)]
        let rows: [[Value]] = (0..<2500).map { i in [.int(Int64(i)), distinct == 0 ? .null : .string("v\((i * 7919) % distinct)")] }
        let (bytes, _) = try ParquetWriter(columns: columns, codec: .zstd, rowGroupRows: 1000).write(rows)
        #expect(try ParquetReader.read(bytes).rows.map { $0.map(\.json) } == rows.map { $0.map(\.json) })
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-card-\(UUID().uuidString).parquet")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(bytes).write(to: url)
        let out = try Self.python("""
            import sys, json, pyarrow.parquet as pq
            f = pq.ParquetFile(sys.argv[1])
            print(json.dumps({"s": f.read().column("s").to_pylist(), "dict": f.metadata.row_group(0).column(1).has_dictionary_page}))
            """, [url.path])
        let t = (try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]) ?? [:]
        #expect((t["s"] as? [Any])?.map { ($0 as? String).map { "\"\($0)\"" } ?? "null" } == rows.map { $0[1].json })
        // A dictionary where values repeat; PLAIN when (nearly) all differ or all are null.
        #expect(t["dict"] as? Bool == (distinct > 0 && distinct <= 257))
    }

    /// pyarrow's own dictionary pages (RLE runs and bit-packed runs of indices, SNAPPY)
    /// read back too: a Delta table written by another engine can be a reference table.
    @Test func theReaderReadsPyarrowDictionaryPages() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pyarrow-dict-\(UUID().uuidString).parquet")
        defer { try? FileManager.default.removeItem(at: url) }
        _ = try Self.python("""
            import sys, pyarrow as pa, pyarrow.parquet as pq
            names = ["same"] * 300 + [["a", "bb", None, "ccc"][i % 4] for i in range(700)]
            t = pa.table({"id": pa.array(range(1000), pa.int64()), "name": names})
            pq.write_table(t, sys.argv[1], use_dictionary=True, compression="snappy", data_page_version="1.0")
            assert pq.ParquetFile(sys.argv[1]).metadata.row_group(0).column(1).has_dictionary_page
            """, [url.path])
        let back = try ParquetReader.read([UInt8](try Data(contentsOf: url)))
        let names = back.rows.map { $0[1] }
        #expect(back.rows.count == 1000)
        #expect(names.prefix(300).allSatisfy { $0 == .string("same") })
        #expect(Array(names[300..<304]) == [.string("a"), .string("bb"), .null, .string("ccc")])
        #expect(names[999] == .string("ccc"))
    }
}
