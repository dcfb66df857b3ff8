#if canImport(Glibc)
import Glibc
#endif
import Foundation
import VigilRuntime
import VigilText

/// A Delta Lake table written by Vigil: Parquet data files and the transaction log
/// `_delta_log/NNNNNNNNNNNNNNNNNNNN.json` (protocol reader 1 / writer 2), per the Delta
/// protocol (delta-io/delta PROTOCOL.md). Commits are created exclusively (`link(2)`
/// refuses an existing name); when another writer got a version first, the commit is
/// retried at the next one. Each commit of a micro-batch carries a `txn` action (app
/// id, version): a batch whose version the table already has is skipped, which makes
/// replays after a crash exactly-once.
public struct DeltaTable: Sendable {
    public let path: String
    public var columns: [ParquetColumn]
    public var codec: ParquetCodec

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public enum Outcome: Sendable, Equatable {
        case committed(version: Int64)
        /// The table already holds this app's batch `version`.
        case skipped
    }

    public init(path: String, columns: [ParquetColumn], codec: ParquetCodec = .zstd) {
        self.path = path
        self.columns = columns
        self.codec = codec
    }

    var log: String { (path as NSString).appendingPathComponent("_delta_log") }

    static func commitName(_ v: Int64) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, 20 - s.count)) + s + ".json"
    }

    /// The newest committed version (-1: no table yet).
    public func latestVersion() -> Int64 {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: log)) ?? []
        return names.compactMap { $0.hasSuffix(".json") ? Int64($0.dropLast(5)) : nil }.max() ?? -1
    }

    /// What the log says, read in one pass: the active files (adds not removed, with
    /// their statistics) and the highest batch version per app id.
    struct LogState {
        var files: [ActiveFile] = []
        var transactions: [String: Int64] = [:]
        /// The newest `metaData`'s schema.
        var schemaString: String?
    }

    /// Replays every commit. Without checkpoints this grows with the number of commits;
    /// writing Delta checkpoints is what will bound it.
    func readLog() -> LogState {
        var state = LogState()
        var files: [String: ActiveFile] = [:]
        var order: [String] = []
        let latest = latestVersion()
        guard latest >= 0 else { return state }
        for v in 0...latest {
            guard let text = try? String(contentsOfFile: (log as NSString).appendingPathComponent(Self.commitName(v)), encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
                if let add = object["add"] as? [String: Any], let path = add["path"] as? String {
                    let stats = (add["stats"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
                    if files[path] == nil { order.append(path) }
                    files[path] = ActiveFile(path: path, mins: stats["minValues"] as? [String: Any] ?? [:], maxs: stats["maxValues"] as? [String: Any] ?? [:])
                } else if let meta = object["metaData"] as? [String: Any], let schema = meta["schemaString"] as? String {
                    state.schemaString = schema
                } else if let remove = object["remove"] as? [String: Any], let path = remove["path"] as? String {
                    files[path] = nil
                } else if let txn = object["txn"] as? [String: Any], let app = txn["appId"] as? String,
                          let version = (txn["version"] as? NSNumber)?.int64Value {
                    state.transactions[app] = max(state.transactions[app] ?? version, version)
                }
            }
        }
        state.files = order.compactMap { files[$0] }
        return state
    }

    /// Every row of the table's current version, in file order, with the columns of its
    /// files (empty for a table without rows). Reads what `ParquetReader` reads.
    public static func read(path: String) throws(Failure) -> (columns: [ParquetColumn], rows: [[Value]]) {
        let table = DeltaTable(path: path, columns: [])
        var columns: [ParquetColumn] = []
        var rows: [[Value]] = []
        for f in table.readLog().files {
            let content = try table.readDataFile(f.path)
            if columns.isEmpty { columns = content.columns }
            guard content.columns.map(\.name) == columns.map(\.name) else {
                throw Failure(description: "\(f.path): its columns differ from the table's other files")
            }
            rows += content.rows
        }
        return (columns, rows)
    }

    /// The columns the table's log declares (nil: no table yet; unreadable types are
    /// strings, so that they differ from any Vigil column).
    public func committedColumns() -> [ParquetColumn]? {
        guard let text = readLog().schemaString,
              let schema = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let fields = schema["fields"] as? [[String: Any]] else { return nil }
        return fields.map { f in
            let kind: ParquetColumn.Kind
            switch f["type"] as? String {
            case "long": kind = .int64
            case "double": kind = .double
            case "boolean": kind = .bool
            case "timestamp": kind = .timestamp
            default: kind = .string
            }
            return ParquetColumn(name: f["name"] as? String ?? "", kind: kind, nullable: f["nullable"] as? Bool ?? true)
        }
    }

    /// One data file of the table, decoded.
    func readDataFile(_ name: String) throws(Failure) -> (columns: [ParquetColumn], rows: [[Value]]) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: (path as NSString).appendingPathComponent(name))) } catch {
            throw Failure(description: "cannot read \(name): \(error)")
        }
        do { return try ParquetReader.read([UInt8](data)) } catch { throw Failure(description: "\(name): \(error.description)") }
    }

    /// The highest batch version committed for `appId` (nil: none).
    public func transactionVersion(_ appId: String) -> Int64? { readLog().transactions[appId] }

    /// Appends `rows` as one data file and one commit, as batch `batch` of `appId`.
    /// `now`: the commit's timestamp (ms), injectable for deterministic tests.
    public func append(_ rows: [[Value]], appId: String, batch: Int64, now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) throws(Failure) -> Outcome {
        if let done = transactionVersion(appId), done >= batch { return .skipped }
        // The data file first: a crash before the commit leaves it unreferenced, and the
        // table reads as its previous version.
        let add = try writeFile(rows)
        // Appends never conflict: another writer's commit only moves this one on.
        return try commitActions([], adds: [add], appId: appId, batch: batch, now: now, operation: "WRITE", rebase: true)!
    }

    /// Writes one data file; returns its name, size and statistics JSON.
    func writeFile(_ rows: [[Value]]) throws(Failure) -> (file: String, size: Int, stats: String) {
        do { try FileManager.default.createDirectory(atPath: log, withIntermediateDirectories: true) } catch {
            throw Failure(description: "cannot create \(log): \(error)")
        }
        let (bytes, stats): ([UInt8], [ParquetWriter.ColumnStats])
        do { (bytes, stats) = try ParquetWriter(columns: columns, codec: codec).write(rows) } catch {
            throw Failure(description: error.description)
        }
        let file = "part-\(UUID().uuidString.lowercased())-c000.\(codec.fileInfix)parquet"
        let filePath = (path as NSString).appendingPathComponent(file)
        guard FileManager.default.createFile(atPath: filePath, contents: Data(bytes)) else {
            throw Failure(description: "cannot write \(filePath)")
        }
        return (file, bytes.count, statsJSON(rows: rows.count, stats))
    }

    /// Commits `actions` and `adds` with the batch's `txn`. When another writer took the
    /// version: if it committed this batch, `.skipped`; with `rebase` the commit moves to
    /// the next version; otherwise nil (the caller recomputes, e.g. a merge whose files
    /// may have changed).
    func commitActions(_ actions: [String], adds: [(file: String, size: Int, stats: String)], appId: String, batch: Int64,
                       now: Int64, operation: String, rebase: Bool) throws(Failure) -> Outcome? {
        var version = latestVersion() + 1
        while true {
            var lines: [String] = []
            if version == 0 {
                lines.append("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}")
                lines.append("{\"metaData\":{\"id\":\(jsonQuote(UUID().uuidString.lowercased())),\"format\":{\"provider\":\"parquet\",\"options\":{}},"
                             + "\"schemaString\":\(jsonQuote(schemaString)),\"partitionColumns\":[],\"configuration\":{},\"createdTime\":\(now)}}")
            }
            lines += actions
            for a in adds {
                lines.append("{\"add\":{\"path\":\(jsonQuote(a.file)),\"partitionValues\":{},\"size\":\(a.size),\"modificationTime\":\(now),"
                             + "\"dataChange\":true,\"stats\":\(jsonQuote(a.stats))}}")
            }
            lines.append("{\"txn\":{\"appId\":\(jsonQuote(appId)),\"version\":\(batch),\"lastUpdated\":\(now)}}")
            lines.append("{\"commitInfo\":{\"timestamp\":\(now),\"operation\":\"\(operation)\",\"operationParameters\":{},\"engineInfo\":\"vigil\"}}")
            switch commit(version, lines.joined(separator: "\n") + "\n") {
            case .done: return .committed(version: version)
            case .taken:
                if let done = transactionVersion(appId), done >= batch {
                    removeFiles(adds.map(\.file))
                    return .skipped
                }
                guard rebase else {
                    removeFiles(adds.map(\.file))
                    return nil
                }
                version = latestVersion() + 1
            case .failed(let why):
                throw Failure(description: why)
            }
        }
    }

    func removeFiles(_ names: [String]) {
        for n in names { try? FileManager.default.removeItem(atPath: (path as NSString).appendingPathComponent(n)) }
    }

    enum CommitResult {
        case done, taken
        case failed(String)
    }

    /// Writes the commit under a temporary name, then links it to its version's name;
    /// `link` fails when that name exists, so no commit is ever overwritten.
    func commit(_ version: Int64, _ text: String) -> CommitResult {
        let final = (log as NSString).appendingPathComponent(Self.commitName(version))
        let tmp = (log as NSString).appendingPathComponent(".tmp-\(UUID().uuidString).json")
        guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8)) else { return .failed("cannot write \(tmp)") }
        defer { unlink(tmp) }
        if link(tmp, final) == 0 { return .done }
        return errno == EEXIST ? .taken : .failed("cannot create \(final): \(String(cString: strerror(errno)))")
    }

    /// The table schema as Delta's JSON (Spark's StructType).
    var schemaString: String {
        let fields = columns.map { c -> String in
            let type: String
            switch c.kind {
            case .string: type = "string"
            case .int64: type = "long"
            case .double: type = "double"
            case .bool: type = "boolean"
            case .timestamp: type = "timestamp"
            }
            return "{\"name\":\(jsonQuote(c.name)),\"type\":\"\(type)\",\"nullable\":\(c.nullable),\"metadata\":{}}"
        }
        return "{\"type\":\"struct\",\"fields\":[\(fields.joined(separator: ","))]}"
    }

    /// Per-file statistics for data skipping: numRecords, minValues, maxValues, nullCount.
    func statsJSON(rows: Int, _ stats: [ParquetWriter.ColumnStats]) -> String {
        func literal(_ v: Value) -> String {
            switch v {
            case .timestamp(let ms): return jsonQuote(RFC3339.format(ms))
            default: return v.json
            }
        }
        var mins: [String] = [], maxs: [String] = [], nulls: [String] = []
        for (c, s) in zip(columns, stats) {
            // Delta keeps no min/max for booleans.
            if c.kind != .bool, let lo = s.min, let hi = s.max {
                mins.append("\(jsonQuote(c.name)):\(literal(lo))")
                maxs.append("\(jsonQuote(c.name)):\(literal(hi))")
            }
            nulls.append("\(jsonQuote(c.name)):\(s.nulls)")
        }
        return "{\"numRecords\":\(rows),\"minValues\":{\(mins.joined(separator: ","))},\"maxValues\":{\(maxs.joined(separator: ","))},\"nullCount\":{\(nulls.joined(separator: ","))}}"
    }
}
