import Foundation
import VigilRuntime
import VigilText

/// Merge on key columns (upsert), copy-on-write: files whose key statistics overlap the
/// batch's keys are read, the rows whose key the batch replaces (or deletes) are
/// dropped, the survivors are written to a new file; the commit removes the old files
/// and adds the new ones and the batch. Files whose statistics cannot overlap are never
/// read. Deterministic row order: survivors in file order, then the batch in its order.
extension DeltaTable {
    public struct MergeResult: Sendable, Equatable {
        public var outcome: Outcome
        /// Files whose statistics overlapped the batch's keys and were read.
        public var filesRead: Int
        /// Of those, the files that held a replaced row and were rewritten.
        public var filesRewritten: Int
        public var filesTotal: Int
    }

    /// An active data file and its key statistics.
    struct ActiveFile {
        var path: String
        var mins: [String: Any]
        var maxs: [String: Any]
    }

    /// Upserts `rows` on `keys` (and deletes the rows whose key is in `deletes`), as
    /// batch `batch` of `appId`.
    public func merge(_ rows: [[Value]], deletes: [[Value]] = [], on keys: [String], appId: String, batch: Int64,
                      now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) throws(Failure) -> MergeResult {
        let keyIndex = keys.compactMap { k in columns.firstIndex { $0.name == k } }
        guard keyIndex.count == keys.count else { throw Failure(description: "merge keys \(keys) are not all columns of the table") }
        let state = readLog()
        let files = state.files
        if let done = state.transactions[appId], done >= batch {
            return MergeResult(outcome: .skipped, filesRead: 0, filesRewritten: 0, filesTotal: files.count)
        }
        let key = { (row: [Value]) in keyIndex.map { row[$0] } }
        let replaced = Set(rows.map(key) + deletes)
        // The batch's range per key column, to prune files by their statistics.
        let (lo, hi) = Self.keyRange(replaced, columns: keyIndex.count)
        var removes: [String] = []
        var survivors: [[Value]] = []
        var read = 0
        for f in files where !replaced.isEmpty && mayOverlap(f, keyIndex: keyIndex, lo: lo, hi: hi) {
            read += 1
            let content = try readDataFile(f.path).rows
            let kept = content.filter { !replaced.contains(key($0)) }
            if kept.count != content.count {
                removes.append(f.path)
                survivors += kept
            }
        }
        var adds: [(file: String, size: Int, stats: String)] = []
        for part in [survivors, rows] where !part.isEmpty {
            adds.append(try writeFile(part))
        }
        var actions: [String] = []
        for r in removes {
            actions.append("{\"remove\":{\"path\":\(jsonQuote(r)),\"deletionTimestamp\":\(now),\"dataChange\":true}}")
        }
        guard let outcome = try commitActions(actions, adds: adds, appId: appId, batch: batch, now: now, operation: "MERGE", rebase: false) else {
            // Another writer committed first: its files may be the ones rewritten here.
            return try merge(rows, deletes: deletes, on: keys, appId: appId, batch: batch, now: now)
        }
        return MergeResult(outcome: outcome, filesRead: read, filesRewritten: removes.count, filesTotal: files.count)
    }

    /// The smallest and largest value per key column over `keys` (nulls left out).
    static func keyRange(_ keys: Set<[Value]>, columns: Int) -> (lo: [Value?], hi: [Value?]) {
        var lo = [Value?](repeating: nil, count: columns), hi = [Value?](repeating: nil, count: columns)
        for k in keys {
            for (i, v) in k.enumerated() where !v.isNull {
                if lo[i].map({ ParquetWriter.less(v, $0) }) ?? true { lo[i] = v }
                if hi[i].map({ ParquetWriter.less($0, v) }) ?? true { hi[i] = v }
            }
        }
        return (lo, hi)
    }

    /// Whether a file's statistics leave room for one of the batch's keys (missing
    /// statistics: it may).
    func mayOverlap(_ f: ActiveFile, keyIndex: [Int], lo: [Value?], hi: [Value?]) -> Bool {
        for (i, c) in keyIndex.enumerated() {
            let column = columns[c]
            guard let bLo = lo[i], let bHi = hi[i], let fMin = f.mins[column.name], let fMax = f.maxs[column.name],
                  let fLo = Self.value(fMin, column.kind), let fHi = Self.value(fMax, column.kind) else { continue }
            if ParquetWriter.less(fHi, bLo) || ParquetWriter.less(bHi, fLo) { return false }
        }
        return true
    }

    /// A statistics value from the log as a `Value` of the column's kind.
    static func value(_ any: Any, _ kind: ParquetColumn.Kind) -> Value? {
        switch kind {
        case .string: return (any as? String).map(Value.string)
        case .int64: return (any as? NSNumber).map { .int($0.int64Value) }
        case .double: return (any as? NSNumber).map { .double($0.doubleValue) }
        case .timestamp: return (any as? String).flatMap { RFC3339.parse($0) }.map(Value.timestamp)
        case .bool: return nil
        }
    }
}
