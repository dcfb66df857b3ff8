import VigilConnectors
import VigilDispatch
import VigilRuntime

/// What `vigil run` does with each decoded event on one thread: skip it if a checkpoint
/// already holds it, hand it to the detector, send what it caused. Its state lives here,
/// in one object, rather than in locals of `Run.run` that the per-event closure captured:
/// that closure was handed some 30 captured values per call (55 instructions before it
/// did anything). Now it captures this object and the input's number.
///
/// The rarer steps (outputs other than alerts, commits, progress) are `Run.run`'s, given
/// as closures after the path is made; `Run.run` drops them when it is done (they capture
/// the path).
final class EventPath {
    var detector: Detector
    /// Per input: the last line read (for the checkpoint).
    var linesRead: [Int64]
    /// Per input: lines a resumed checkpoint already holds.
    let skipLines: [Int64]
    /// A flow's `fail` stopped the run.
    var stopped: FlowFailure?
    /// Events handed to the detector by this run.
    var newEvents = 0
    private var caused: [DetectorOutput] = []
    private let dispatcher: Dispatcher
    private let streams: [StreamSchema]
    private let matchedMode: DispatchAlert.Matched
    private let checkpointing: Bool
    private let bronze: Bool
    private let writesTables: Bool
    private let lakeOut: LakeOutputs
    private let sourcePaths: [String]
    /// Sends an output that is not an alert (`raw`: the line of the event that caused it).
    var other: (consuming DetectorOutput, UnsafeBufferPointer<UInt8>?) -> Void = { _, _ in }
    /// Commits the tables' batch when it is due.
    var commit: () -> Void = {}
    /// Says how far the run is (and warns when a limit first bites).
    var report: () -> Void = {}

    init(detector: Detector, skipLines: [Int64], dispatcher: Dispatcher, streams: [StreamSchema], matchedMode: DispatchAlert.Matched,
         checkpointing: Bool, bronze: Bool, lakeOut: LakeOutputs, sourcePaths: [String]) {
        self.detector = detector
        self.skipLines = skipLines
        linesRead = skipLines
        self.dispatcher = dispatcher
        self.streams = streams
        self.matchedMode = matchedMode
        self.checkpointing = checkpointing
        self.bronze = bronze
        writesTables = !lakeOut.isEmpty
        self.lakeOut = lakeOut
        self.sourcePaths = sourcePaths
    }

    /// Drops the closures `Run.run` gave, which hold this path.
    func close() {
        other = { _, _ in }
        commit = {}
        report = {}
    }

    /// Whether the line was read before the checkpoint (and so is skipped); notes it read.
    func skip(line: Int64, input: Int?) throws -> Bool {
        if Signals.received != 0 || stopped != nil { throw Signals.Stop() }
        if checkpointing, let input {
            if line <= skipLines[input] { return true }
            linesRead[input] = line
        }
        return false
    }

    /// Hands `e` to the detector and sends what it caused. `e`'s values move into the
    /// detector; it is left with storage to decode into.
    /// `canonical`: `raw` is byte for byte the event as an alert line writes it.
    func handle(event e: inout Event, _ raw: UnsafeBufferPointer<UInt8>, canonical: Bool = false, input: Int? = nil) throws {
        if try skip(line: e.origin.line, input: input) { return }
        newEvents += 1
        if bronze { lakeOut.addBronze(e, source: sourcePaths[Int(e.origin.input)]) }
        // Kept only for alert lines that carry their events whole.
        detector.accept(taking: &e, into: &caused, line: canonical && matchedMode == .full ? raw : nil)
        drain(&caused, raw: raw)
        if stopped != nil || (writesTables && lakeOut.due(at: e.ts)) || detector.eventsAccepted & 0xFFFF == 0 {
            try afterEvent(line: e.origin.line, ts: e.ts, input: input)
        }
    }

    // `handle(event:)`'s rarer steps, not inlined into it (committing and
    // checkpointing are most of its code): its common path stays short.
    @inline(never) private func afterEvent(line: Int64, ts: Int64, input: Int?) throws {
        if stopped != nil {
            // The failing event was not taken: the checkpoint stops before it.
            if checkpointing, let input { linesRead[input] = line - 1 }
            throw Signals.Stop()
        }
        if writesTables && lakeOut.due(at: ts) { commit() }
        if detector.eventsAccepted & 0xFFFF == 0 { report() }
    }

    /// Sends `outputs` in order, moving each out and leaving a placeholder (iterating
    /// copied every alert's fields, a reference count each, and emptying the array
    /// released them again; reversing it to pop from the end copied each twice).
    /// `raw`: the original line of the event just accepted (late outputs only come from
    /// accepting that event).
    func drain(_ outputs: inout [DetectorOutput], raw: UnsafeBufferPointer<UInt8>?) {
        if outputs.isEmpty { return }
        outputs.withUnsafeMutableBufferPointer { buffer in
            for p in buffer.baseAddress!..<buffer.baseAddress! + buffer.count {
                let o = p.move()
                p.initialize(to: DetectorOutput.movedOut)
                send(consume o, raw: raw)
            }
        }
        outputs.clearKeepingCapacity()
    }

    /// Sends one output: an alert to the dispatcher, anything else through `other`.
    func send(_ o: consuming DetectorOutput, raw: UnsafeBufferPointer<UInt8>?) {
        if case .alert(let a) = o {
            dispatcher.send(lent: a, streams: streams, matched: matchedMode)
        } else {
            sendOther(o, raw: raw)
        }
    }

    // Apart from alerts, not inlined: the common path stays short (fewer instruction
    // cache lines).
    @inline(never) private func sendOther(_ o: consuming DetectorOutput, raw: UnsafeBufferPointer<UInt8>?) {
        if case .stopped(let failure) = o {
            stopped = failure
            return
        }
        other(o, raw)
    }
}
