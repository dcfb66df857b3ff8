import Foundation
import VigilConnectors
import VigilRuntime

/// What makes a replay exactly-once: after each micro-batch is committed to the
/// tables, the detector's state, how far it read each input, and the batch version are
/// saved together. A run that starts from it skips the lines already read and numbers
/// its batches on from there, so the batches a crashed run committed before its last
/// checkpoint are not produced again, and those it committed after it are produced
/// again with the same versions and skipped by the tables.
struct Checkpoint: Codable {
    struct Input: Codable, Equatable {
        /// The `--input` argument as given.
        var spec: String
        /// Lines read (handed to the detector) so far.
        var lines: Int64
        /// FNV-1a of the file's first `fingerprintBytes` bytes (4 KiB, or the whole file
        /// when it was shorter): a file replaced by another is not resumed, one that grew is.
        var fingerprint: String
        var fingerprintBytes: Int
    }
    var detectorId: String
    var batch: Int64
    var inputs: [Input]
    /// The input had ended and the end-of-input flush was committed; `snapshot` is the
    /// state before the flush, for a later run over longer inputs.
    var finished: Bool
    /// `Detector.snapshot()` (not encoded in the header line); for a sharded run, the
    /// merge's state and then each shard's, one after another (`parts`).
    var snapshot: [UInt8] = []
    /// A sharded run's (`--threads`): its thread count, the commands its detectors had
    /// taken, and the byte counts of the parts of `snapshot`. Nil on one thread.
    var threads: Int?
    var steps: Int64?
    var parts: [Int]?

    enum CodingKeys: String, CodingKey {
        case detectorId, batch, inputs, finished, threads, steps, parts
    }

    /// A checkpoint that cannot be taken or resumed, and why.
    struct Damaged: Error, CustomStringConvertible {
        var description: String
    }

    /// The shards' state, for a checkpoint a sharded run took (nil: none, or its parts do
    /// not add up).
    var shards: ShardedDetector.Snapshot? {
        guard let threads, let steps, let parts, parts.count == threads + 1, parts.allSatisfy({ $0 >= 0 }),
              parts.reduce(0, +) == snapshot.count else { return nil }
        var pieces: [[UInt8]] = []
        var at = 0
        for n in parts {
            pieces.append(Array(snapshot[at..<(at + n)]))
            at += n
        }
        return ShardedDetector.Snapshot(steps: steps, merger: pieces[0], shards: Array(pieces.dropFirst()), lines: inputs.map(\.lines))
    }

    /// Holds a sharded run's state.
    mutating func hold(_ s: ShardedDetector.Snapshot) {
        threads = s.shards.count
        steps = s.steps
        parts = [s.merger.count] + s.shards.map(\.count)
        snapshot = s.merger + s.shards.flatMap { $0 }
    }

    /// Whether this checkpoint was taken over these inputs: the same `--input`
    /// arguments, each file still starting with the bytes it started with.
    func matches(_ sources: [EventSource], specs: [String]) -> Bool {
        inputs.count == sources.count && zip(inputs, sources).allSatisfy { saved, source in
            saved.spec == specs[Int(source.inputIndex)]
                && Self.fingerprint(source.path, bytes: saved.fingerprintBytes) == (saved.fingerprint, saved.fingerprintBytes)
        }
    }

    /// Where each input stands now, for the next checkpoint.
    static func inputs(_ sources: [EventSource], specs: [String], linesRead: [Int64]) -> [Input] {
        zip(sources, linesRead).map { source, lines in
            let (hash, bytes) = fingerprint(source.path)
            return Input(spec: specs[Int(source.inputIndex)], lines: lines, fingerprint: hash, fingerprintBytes: bytes)
        }
    }

    static func path(lake: String, detectorId: String) -> String {
        (lake as NSString).appendingPathComponent("_vigil/\(detectorId).checkpoint")
    }

    static func fingerprint(_ path: String, bytes: Int = 4096) -> (hash: String, bytes: Int) {
        guard let h = FileHandle(forReadingAtPath: path) else { return ("", 0) }
        defer { try? h.close() }
        let data = [UInt8](h.readData(ofLength: bytes))
        var f = FNV1a()
        f.add(data)
        return (f.hex, data.count)
    }

    /// One JSON header line, then the snapshot's bytes; written beside and renamed
    /// over the old one, so a crash leaves the old or the new checkpoint, never half.
    func save(to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var bytes = [UInt8](try JSONEncoder().encode(self))
        bytes.append(10)
        bytes += snapshot
        let tmp = path + ".tmp"
        try Data(bytes).write(to: URL(fileURLWithPath: tmp))
        guard rename(tmp, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    static func load(from path: String) throws -> Checkpoint? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard let nl = data.firstIndex(of: 10) else { throw CocoaError(.fileReadCorruptFile) }
        var c = try JSONDecoder().decode(Checkpoint.self, from: Data(data[..<nl]))
        c.snapshot = Array(data[(nl + 1)...])
        return c
    }
}
