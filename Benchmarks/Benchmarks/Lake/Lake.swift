import Benchmark
import Foundation
import VigilLake
import VigilRuntime

/// Issue 7's numbers: appending a 10-column table of 1,000,000 rows (ZSTD) and merging
/// 100,000 upserts into a 1,000,000-row table (eight files of 125,000 rows). Rows are
/// built before the measured part.
let columns = [
    ParquetColumn(name: "id", kind: .int64, nullable: false), ParquetColumn(name: "user", kind: .string),
    ParquetColumn(name: "country", kind: .string), ParquetColumn(name: "amount", kind: .double),
    ParquetColumn(name: "score", kind: .double), ParquetColumn(name: "ok", kind: .bool),
    ParquetColumn(name: "at", kind: .timestamp), ParquetColumn(name: "merchant", kind: .string),
    ParquetColumn(name: "qty", kind: .int64), ParquetColumn(name: "note", kind: .string),
]

func rows(_ range: Range<Int>, version: Int = 0) -> [[Value]] {
    let countries = ["US", "GB", "DE", "FR", "NG", "BR", "IN", "JP"]
    return range.map { i in
        [.int(Int64(i)), .string("u\(i % 10_000)"), .string(countries[i % 8]), .double(Double(i % 9973) / 7),
         .double(Double(version)), .bool(i % 3 == 0), .timestamp(1_700_000_000_000 + Int64(i)),
         .string("m\(i % 1000)"), .int(Int64(i % 17)), i % 10 == 0 ? .null : .string("n\(i % 97)")]
    }
}

func scratch() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(60)
    Benchmark.defaultConfiguration.maxIterations = 3
    let million = rows(0..<1_000_000)
    // "# / s" reads as rows per second.
    Benchmark("append 1M rows x 10 columns, ZSTD",
              configuration: .init(metrics: [.wallClock, .throughput, .peakMemoryResident], scalingFactor: .mega)) { benchmark in
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        benchmark.startMeasurement()
        let outcome = try DeltaTable(path: dir + "/t", columns: columns).append(million, appId: "bench", batch: 1)
        benchmark.stopMeasurement()
        blackHole(outcome)
    }
    Benchmark("append 1M rows x 10 columns, SNAPPY",
              configuration: .init(metrics: [.wallClock, .throughput, .peakMemoryResident], scalingFactor: .mega)) { benchmark in
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        benchmark.startMeasurement()
        let outcome = try DeltaTable(path: dir + "/t", columns: columns, codec: .snappy).append(million, appId: "bench", batch: 1)
        benchmark.stopMeasurement()
        blackHole(outcome)
    }
    let updates = rows(450_000..<550_000, version: 1)
    Benchmark("merge 100k upserts into 1M rows (8 files)",
              configuration: .init(metrics: [.wallClock, .peakMemoryResident], scalingFactor: .one)) { benchmark in
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = DeltaTable(path: dir + "/t", columns: columns)
        for f in 0..<8 {
            _ = try table.append(Array(million[(f * 125_000)..<((f + 1) * 125_000)]), appId: "load", batch: Int64(f + 1))
        }
        benchmark.startMeasurement()
        let r = try table.merge(updates, on: ["id"], appId: "bench", batch: 1)
        benchmark.stopMeasurement()
        print("merge: \(r.filesRead) of \(r.filesTotal) files read, \(r.filesRewritten) rewritten")
        blackHole(r)
    }
    // SCD2: 1M current rows in 8 files, then 100k changes (half of them repeat the
    // current values and change nothing).
    let scd2Columns = columns + [ParquetColumn(name: "valid_from", kind: .timestamp, nullable: false),
                                 ParquetColumn(name: "valid_to", kind: .timestamp), ParquetColumn(name: "is_current", kind: .bool, nullable: false)]
    let changes = (450_000..<550_000).map { i in
        DeltaTable.Change(values: i % 2 == 0 ? million[i] : updates[i - 450_000], at: 1_800_000_000_000)
    }
    Benchmark("scd2 100k changes into 1M current rows (8 files)",
              configuration: .init(metrics: [.wallClock, .peakMemoryResident], scalingFactor: .one)) { benchmark in
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = DeltaTable(path: dir + "/t", columns: scd2Columns)
        for f in 0..<8 {
            let part = million[(f * 125_000)..<((f + 1) * 125_000)].map { $0 + [.timestamp(1_700_000_000_000), .null, .bool(true)] }
            _ = try table.append(part, appId: "load", batch: Int64(f + 1))
        }
        benchmark.startMeasurement()
        let r = try table.scd2(changes, on: ["id"], appId: "bench", batch: 1)
        benchmark.stopMeasurement()
        print("scd2: \(r.filesRead) of \(r.filesTotal) files read, \(r.filesRewritten) rewritten")
        blackHole(r)
    }
}
