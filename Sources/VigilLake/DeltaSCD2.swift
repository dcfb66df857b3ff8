import Foundation
import VigilRuntime
import VigilText

/// SCD type 2 on key columns: history instead of overwrite. A table keyed on `keys`
/// holds the data columns, then `valid_from`, `valid_to` (null while current) and
/// `is_current`. A change to a key closes its current row (`valid_to` = the change's
/// time, `is_current` false) and adds the new values as the current row; a change that
/// repeats the current values changes nothing; a delete closes the current row.
/// Copy-on-write like `merge`: only files whose key statistics overlap the batch are
/// read, and only files holding a closed row are rewritten.
extension DeltaTable {
    /// The three columns an SCD2 table has after its data columns.
    public static let scd2Columns = ["valid_from", "valid_to", "is_current"]

    public struct Change: Sendable {
        /// The data columns (the table's columns without the SCD2 ones).
        public var values: [Value]
        public var delete: Bool
        /// Epoch milliseconds: when the change took effect.
        public var at: Int64

        public init(values: [Value], delete: Bool = false, at: Int64) {
            self.values = values
            self.delete = delete
            self.at = at
        }
    }

    /// Applies `changes` in order as batch `batch` of `appId`.
    public func scd2(_ changes: [Change], on keys: [String], appId: String, batch: Int64,
                     now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) throws(Failure) -> MergeResult {
        let width = columns.count - Self.scd2Columns.count
        guard width > 0, Array(columns[width...].map(\.name)) == Self.scd2Columns else {
            throw Failure(description: "an SCD2 table ends with the columns \(Self.scd2Columns)")
        }
        let keyIndex = keys.compactMap { k in columns[..<width].firstIndex { $0.name == k } }
        guard keyIndex.count == keys.count else { throw Failure(description: "SCD2 keys \(keys) are not all columns of the table") }
        let state = readLog()
        if let done = state.transactions[appId], done >= batch {
            return MergeResult(outcome: .skipped, filesRead: 0, filesRewritten: 0, filesTotal: state.files.count)
        }
        let key = { (row: [Value]) in keyIndex.map { row[$0] } }
        let batchKeys = Set(changes.map { key($0.values) })
        let (lo, hi) = Self.keyRange(batchKeys, columns: keyIndex.count)
        // The rows of the files that may hold a current row of the batch's keys.
        var files: [(path: String, rows: [[Value]], changed: Bool)] = []
        /// Where each key's current row is: (file, row) for existing rows, file -1 for this batch's.
        var current: [[Value]: (file: Int, row: Int)] = [:]
        for f in state.files where !batchKeys.isEmpty && mayOverlap(f, keyIndex: keyIndex, lo: lo, hi: hi) {
            let rows = try readDataFile(f.path).rows
            for (r, row) in rows.enumerated() where row[width + 2] == .bool(true) && batchKeys.contains(key(row)) {
                current[key(row)] = (files.count, r)
            }
            files.append((f.path, rows, false))
        }
        var added: [[Value]] = []
        for c in changes {
            let k = key(c.values)
            if let at = current[k] {
                let row = at.file < 0 ? added[at.row] : files[at.file].rows[at.row]
                if !c.delete && Array(row[..<width]) == c.values { continue }
                var closed = row
                closed[width + 1] = .timestamp(c.at)
                closed[width + 2] = .bool(false)
                if at.file < 0 { added[at.row] = closed } else {
                    files[at.file].rows[at.row] = closed
                    files[at.file].changed = true
                }
                current[k] = nil
            }
            guard !c.delete else { continue }
            current[k] = (-1, added.count)
            added.append(c.values + [.timestamp(c.at), .null, .bool(true)])
        }
        var adds: [(file: String, size: Int, stats: String)] = []
        var actions: [String] = []
        for f in files where f.changed {
            actions.append("{\"remove\":{\"path\":\(jsonQuote(f.path)),\"deletionTimestamp\":\(now),\"dataChange\":true}}")
            adds.append(try writeFile(f.rows))
        }
        if !added.isEmpty { adds.append(try writeFile(added)) }
        guard let outcome = try commitActions(actions, adds: adds, appId: appId, batch: batch, now: now, operation: "MERGE", rebase: false) else {
            return try scd2(changes, on: keys, appId: appId, batch: batch, now: now)
        }
        return MergeResult(outcome: outcome, filesRead: files.count, filesRewritten: actions.count, filesTotal: state.files.count)
    }
}
