import ArgumentParser
import Foundation
import VigilCompiler
import VigilConnectors
import VigilDispatch
import VigilLake
import VigilLanguage
import VigilRuntime

/// `vigil run`: the detector over bounded inputs (files or stdin).
struct Run: ParsableCommand {
    /// What a drained output's place holds until the array is emptied (nothing to count).
    static let configuration = CommandConfiguration(
        abstract: "Run the rules over event streams and emit alerts.",
        discussion: """
            Each --input names a declared stream and a file: --input payments=events.jsonl. \
            Files ending in .csv are CSV with a header row; others are JSON Lines \
            (--input-format overrides). `-` reads stdin. Events are processed in event time \
            per key; windows and sessions close when the watermark passes their end; at the end \
            of the input every watermark moves to +infinity, which flushes absences, windows \
            and sessions.

            Alerts go to stdout (one line per alert on a terminal, JSON Lines otherwise) or \
            --alerts FILE, and with --webhook URL also to a webhook; --config FILE routes them \
            to channels by rule, severity and tags (docs/alerts.md). Webhook alerts are spooled \
            to disk and retried until delivered; at the end of a bounded input vigil waits up \
            to --drain-timeout for the spool to empty.

            Windows, sessions and aggregates with `select` or `into table` produce rows (an \
            upsert per closed group, a new version per late update, a delete for a session \
            merged into another); flows produce a row per event they keep; --rows writes \
            them as JSON Lines. Declarations with `into table` also write Delta tables \
            under --lake (a pattern rule: a detections row per match; a flow's quarantined \
            rows go to <table>_quarantine; --bronze adds bronze.<stream>; docs/lakehouse.md).

            Lines that cannot be decoded go to --dead-letter, events older than their \
            stream's watermark to --late; both default to stderr, so nothing is dropped \
            silently. A summary goes to stderr.

            With tables and file inputs, a checkpoint in <lake>/_vigil records how far each \
            input was read after every commit: running the same command again continues \
            from there (a replay after a crash is exactly-once in the tables); --reset starts \
            over.

            Exit codes: 0 success, 1 the rules have errors, 2 bad flags or unreadable inputs, \
            3 alerts remain spooled after --drain-timeout (delivered on the next start), \
            4 a flow's `fail` expectation stopped the run (what came before is committed), \
            130/143 stopped by SIGINT/SIGTERM (undelivered alerts stay spooled).
            """
    )

    @Argument(help: "Rule files or folders of *.vigil files.")
    var rules: [String]

    @Option(name: .customLong("input"), help: "STREAM=PATH: events of a declared stream (repeatable; PATH `-` is stdin). A bare PATH is JSON Lines whose events name their stream in a \"stream\" field.")
    var inputs: [String] = []

    @Option(help: "Force the input format: jsonl or csv (default: by file extension).")
    var inputFormat: EventSource.Format?

    @Option(help: "Write alerts to this file instead of stdout (never rotated).")
    var alerts: String?

    @Option(help: "Also POST every alert to this webhook (JSON, Idempotency-Key: <alert id>; spooled and retried).")
    var webhook: String?

    @Option(help: "Alert dispatch configuration (YAML): channels, routes, default suppression. See docs/alerts.md.")
    var config: String?

    @Option(help: "Directory of the webhook spools (alerts not yet delivered survive restarts here).")
    var spool: String = ".vigil/spool"

    @Option(help: "Write alerts a webhook refused for good (4xx) here (JSON Lines; default stderr).")
    var alertsDeadLetter: String?

    @Option(help: "At the end of a bounded input, wait this long for webhooks to deliver what is spooled (e.g. 30s).")
    var drainTimeout: String = "30s"

    @Option(help: "Matched events in alerts: full, fields (time and key only) or none.")
    var matched: DispatchAlert.Matched?

    @Option(help: "Longest wait between webhook retries (e.g. 30s).")
    var retryMaxDelay: String = "30s"

    @Option(help: "Write the rows of windows, sessions and aggregates here (JSON Lines).")
    var rows: String?

    @Option(help: "Root of the lakehouse: `into table a.b` writes the Delta table <lake>/a/b.")
    var lake: String = "lake"

    @Option(help: "Names this detector in the tables' transactions (default: derived from the lake path and the rules).")
    var detectorId: String?

    @Option(help: "Commit the tables' rows every this many rows (and at the end of the input).")
    var commitRows: Int = 100_000

    @Option(help: "Also commit the tables whenever event time crosses a multiple of this duration (e.g. 5m).")
    var commitEvery: String?

    @Flag(help: "Append every ingested event as it was decoded, with its source and line, to the table bronze.<stream>.")
    var bronze = false

    @Option(help: "Compression of the tables' Parquet files: zstd, snappy or uncompressed.")
    var compression: ParquetCodec = .zstd

    @Flag(help: "Forget this detector's checkpoint in the lake and read the inputs from their start.")
    var reset = false

    @Flag(help: "Do not checkpoint (a rerun then reads the inputs from their start; tables still skip batches they hold).")
    var noCheckpoint = false

    @Option(help: "Write undecodable lines here (JSON Lines; default stderr).")
    var deadLetter: String?

    @Option(help: "Write late events here (JSON Lines; default stderr).")
    var late: String?

    @Option(help: "Partial matches kept per key and rule; past it the oldest are dropped and counted.")
    var maxPartialMatches: Int = 10_000

    @Option(help: "Keys kept per rule; events of further keys are counted and not matched.")
    var maxKeys: Int = 1_000_000

    @Option(help: "Color diagnostics: auto, always or never.")
    var color: ColorChoice = .auto

    @Option(help: "Match on N threads, keys sharded across them; the output is the same as on one thread (a live CSV input runs on one). A checkpoint resumes on the thread count that took it.")
    var threads: Int = 1

    mutating func run() throws {
        let stderr = FileHandleOutput.standardError
        guard !inputs.isEmpty else {
            stderr.write("error: no --input given; name a stream and a file, e.g. --input payments=samples/payments.jsonl\n")
            throw ExitCode(2)
        }
        let files: [SourceFile]
        do { files = try RuleFiles.load(rules) } catch {
            stderr.write("error: \(error.message)\n")
            throw ExitCode(2)
        }
        let result = Frontend.check(files)
        let renderer = DiagnosticRenderer(sources: result.sources, color: stderr.useColor(color))
        for d in result.diagnostics { stderr.write(renderer.render(d)) }
        guard let ruleSet = result.ruleSet else {
            stderr.write(Check.summary(result, files: files.count) + "\n")
            throw ExitCode(1)
        }
        let compiled = Compiler.compile(ruleSet)
        var program = compiled.program

        var sources: [EventSource] = []
        for (i, spec) in inputs.enumerated() {
            guard let eq = spec.firstIndex(of: "=") else {
                // One file carrying several streams, named per event.
                if inputFormat == .csv || (inputFormat == nil && EventSource.Format.guess(spec) == .csv) {
                    stderr.write("error: --input `\(spec)` needs STREAM=PATH: only JSON Lines events can name their stream\n")
                    throw ExitCode(2)
                }
                sources.append(EventSource(stream: nil, path: spec, format: .jsonl, inputIndex: Int32(i)))
                continue
            }
            let name = String(spec[..<eq]), path = String(spec[spec.index(after: eq)...])
            guard let stream = program.streamIndex(name) else {
                let known = program.streams.map { "`\($0.name)`" }.joined(separator: ", ")
                stderr.write("error: --input names unknown stream `\(name)`; the rules declare \(known)\n")
                throw ExitCode(2)
            }
            sources.append(EventSource(stream: stream, path: path, format: inputFormat ?? .guess(path), inputIndex: Int32(i)))
        }

        guard let drainMs = DispatchConfig.duration(drainTimeout), let retryCapMs = DispatchConfig.duration(retryMaxDelay) else {
            stderr.write("error: --drain-timeout and --retry-max-delay take durations such as 30s\n")
            throw ExitCode(2)
        }
        let deadOut: LineWriter, lateOut: LineWriter, rowOut: LineWriter?, alertDeadOut: LineWriter
        do {
            rowOut = try rows.map { try LineWriter(path: $0) }
            deadOut = try deadLetter.map { try LineWriter(path: $0) } ?? LineWriter(fd: 2, name: "<stderr>")
            lateOut = try late.map { try LineWriter(path: $0) } ?? LineWriter(fd: 2, name: "<stderr>")
            alertDeadOut = try alertsDeadLetter.map { try LineWriter(path: $0) } ?? LineWriter(fd: 2, name: "<stderr>")
        } catch {
            stderr.write("error: cannot write \(error)\n")
            throw ExitCode(2)
        }
        // Before any thread starts, so every thread inherits the handlers' mask.
        Signals.install()
        let outputs: AlertOutputs
        do {
            outputs = try AlertOutputs.make(configPath: config, alerts: alerts, webhook: webhook, spool: spool,
                                            retryCapMs: retryCapMs, deadLetter: alertDeadOut)
        } catch {
            stderr.write("error: \(error.message)\n")
            throw ExitCode(2)
        }
        let dispatcher = outputs.dispatcher
        // Delta tables: every `into table` output, and bronze tables with --bronze.
        let appId = detectorId ?? Self.detectorID(lake: lake, rules: files)
        let commitEveryMs = commitEvery.flatMap(DispatchConfig.duration)
        if commitEvery != nil && commitEveryMs == nil {
            stderr.write("error: --commit-every takes a duration such as 5m\n")
            throw ExitCode(2)
        }
        let lakeOut: LakeOutputs
        do {
            lakeOut = try LakeOutputs(program: program, lake: lake, appId: appId, batchRows: commitRows, intervalMs: commitEveryMs,
                                      bronze: bronze, codec: compression)
        } catch {
            stderr.write("error: \(error.message)\n")
            throw ExitCode(2)
        }
        var references: [ReferenceTable] = []
        for spec in program.references {
            do { references.append(try ReferenceLoader.load(spec)) } catch {
                stderr.write("error: \(error.description)\n")
                throw ExitCode(2)
            }
        }
        let matchedMode = matched ?? outputs.config?.matched ?? .full
        // A default suppression from the configuration, for rules without their own.
        let suppressMs = outputs.config?.suppressMs
        func configure(_ program: inout Program) {
            guard let ms = suppressMs else { return }
            for i in program.rules.indices where program.rules[i].hasAlert && program.rules[i].suppress == nil {
                program.rules[i].suppress = Suppression(periodMs: ms, by: [])
            }
            for i in program.windows.indices where program.windows[i].hasAlert && program.windows[i].suppress == nil {
                program.windows[i].suppress = Suppression(periodMs: ms, by: [])
            }
        }
        configure(&program)

        var detector = Detector(program: program, references: references, partialMatchesPerKey: maxPartialMatches, keysPerRule: maxKeys)
        guard (1...Self.maxThreads).contains(threads) else {
            stderr.write("error: --threads takes a number of threads from 1 to \(Self.maxThreads), not \(threads)\n")
            throw ExitCode(2)
        }
        // A checkpoint makes the tables exactly-once across runs; it needs inputs that can
        // be read again (files).
        let checkpointPath = Checkpoint.path(lake: lake, detectorId: appId)
        let checkpointing = !noCheckpoint && !lakeOut.isEmpty && sources.allSatisfy { Self.isRegularFile($0.path) }
        var skipLines = [Int64](repeating: 0, count: sources.count)
        var resumed: Checkpoint?
        var shardsResumed: ShardedDetector.Snapshot?
        if checkpointing && reset { try? FileManager.default.removeItem(atPath: checkpointPath) }
        if checkpointing, !reset {
            do {
                if let c = try Checkpoint.load(from: checkpointPath) {
                    if c.matches(sources, specs: inputs) {
                        if c.threads != nil {
                            guard let s = c.shards else { throw Checkpoint.Damaged(description: "its shards' parts do not add up") }
                            shardsResumed = s
                        } else {
                            detector = try Detector(program: program, restoring: c.snapshot, references: references,
                                                    partialMatchesPerKey: maxPartialMatches, keysPerRule: maxKeys)
                            detector.resetRunCounters()
                        }
                        skipLines = c.inputs.map(\.lines)
                        lakeOut.resume(after: c.batch)
                        resumed = c
                        stderr.write("note: resuming from the checkpoint after batch \(c.batch): "
                                     + zip(inputs, skipLines).map { "\($0) from line \($1 + 1)" }.joined(separator: ", ") + " (--reset starts over)\n")
                    } else {
                        stderr.write("note: the checkpoint \(checkpointPath) was taken over other inputs; reading these from their start\n")
                    }
                }
            } catch {
                stderr.write("error: cannot resume from the checkpoint \(checkpointPath): \(error) (--reset starts over)\n")
                throw ExitCode(2)
            }
        }
        // Live inputs are sharded too: an idle timeout is a command in the shards' input
        // like an event, and what the shards were handed is settled before the run loop
        // waits for more. A checkpoint resumes with the thread count that took it: each
        // shard restores its own keys' state.
        var sharded: ShardedDetector?
        var shardCount = threads
        if let c = resumed, (c.threads ?? 1) != threads {
            shardCount = c.threads ?? 1
            stderr.write("note: the checkpoint was taken on \(shardCount) thread\(shardCount == 1 ? "" : "s"); resuming on \(shardCount) (--reset starts over)\n")
        }
        if shardCount > 1 {
            if sources.contains(where: { !Self.isRegularFile($0.path) && $0.format == .csv }) {
                // A live input arrives decoded, and its CSV header is not among its lines.
                stderr.write("note: --threads \(shardCount) does not apply to a live CSV input; running on one thread\n")
            } else {
                do {
                    // Each shard its own program, compiled again: nothing a shard counts
                    // references to per event is shared with another thread (shared
                    // counts made every retain a cache miss).
                    let programs = (0..<shardCount).map { _ in
                        var p = Compiler.compile(ruleSet).program
                        configure(&p)
                        return p
                    }
                    sharded = try ShardedDetector(program: program, shards: programs, references: references,
                                                  partialMatchesPerKey: maxPartialMatches, keysPerRule: maxKeys,
                                                  sources: sources, keepsEvents: bronze, writesMatched: matchedMode == .full,
                                                  restoring: shardsResumed)
                } catch {
                    stderr.write("error: cannot resume from the checkpoint \(checkpointPath): \(error) (--reset starts over)\n")
                    throw ExitCode(2)
                }
            }
        }
        let sourcePaths = sources.map { $0.path == "-" ? "<stdin>" : $0.path }
        let path = EventPath(detector: consume detector, skipLines: skipLines, dispatcher: dispatcher, streams: program.streams,
                             matchedMode: matchedMode, checkpointing: checkpointing, bronze: bronze, lakeOut: lakeOut,
                             sourcePaths: sourcePaths)
        defer { path.close() }
        sharded?.position = { path.linesRead }
        let writesTables = !lakeOut.isEmpty
        var checkpointSaved = resumed != nil
        // The options the closures the path keeps read, as locals: those closures may
        // not capture `self`, a mutating method's.
        let inputSpecs = inputs, partialMatchLimit = maxPartialMatches, keyLimit = maxKeys
        /// Commits the batch, then records how far the inputs were read with it: with the
        /// detector's state, or (sharded) the shards' snapshot taken where the batch ends.
        /// `checkpoint` false: the batch only (sharded, no snapshot is where it ends).
        func commitBatch(finished: Bool = false, snapshot: [UInt8]? = nil, checkpoint: Bool = true) {
            guard lakeOut.commit(), checkpointing, checkpoint else { return }
            if let sharded {
                saveCheckpoint(sharded.taken, finished: finished)
                return
            }
            do {
                try Checkpoint(detectorId: appId, batch: lakeOut.batch, inputs: Checkpoint.inputs(sources, specs: inputSpecs, linesRead: path.linesRead),
                               finished: finished, snapshot: try snapshot ?? path.detector.snapshot())
                    .save(to: checkpointPath)
            } catch {
                stderr.write("warning: cannot write the checkpoint \(checkpointPath): \(error)\n")
            }
        }
        /// Records the shards' state `s` as the checkpoint of the last batch committed.
        func saveCheckpoint(_ s: ShardedDetector.Snapshot?, finished: Bool = false) {
            do {
                guard let s else { throw Checkpoint.Damaged(description: "a shard could not snapshot its state") }
                var c = Checkpoint(detectorId: appId, batch: lakeOut.batch, inputs: Checkpoint.inputs(sources, specs: inputSpecs, linesRead: s.lines),
                                   finished: finished)
                c.hold(s)
                try c.save(to: checkpointPath)
                checkpointSaved = true
            } catch {
                stderr.write("warning: cannot write the checkpoint \(checkpointPath): \(error)\n")
            }
        }
        // Sharded, a flow's `fail` is merged after the shards went past it: no snapshot
        // stands there. The batch before it is committed without a checkpoint, so that a
        // rerun commits it again as the same version; for that a checkpoint must exist,
        // and before any has, it is the state this run started from.
        let startState = checkpointing && resumed == nil ? sharded?.snapshotNow() : nil
        var deadLettered = 0
        var writer = JSONWriter()
        let progress = stderr.isTerminal
        var loggedPartialLimit = false, loggedKeyLimit = false
        // Limits are policies, never silent: the first time each bites, say so.
        func stats() -> DetectorStats { sharded?.stats ?? path.detector.stats }
        func checkLimits() {
            let s = stats()
            if s.partialMatchesDroppedByLimit > 0 && !loggedPartialLimit {
                loggedPartialLimit = true
                stderr.write("warning: a key reached \(partialMatchLimit) partial matches; the oldest are dropped and counted (--max-partial-matches)\n")
            }
            if s.keysDroppedByLimit > 0 && !loggedKeyLimit {
                loggedKeyLimit = true
                stderr.write("warning: a rule reached \(keyLimit) keys; events of further keys are counted and not matched (--max-keys)\n")
            }
        }
        /// `raw`: the original line of the event just accepted (late outputs only come
        /// from accepting that event).
        func emit(_ outputs: consuming [DetectorOutput], raw: UnsafeBufferPointer<UInt8>? = nil) {
            path.drain(&outputs, raw: raw)
        }
        func emitOne(_ o: consuming DetectorOutput, raw: UnsafeBufferPointer<UInt8>?) { path.send(o, raw: raw) }
        path.other = { o, raw in
            switch consume o {
            case .alert(let a):
                dispatcher.send(lent: a, streams: program.streams, matched: matchedMode)
            case .row(let row):
                lakeOut.add(row)
                guard let rowOut else { return }
                writer.removeAll()
                row.write(to: &writer)
                writer.withBytes { rowOut.writeLine(bytes: $0) }
            case .late(let e, let watermark):
                let schema = program.streams[Int(e.stream)]
                let raw = raw.map { String(decoding: $0, as: UTF8.self) }
                    ?? JSON.object(zip(schema.fields, e.values).map { ($0.name, $1.json) })
                lateOut.writeLine(DeadLetter(
                    stream: schema.name, source: sourcePaths[Int(e.origin.input)], line: e.origin.line,
                    reason: "late: event time \(e.ts) is before the watermark \(watermark)", raw: raw).json)
            case .stopped(let failure):
                path.stopped = failure
            case .movedOut:
                break
            }
        }
        // Sharded: bronze rows, outputs and commits come back from the merge in input order.
        func beforeShard(_ e: Event) { if bronze { lakeOut.addBronze(e, source: sourcePaths[Int(e.origin.input)]) } }
        func afterShard(_ ts: Int64) {
            guard writesTables && lakeOut.due(at: ts) else { return }
            // Checkpointed, the batch ends where every shard snapshots (a fixed number of
            // steps on: the shards are ahead of what is handed on).
            if checkpointing { sharded!.requestSnapshot() } else { commitBatch() }
        }
        func snapshotTaken() { commitBatch() }
        func writeDeadLetter(_ d: DeadLetter) {
            deadLettered += 1
            deadOut.writeLine(d.json)
        }
        func handle(_ item: consuming EventSource.Item, _ raw: UnsafeBufferPointer<UInt8>, input: Int? = nil) throws {
            switch consume item {
            case .event(var e): try handle(event: &e, raw, input: input)
            case .deadLetter(let d): try handle(deadLetter: d, input: input)
            }
        }
        func skip(line: Int64, input: Int?) throws -> Bool { try path.skip(line: line, input: input) }
        func handle(event e: inout Event, _ raw: UnsafeBufferPointer<UInt8>, input: Int? = nil) throws {
            try path.handle(event: &e, raw, input: input)
        }
        path.commit = { commitBatch() }
        path.report = { report() }
        func report() {
            checkLimits()
            if progress {
                let s = stats()
                stderr.write("\r\(s.events) events, \(s.alerts) alerts, \(s.late) late")
            }
        }
        /// Sharded: hands a line to the shards (they decode it).
        func handle(line: LineReader.Line, input: Int, decoder: LineDecoder, _ sharded: ShardedDetector) throws {
            switch line {
            case .oversized(let prefix, let number):
                if try skip(line: number, input: input) { return }
                sharded.accept(deadLetter: decoder.oversized(prefix: prefix, number: number), before: beforeShard, output: emitOne,
                               after: afterShard, deadLetter: writeDeadLetter, snapshotTaken: snapshotTaken)
            case .text(let bytes, let number):
                if LineDecoder.isBlank(bytes) { return }
                if try skip(line: number, input: input) { return }
                sharded.accept(line: bytes, number: number, input: Int32(input), before: beforeShard, output: emitOne,
                               after: afterShard, deadLetter: writeDeadLetter, snapshotTaken: snapshotTaken)
            }
            if path.stopped != nil { throw Signals.Stop() }
            if sharded.linesAdded & 0xFFFF == 0 { report() }
        }
        /// Sharded: hands an item of a live input to the shards, as its line (they decode
        /// it again: the feed decoded it to learn its stream, for idle timeouts).
        func handle(live item: EventSource.Item, _ raw: [UInt8], _ sharded: ShardedDetector) throws {
            if Signals.received != 0 || path.stopped != nil { throw Signals.Stop() }
            switch item {
            case .event(let e):
                raw.withUnsafeBufferPointer {
                    sharded.accept(line: $0, number: e.origin.line, input: e.origin.input, before: beforeShard, output: emitOne,
                                   after: afterShard, deadLetter: writeDeadLetter, snapshotTaken: snapshotTaken)
                }
            case .deadLetter(let d):
                sharded.accept(deadLetter: d, before: beforeShard, output: emitOne, after: afterShard, deadLetter: writeDeadLetter,
                               snapshotTaken: snapshotTaken)
            }
            if path.stopped != nil { throw Signals.Stop() }
        }
        func handle(deadLetter d: DeadLetter, input: Int? = nil) throws {
            if try skip(line: d.line, input: input) { return }
            writeDeadLetter(d)
        }
        // A stream no input feeds will never send an event: it must not hold back the
        // rules that also read other streams.
        let fed = Set(sources.compactMap(\.stream))
        if !sources.contains(where: { $0.stream == nil }) {
            for s in program.streams.indices where !fed.contains(s) {
                if let sharded {
                    // Shards resumed hold these already; marking them again would shift
                    // every later step, and with them where the next commits fall.
                    if shardsResumed == nil { sharded.markIdle(stream: s) }
                } else {
                    emit(path.detector.markIdle(stream: s))
                }
            }
        }
        // Files are replayed one after another (deterministic); live inputs (stdin,
        // pipes) are then followed together, with idle timeouts in processing time.
        let (replayed, live) = sources.reduce(into: ([EventSource](), [EventSource]())) { acc, s in
            if Self.isRegularFile(s.path) { acc.0.append(s) } else { acc.1.append(s) }
        }
        replay: for source in replayed {
            do {
                let input = Int(source.inputIndex)
                if let sharded {
                    let decoder = LineDecoder(source, schemas: program.streams)
                    try LineReader(path: source.path).forEachLine { try handle(line: $0, input: input, decoder: decoder, sharded) }
                    continue
                }
                try source.read(schemas: program.streams, events: { try path.handle(event: &$0, $1, canonical: $2, input: input) },
                                deadLetters: { d, _ in try handle(deadLetter: d, input: input) })
            } catch is Signals.Stop {
                break replay
            } catch {
                dispatcher.flush()
                stderr.write("error: cannot read input \(error)\n")
                throw ExitCode(2)
            }
        }
        if !live.isEmpty && Signals.received == 0 {
            let feed = LiveFeed(sources: live, schemas: program.streams)
            let liveStreams = Set(live.compactMap(\.stream))
            let timeouts = program.streams.indices.compactMap { s -> (Int, Double)? in
                guard let ms = program.streams[s].idleTimeoutMs, liveStreams.contains(s) || live.contains(where: { $0.stream == nil }) else { return nil }
                return (s, Double(ms) / 1000)
            }
            var lastSeen = [Int: Date]()
            var quiet = Set<Int>()
            for (s, _) in timeouts { lastSeen[s] = Date() }
            reading: while true {
                let now = Date()
                let wait = timeouts.filter { !quiet.contains($0.0) }.map { $0.1 - now.timeIntervalSince(lastSeen[$0.0]!) }.min()
                switch feed.next(timeout: wait.map { max(0.001, $0) }) {
                case .items(let batch):
                    for (_, item, raw) in batch {
                        if case .event(let e) = item {
                            lastSeen[Int(e.stream)] = Date()
                            quiet.remove(Int(e.stream))
                        }
                        do {
                            if let sharded {
                                try handle(live: item, raw, sharded)
                            } else {
                                try raw.withUnsafeBufferPointer { try handle(item, $0) }
                            }
                        } catch { break reading }
                    }
                case .quiet: break
                case .finished: break reading
                case .failed(let message):
                    dispatcher.flush()
                    stderr.write("error: cannot read input \(message)\n")
                    throw ExitCode(2)
                }
                let later = Date()
                for (s, timeout) in timeouts where !quiet.contains(s) && later.timeIntervalSince(lastSeen[s]!) >= timeout {
                    quiet.insert(s)
                    if let sharded { sharded.markIdle(stream: s) } else { emit(path.detector.markIdle(stream: s)) }
                }
                // Sharded, what the shards were handed goes through them now, not when a
                // batch fills: alerts must not wait for later events.
                sharded?.settle(before: beforeShard, output: emitOne, after: afterShard, deadLetter: writeDeadLetter, snapshotTaken: snapshotTaken)
                if Signals.received != 0 || path.stopped != nil { break reading }
                // Live: alerts go out as they happen.
                dispatcher.flush()
                rowOut?.flush()
                deadOut.flush()
                lateOut.flush()
            }
        }
        // A signal or a failed expectation stops reading: what is not due yet (open
        // windows, absences) is not flushed, since the input did not end. A resumed run
        // that read nothing new already committed its flush.
        if let sharded {
            if resumed?.finished == true {
                // Whether it read any event: lines may all have been dead letters.
                sharded.settle(before: beforeShard, output: emitOne, after: afterShard, deadLetter: writeDeadLetter, snapshotTaken: snapshotTaken)
                path.newEvents = sharded.eventsMerged
            }
            let flushes = Signals.received == 0 && path.stopped == nil && !(resumed?.finished == true && path.newEvents == 0)
            if flushes {
                sharded.finish(snapshot: checkpointing, before: beforeShard, output: emitOne, after: afterShard, deadLetter: writeDeadLetter, snapshotTaken: snapshotTaken)
            } else {
                sharded.stop(snapshot: checkpointing && Signals.received != 0 && path.stopped == nil,
                             before: beforeShard, output: emitOne, after: afterShard, deadLetter: writeDeadLetter, snapshotTaken: snapshotTaken)
            }
            if path.stopped != nil {
                // A flow's `fail`, merged on the way or only now (see `startState`).
                if checkpointing && !checkpointSaved { saveCheckpoint(startState) }
                commitBatch(checkpoint: false)
            } else if flushes {
                commitBatch(finished: true)
            } else if Signals.received != 0 {
                commitBatch()
            }
        } else if Signals.received != 0 || path.stopped != nil {
            commitBatch()
        } else if !(resumed?.finished == true && path.newEvents == 0) {
            let before = checkpointing ? try? path.detector.snapshot() : nil
            emit(path.detector.finish())
            commitBatch(finished: true, snapshot: before)
        }
        checkLimits()
        if progress { stderr.write("\r\u{1B}[K") }
        dispatcher.flush()
        rowOut?.flush()
        deadOut.flush()
        lateOut.flush()
        let s = stats()
        let unreported = sharded?.suppressedUnreported ?? path.detector.suppressedUnreported
        // The process ends after this: the detector's state is left to the exit rather
        // than freed object by object (as clang's -disable-free). Freed, its partial
        // matches, buffers and tables took some 18 million instructions after Q3's
        // 200,000 events, 2% of the run, for memory the exit returns anyway.
        _ = Unmanaged.passRetained(path)
        for line in lakeOut.summary(s, program: program) { stderr.write(line + "\n") }
        if let error = lakeOut.error {
            stderr.write("error: \(error)\n")
            try finishDispatch(outputs, drainMs: drainMs, stderr: stderr)
            throw ExitCode(2)
        }
        // Suppression folds alerts; it never drops one without saying so.
        for (rule, n) in s.suppressed.sorted(by: { $0.key < $1.key }) {
            stderr.write("note: `\(rule)`: \(n) alert\(n == 1 ? "" : "s") suppressed; each emitted alert says how many it folded (\"suppressed\")\n")
        }
        if unreported > 0 {
            stderr.write("note: \(unreported) suppressed alert\(unreported == 1 ? " was" : "s were") not followed by another alert of the same rule and values before the input ended\n")
        }
        stderr.write("events: \(s.events), alerts: \(s.alerts)\(s.suppressed.isEmpty ? "" : " (\(s.suppressed.values.reduce(0, +)) suppressed)"), rows: \(s.rows)\(rowOut == nil && s.rows > 0 && lakeOut.isEmpty ? " (not written: no --rows)" : ""), "
                     + "late: \(s.late), \(s.lateAbsorbed > 0 ? "late updates: \(s.lateAbsorbed), " : "")dead-lettered: \(deadLettered), "
                     + "peak partial matches: \(s.peakPartialMatches)"
                     + (program.windows.isEmpty ? "" : ", peak open windows and sessions: \(s.peakOpenGroups)")
                     + (s.partialMatchesDroppedByLimit > 0 ? ", partial matches dropped by limit: \(s.partialMatchesDroppedByLimit)" : "")
                     + (s.keysDroppedByLimit > 0 ? ", events of keys over the limit: \(s.keysDroppedByLimit)" : "") + "\n")
        if let stopped = path.stopped {
            let e = stopped.event
            stderr.write("error: \(stopped.description)\n  --> \(sourcePaths[Int(e.origin.input)]):\(e.origin.line)\n"
                         + "  = note: the run stopped at this event; what came before it is committed\n")
            try finishDispatch(outputs, drainMs: drainMs, stderr: stderr)
            throw ExitCode(4)
        }
        try finishDispatch(outputs, drainMs: drainMs, stderr: stderr)
    }

    /// Waits for webhooks to deliver what is spooled, says what happened per channel,
    /// and exits 3 when alerts remain spooled for the next start.
    func finishDispatch(_ outputs: AlertOutputs, drainMs: Int64, stderr: FileHandleOutput) throws {
        let drained = outputs.dispatcher.drain(timeout: Double(drainMs) / 1000) { Signals.received != 0 }
        outputs.dispatcher.close()
        for w in outputs.webhooks {
            stderr.write("webhook `\(w.name)`: \(w.delivered) delivered, \(w.retries) retries, \(w.deadLettered) refused (dead-lettered)"
                         + (w.pending > 0 ? ", alerts still spooled in \(spool) for the next start" : "") + "\n")
        }
        if Signals.received != 0 { throw ExitCode(128 + Signals.received) }
        if !drained {
            stderr.write("error: alerts remain spooled after --drain-timeout \(drainTimeout); they are delivered on the next start\n")
            throw ExitCode(3)
        }
    }
}

extension EventSource.Format: ExpressibleByArgument {}
extension ParquetCodec: ExpressibleByArgument {}

extension Run {
    /// Every shard sees every event: past a few dozen, more shards only add work.
    static let maxThreads = 64

    /// The default detector id: the lake path and the rule files' contents, hashed, so a
    /// detector keeps its id across runs and another rule set gets another.
    static func detectorID(lake: String, rules: [SourceFile]) -> String {
        var h = FNV1a()
        h.add((lake as NSString).standardizingPath)
        for f in rules.sorted(by: { $0.path < $1.path }) { h.add(f.bytes) }
        return "vigil-\(h.hex)"
    }

    /// Regular files are replayed; anything else (stdin, a pipe, a FIFO) is followed live.
    static func isRegularFile(_ path: String) -> Bool {
        guard path != "-" else { return false }
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }
}
