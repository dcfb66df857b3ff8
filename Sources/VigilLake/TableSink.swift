import Foundation
import VigilRuntime

/// The rows of one `into table` output, committed to its Delta table in micro-batches:
/// every `batchRows` rows and at the end of the input. Append tables take the rows as
/// they come; merge tables upsert on their keys (a delete withdraws a key). Each commit
/// is the next batch version of the detector's app id, so a new run never skips new
/// data.
public final class TableSink {
    public let name: String
    public let table: DeltaTable
    let mode: RowOutput.WriteMode
    let appId: String
    let batchRows: Int
    private var pending: [Row] = []
    private var nextBatch: Int64
    /// Counters for the run summary.
    public private(set) var rowsWritten = 0
    public private(set) var commits = 0
    public private(set) var filesRewritten = 0

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `lake`: the root; table `a.b` lives at `lake/a/b`.
    public init(lake: String, output: RowOutput, appId: String, batchRows: Int = 100_000) throws(Failure) {
        if case .scd2 = output.mode { throw Failure(description: "`\(output.table)`: SCD2 tables are not written yet") }
        name = output.table
        let path = ([lake] + output.table.split(separator: ".").map(String.init)).joined(separator: "/")
        let keyColumns: Set<String>
        if case .merge(let keys) = output.mode { keyColumns = Set(keys) } else { keyColumns = [] }
        let columns = zip(output.columns, output.types).map { name, type -> ParquetColumn in
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
        table = DeltaTable(path: path, columns: columns)
        mode = output.mode
        self.appId = appId
        self.batchRows = max(1, batchRows)
        nextBatch = (table.transactionVersion(appId) ?? 0) + 1
    }

    public func add(_ row: Row) throws(Failure) {
        pending.append(row)
        if pending.count >= batchRows { try commit() }
    }

    /// Commits what is pending as the next batch.
    public func commit() throws(Failure) {
        guard !pending.isEmpty else { return }
        let rows = pending
        pending = []
        do {
            switch mode {
            case .append, .scd2:
                // An append table keeps every row version emitted; withdrawals (deletes)
                // only mean something to merge tables.
                let upserts = rows.filter { $0.op == .upsert }.map { normalized($0.values) }
                if !upserts.isEmpty { _ = try table.append(upserts, appId: appId, batch: nextBatch) }
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
                let r = try table.merge(upserts, deletes: deletes, on: keys, appId: appId, batch: nextBatch)
                filesRewritten += r.filesRewritten
            }
        } catch {
            throw Failure(description: "table `\(name)`: \(error.description)")
        }
        rowsWritten += rows.count
        commits += 1
        nextBatch += 1
    }

    /// Durations are written as milliseconds (int64).
    func normalized(_ values: [Value]) -> [Value] {
        values.map { if case .duration(let ms) = $0 { .int(ms) } else { $0 } }
    }
}
