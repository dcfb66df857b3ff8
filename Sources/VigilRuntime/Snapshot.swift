import Foundation

/// The detector's whole state as bytes: watermarks, reorder buffers, partial matches,
/// timers and counters. A detector restored from them (with the same program)
/// continues exactly as the original would have.
extension Detector {
    struct State: Codable {
        var maxTs: [Int64]
        var watermarks: [Int64]
        /// Per rule: the events waiting for its watermark, in event-time order.
        var pending: [[Event]]
        var lastReclaim: [Int64]
        var stats: DetectorStats
        var matchers: [PatternMatcher.StateRecord]
        var windows: [WindowOperator.State]
        var idle: [Bool]
        var released: [Int64]
        var suppressors: [Suppressor?]
        /// Guards against restoring into a different program.
        var rules: [String]
    }

    /// Why a snapshot could not be restored.
    public struct SnapshotError: Error, CustomStringConvertible {
        public var description: String
    }

    /// How a snapshot is written: `binary` (`SnapshotCoder`), or `json`, what builds
    /// before it wrote — kept (internal) for the tests that restore those.
    enum SnapshotFormat: Sendable {
        case binary, json
    }

    /// Serialises the state (in `SnapshotCoder`'s binary form).
    public func snapshot() throws -> [UInt8] { try snapshot(format: .binary) }

    /// Serialises the state in `format`. Either format restores.
    func snapshot(format: SnapshotFormat) throws -> [UInt8] {
        let state = State(maxTs: maxTs, watermarks: watermarks, pending: released.indices.map { pending.waiting(rule: $0).map(store.event) }, lastReclaim: lastReclaim, stats: counters,
                          matchers: matchers.map { $0.record(store) }, windows: windows.map(\.state), idle: idle, released: released, suppressors: suppressors.states,
                          rules: program.rules.map(\.name) + program.windows.map(\.name))
        switch format {
        case .binary: return try SnapshotCoder.encode(state)
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return [UInt8](try encoder.encode(state))
        }
    }

    /// A detector for `program` in the state of `bytes` (from `snapshot()`). A shard
    /// (`shard`) is restored from its own snapshot, with the calls it had taken (`steps`:
    /// its outputs' tags go on from there).
    public init(program: Program, restoring bytes: [UInt8], references: [ReferenceTable] = [], partialMatchesPerKey: Int = 10_000,
                keysPerRule: Int = 1_000_000, shard: Shard = .whole, steps: Int64 = 0) throws {
        let state: State
        do {
            state = SnapshotCoder.isBinary(bytes) ? try SnapshotCoder.decode(State.self, from: bytes)
                : try JSONDecoder().decode(State.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw SnapshotError(description: "the snapshot cannot be read: \(Self.reason(error))")
        }
        guard state.rules == program.rules.map(\.name) + program.windows.map(\.name), state.windows.count == program.windows.count,
              state.watermarks.count == program.streams.count,
              state.pending.count == program.rules.count + program.windows.count else {
            throw SnapshotError(description: "the snapshot was taken with other rules")
        }
        self.init(program: program, references: references, partialMatchesPerKey: partialMatchesPerKey, keysPerRule: keysPerRule, shard: shard)
        step = steps
        maxTs = state.maxTs
        watermarks = state.watermarks
        for (r, events) in state.pending.enumerated() {
            for e in events { pending.push(slot: store.add(e), store: store.view, rules: CollectionOfOne(r)) }
        }
        lastReclaim = state.lastReclaim
        counters = state.stats
        idle = state.idle
        released = state.released
        suppressors.states = state.suppressors
        for i in matchers.indices { matchers[i].restore(state.matchers[i], store: store) }
        for i in windows.indices { windows[i].state = state.windows[i] }
    }

    /// What a decoding error says, without its type's name and wrapping.
    private static func reason(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let c), .keyNotFound(_, let c), .typeMismatch(_, let c), .valueNotFound(_, let c):
            return c.debugDescription
        @unknown default:
            return "\(error)"
        }
    }

    /// Zeroes the counters a run reports (events, alerts, rows, late, suppressed, flows,
    /// peaks) after a restore, so the next summary speaks of this run only; what is
    /// held now (open groups, partial matches) stays.
    public mutating func resetRunCounters() {
        var fresh = DetectorStats()
        fresh.partialMatches = counters.partialMatches
        fresh.openGroups = counters.openGroups
        fresh.flows = Array(repeating: FlowStats(), count: counters.flows.count)
        counters = fresh
    }
}
