import Foundation
import VigilLake
import VigilRuntime

/// The lakehouse side of `vigil run`: a sink per `into table` output (and per stream
/// with `--bronze`), and the micro-batches — cut for every table at once, every
/// `batchRows` rows, when event time crosses a multiple of `intervalMs`, and at the end
/// of the input. Batch N of the run is committed to every table that has rows in it as
/// `txn` version N of the detector's app id; N continues after the highest version any
/// of the tables holds, or after the checkpoint's when the run resumes one.
final class LakeOutputs {
    let appId: String
    private(set) var sinks: [TableSink] = []
    private var byName: [String: TableSink] = [:]
    /// Per stream, with `--bronze`: its `bronze.<stream>` table.
    private var bronze: [TableSink?]
    let batchRows: Int
    let intervalMs: Int64?
    /// The last batch version committed (or skipped as already committed).
    private(set) var batch: Int64
    private var pending = 0
    /// The event-time slot (time / interval) of the current batch's first event.
    private var slot: Int64?
    private(set) var error: String?

    struct SetupError: Error {
        var message: String
    }

    init(program: Program, lake: String, appId: String, batchRows: Int, intervalMs: Int64?, bronze withBronze: Bool,
         codec: ParquetCodec) throws(SetupError) {
        self.appId = appId
        self.batchRows = max(1, batchRows)
        self.intervalMs = intervalMs
        bronze = Array(repeating: nil, count: program.streams.count)
        func sink(_ output: RowOutput) throws(SetupError) -> TableSink {
            do { return try TableSink(lake: lake, output: output, appId: appId, codec: codec) } catch {
                throw SetupError(message: error.description)
            }
        }
        for output in program.tableOutputs where byName[output.table] == nil {
            let s = try sink(output)
            sinks.append(s)
            byName[output.table] = s
        }
        if withBronze {
            for (s, schema) in program.streams.enumerated() {
                guard byName["bronze.\(schema.name)"] == nil else {
                    throw SetupError(message: "--bronze writes the table `bronze.\(schema.name)`, which a declaration also writes")
                }
                var output = RowOutput(flowTable: "bronze.\(schema.name)", selected: [])
                output.columns = schema.fields.map { RowOutput.column(forKey: $0.name) } + Self.bronzeColumns
                output.types = schema.fields.map(\.type) + [.string, .int]
                bronze[s] = try sink(output)
                sinks.append(bronze[s]!)
            }
        }
        batch = sinks.compactMap(\.lastBatch).max() ?? 0
    }

    /// The columns a bronze table has after the stream's fields: where the event came from.
    static let bronzeColumns = ["_source", "_line"]

    var isEmpty: Bool { sinks.isEmpty }

    /// Resuming a checkpoint: the next batch is the one after it.
    func resume(after checkpointBatch: Int64) { batch = checkpointBatch }

    func add(_ row: Row) {
        guard let sink = byName[row.table] else { return }
        sink.add(row)
        pending += 1
    }

    func addBronze(_ e: Event, source: String) {
        guard let sink = bronze[Int(e.stream)] else { return }
        sink.add(Row(table: sink.name, rule: "", op: .upsert, version: 1, columns: [], values: e.values + [.string(source), .int(e.origin.line)], at: e.ts))
        pending += 1
    }

    /// After each event (at event time `ts`): whether the batch is due. The caller
    /// commits (and checkpoints) between events.
    func due(at ts: Int64) -> Bool {
        if pending >= batchRows { return true }
        guard let intervalMs, intervalMs > 0 else { return false }
        let s = ts.floorDivided(by: intervalMs)
        guard let start = slot else {
            if pending > 0 { slot = s }
            return false
        }
        return s > start && pending > 0
    }

    /// Commits what is pending to every table as the next batch. Returns false (and
    /// keeps the error) when a table cannot be written.
    @discardableResult
    func commit() -> Bool {
        guard error == nil else { return false }
        guard pending > 0 else { return true }
        batch += 1
        for sink in sinks {
            do { try sink.commit(batch: batch) } catch {
                self.error = error.description
                return false
            }
        }
        pending = 0
        slot = nil
        return true
    }

    /// The run summary's lines: per table, and per flow its expectations.
    func summary(_ stats: DetectorStats, program: Program) -> [String] {
        var lines: [String] = []
        for t in sinks {
            var line = "table `\(t.name)` (\(t.table.path)): \(t.rowsWritten) row\(t.rowsWritten == 1 ? "" : "s") in \(t.commits) commit\(t.commits == 1 ? "" : "s")"
            if t.filesRewritten > 0 { line += ", \(t.filesRewritten) files rewritten" }
            if t.skipped > 0 { line += ", \(t.skipped) batch\(t.skipped == 1 ? "" : "es") already committed (skipped)" }
            lines.append(line)
        }
        for (f, flow) in program.flows.enumerated() where f < stats.flows.count {
            let s = stats.flows[f]
            var line = "flow `\(flow.name)`: \(s.events) events, \(s.filtered) filtered by `where`, \(s.written) written, "
                + "\(s.dropped) dropped, \(s.quarantined) quarantined"
            let failures = flow.expectations.map { x in "\(x.name) (\(x.action.rawValue)): \(s.failures[x.name] ?? 0)" }
            if !failures.isEmpty { line += "; failed expectations: " + failures.joined(separator: ", ") }
            lines.append(line)
        }
        return lines
    }
}
