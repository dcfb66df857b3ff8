import Foundation
import VigilRuntime

/// The rows of one `into table` output, committed to its Delta table in micro-batches
/// when the caller says so (`commit(batch:)`). Append tables take the rows as they
/// come; merge tables upsert on their keys (a delete withdraws a key); SCD2 tables keep
/// each key's history. Each commit carries the batch version the caller gives, under
/// the detector's app id: a batch the table already holds is skipped.
public final class TableSink {
    public let name: String
    public let table: DeltaTable
    let mode: RowOutput.WriteMode
    let appId: String
    private var pending: [Row] = []
    /// Counters for the run summary.
    public private(set) var rowsWritten = 0
    public private(set) var commits = 0
    public private(set) var skipped = 0
    public private(set) var filesRewritten = 0

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `lake`: the root; table `a.b` lives at `lake/a/b`.
    public init(lake: String, output: RowOutput, appId: String, codec: ParquetCodec = .zstd) throws(Failure) {
        name = output.table
        let path = ([lake] + output.table.split(separator: ".").map(String.init)).joined(separator: "/")
        let keyColumns: Set<String>
        switch output.mode {
        case .merge(let keys), .scd2(let keys): keyColumns = Set(keys)
        case .append: keyColumns = []
        }
        var columns = zip(output.columns, output.types).map { name, type -> ParquetColumn in
            let kind: ParquetColumn.Kind
            switch type {
            case .int?, .duration?: kind = .int64
            case .double?: kind = .double
            case .bool?: kind = .bool
            case .timestamp?: kind = .timestamp
            default: kind = .string
            }
            return ParquetColumn(name: name, kind: kind, nullable: !keyColumns.contains(name))
        }
        if case .scd2 = output.mode {
            columns += [ParquetColumn(name: "valid_from", kind: .timestamp, nullable: false),
                        ParquetColumn(name: "valid_to", kind: .timestamp, nullable: true),
                        ParquetColumn(name: "is_current", kind: .bool, nullable: false)]
        }
        table = DeltaTable(path: path, columns: columns, codec: codec)
        mode = output.mode
        self.appId = appId
        if let existing = table.committedColumns(), existing != columns {
            throw Failure(description: "table `\(name)` (\(path)) exists with other columns: "
                          + "\(existing.map(\.description).joined(separator: ", ")); the rules now write "
                          + "\(columns.map(\.description).joined(separator: ", "))")
        }
    }

    /// The highest batch version this detector committed to the table.
    public var lastBatch: Int64? { table.transactionVersion(appId) }

    public var pendingRows: Int { pending.count }

    public func add(_ row: Row) {
        pending.append(row)
    }

    /// Commits what is pending as batch `batch` (nothing pending: no commit).
    public func commit(batch: Int64) throws(Failure) {
        guard !pending.isEmpty else { return }
        let rows = pending
        pending = []
        var outcome: DeltaTable.Outcome = .skipped
        do {
            switch mode {
            case .append:
                // An append table keeps every row version emitted; withdrawals (deletes)
                // only mean something to merge and SCD2 tables.
                let upserts = rows.filter { $0.op == .upsert }.map { normalized($0.values) }
                if !upserts.isEmpty { outcome = try table.append(upserts, appId: appId, batch: batch) }
            case .merge(let keys):
                // The last row per key in the batch wins; a delete withdraws the key.
                let index = keys.compactMap { k in table.columns.firstIndex { $0.name == k } }
                var last: [[Value]: Row] = [:]
                var order: [[Value]] = []
                for r in rows {
                    let k = index.map { normalized(r.values)[$0] }
                    if last[k] == nil { order.append(k) }
                    last[k] = r
                }
                let upserts = order.compactMap { last[$0]!.op == .upsert ? normalized(last[$0]!.values) : nil }
                let deletes = order.filter { last[$0]!.op == .delete }
                let r = try table.merge(upserts, deletes: deletes, on: keys, appId: appId, batch: batch)
                filesRewritten += r.filesRewritten
                outcome = r.outcome
            case .scd2(let keys):
                let changes = rows.map { DeltaTable.Change(values: normalized($0.values), delete: $0.op == .delete, at: $0.at) }
                let r = try table.scd2(changes, on: keys, appId: appId, batch: batch)
                filesRewritten += r.filesRewritten
                outcome = r.outcome
            }
        } catch {
            throw Failure(description: "table `\(name)`: \(error.description)")
        }
        if case .skipped = outcome {
            skipped += 1
        } else {
            rowsWritten += rows.count
            commits += 1
        }
    }

    /// Durations are written as milliseconds (int64).
    func normalized(_ values: [Value]) -> [Value] {
        values.map { if case .duration(let ms) = $0 { .int(ms) } else { $0 } }
    }
}
