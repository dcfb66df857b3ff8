import ArgumentParser
import Foundation
import VigilCompiler
import VigilConnectors
import VigilLanguage
import VigilRuntime

/// `vigil run`: the detector over bounded inputs (files or stdin).
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the rules over event streams and emit alerts.",
        discussion: """
            Each --input names a declared stream and a file: --input payments=events.jsonl. \
            Files ending in .csv are CSV with a header row; others are JSON Lines \
            (--input-format overrides). `-` reads stdin. Events are processed in event time \
            per key; windows and sessions close when the watermark passes their end; at the end \
            of the input every watermark moves to +infinity, which flushes absences, windows \
            and sessions.

            Alerts are JSON Lines (stdout unless --alerts). Lines that cannot be decoded go to \
            --dead-letter, events older than their stream's watermark to --late; both default \
            to stderr, so nothing is dropped silently. Windows, sessions and aggregates with \
            `select` or `into table` produce rows: --rows writes them as JSON Lines (an upsert \
            per closed group, a new version per late update, a delete for a session merged \
            into another); Delta tables come with the lakehouse. A summary goes to stderr.

            Exit codes: 0 success, 1 the rules have errors, 2 bad flags or unreadable inputs.
            """
    )

    @Argument(help: "Rule files or folders of *.vigil files.")
    var rules: [String]

    @Option(name: .customLong("input"), help: "STREAM=PATH: events of a declared stream (repeatable; PATH `-` is stdin). A bare PATH is JSON Lines whose events name their stream in a \"stream\" field.")
    var inputs: [String] = []

    @Option(help: "Force the input format: jsonl or csv (default: by file extension).")
    var inputFormat: EventSource.Format?

    @Option(help: "Write alerts to this file instead of stdout.")
    var alerts: String?

    @Option(help: "Write the rows of windows, sessions and aggregates here (JSON Lines).")
    var rows: String?

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
        for (name, reason) in compiled.notRun {
            stderr.write("note: `\(name)`: \(reason)\n")
        }
        let program = compiled.program

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

        let alertOut: LineWriter, deadOut: LineWriter, lateOut: LineWriter, rowOut: LineWriter?
        do {
            rowOut = try rows.map { try LineWriter(path: $0) }
            alertOut = try alerts.map { try LineWriter(path: $0) } ?? LineWriter(path: "-")
            deadOut = try deadLetter.map { try LineWriter(path: $0) } ?? LineWriter(fd: 2, name: "<stderr>")
            lateOut = try late.map { try LineWriter(path: $0) } ?? LineWriter(fd: 2, name: "<stderr>")
        } catch {
            stderr.write("error: cannot write \(error)\n")
            throw ExitCode(2)
        }

        var detector = Detector(program: program, partialMatchesPerKey: maxPartialMatches, keysPerRule: maxKeys)
        var deadLettered = 0
        let sourcePaths = sources.map { $0.path == "-" ? "<stdin>" : $0.path }
        var writer = JSONWriter()
        let progress = stderr.isTerminal
        var loggedPartialLimit = false, loggedKeyLimit = false
        // Limits are policies, never silent: the first time each bites, say so.
        func checkLimits() {
            let s = detector.stats
            if s.partialMatchesDroppedByLimit > 0 && !loggedPartialLimit {
                loggedPartialLimit = true
                stderr.write("warning: a key reached \(maxPartialMatches) partial matches; the oldest are dropped and counted (--max-partial-matches)\n")
            }
            if s.keysDroppedByLimit > 0 && !loggedKeyLimit {
                loggedKeyLimit = true
                stderr.write("warning: a rule reached \(maxKeys) keys; events of further keys are counted and not matched (--max-keys)\n")
            }
        }
        /// `raw`: the original line of the event just accepted (late outputs only come
        /// from accepting that event).
        func emit(_ outputs: [DetectorOutput], raw: UnsafeBufferPointer<UInt8>? = nil) {
            for o in outputs {
                switch o {
                case .alert(let a):
                    writer.bytes.removeAll(keepingCapacity: true)
                    a.write(to: &writer, streams: program.streams)
                    alertOut.writeLine(bytes: writer.bytes)
                case .row(let row):
                    guard let rowOut else { continue }
                    writer.bytes.removeAll(keepingCapacity: true)
                    row.write(to: &writer)
                    rowOut.writeLine(bytes: writer.bytes)
                case .late(let e, let watermark):
                    let schema = program.streams[Int(e.stream)]
                    let raw = raw.map { String(decoding: $0, as: UTF8.self) }
                        ?? JSON.object(zip(schema.fields, e.values).map { ($0.name, $1.json) })
                    lateOut.writeLine(DeadLetter(
                        stream: schema.name, source: sourcePaths[Int(e.origin.input)], line: e.origin.line,
                        reason: "late: event time \(e.ts) is before the watermark \(watermark)", raw: raw).json)
                }
            }
        }
        func handle(_ item: EventSource.Item, _ raw: UnsafeBufferPointer<UInt8>) {
            switch item {
            case .event(let e):
                emit(detector.accept(e), raw: raw)
                if detector.eventsAccepted & 0xFFFF == 0 {
                    checkLimits()
                    if progress {
                        stderr.write("\r\(detector.stats.events) events, \(detector.stats.alerts) alerts, \(detector.stats.late) late")
                    }
                }
            case .deadLetter(let d):
                deadLettered += 1
                deadOut.writeLine(d.json)
            }
        }
        // A stream no input feeds will never send an event: it must not hold back the
        // rules that also read other streams.
        let fed = Set(sources.compactMap(\.stream))
        if !sources.contains(where: { $0.stream == nil }) {
            for s in program.streams.indices where !fed.contains(s) { emit(detector.markIdle(stream: s)) }
        }
        // Files are replayed one after another (deterministic); live inputs (stdin,
        // pipes) are then followed together, with idle timeouts in processing time.
        let (replayed, live) = sources.reduce(into: ([EventSource](), [EventSource]())) { acc, s in
            if Self.isRegularFile(s.path) { acc.0.append(s) } else { acc.1.append(s) }
        }
        for source in replayed {
            do {
                try source.read(schemas: program.streams) { handle($0, $1) }
            } catch {
                alertOut.flush()
                stderr.write("error: cannot read input \(error)\n")
                throw ExitCode(2)
            }
        }
        if !live.isEmpty {
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
                        raw.withUnsafeBufferPointer { handle(item, $0) }
                    }
                case .quiet: break
                case .finished: break reading
                case .failed(let message):
                    alertOut.flush()
                    stderr.write("error: cannot read input \(message)\n")
                    throw ExitCode(2)
                }
                let later = Date()
                for (s, timeout) in timeouts where !quiet.contains(s) && later.timeIntervalSince(lastSeen[s]!) >= timeout {
                    quiet.insert(s)
                    emit(detector.markIdle(stream: s))
                }
                // Live: alerts go out as they happen.
                alertOut.flush()
                rowOut?.flush()
                deadOut.flush()
                lateOut.flush()
            }
        }
        emit(detector.finish())
        checkLimits()
        if progress { stderr.write("\r\u{1B}[K") }
        alertOut.flush()
        rowOut?.flush()
        deadOut.flush()
        lateOut.flush()
        let s = detector.stats
        // Suppression folds alerts; it never drops one without saying so.
        for (rule, n) in s.suppressed.sorted(by: { $0.key < $1.key }) {
            stderr.write("note: `\(rule)`: \(n) alert\(n == 1 ? "" : "s") suppressed; each emitted alert says how many it folded (\"suppressed\")\n")
        }
        if detector.suppressedUnreported > 0 {
            stderr.write("note: \(detector.suppressedUnreported) suppressed alert\(detector.suppressedUnreported == 1 ? " was" : "s were") not followed by another alert of the same rule and values before the input ended\n")
        }
        stderr.write("events: \(s.events), alerts: \(s.alerts)\(s.suppressed.isEmpty ? "" : " (\(s.suppressed.values.reduce(0, +)) suppressed)"), rows: \(s.rows)\(rowOut == nil && s.rows > 0 ? " (not written: no --rows)" : ""), "
                     + "late: \(s.late), \(s.lateAbsorbed > 0 ? "late updates: \(s.lateAbsorbed), " : "")dead-lettered: \(deadLettered), "
                     + "peak partial matches: \(s.peakPartialMatches)"
                     + (program.windows.isEmpty ? "" : ", peak open windows and sessions: \(s.peakOpenGroups)")
                     + (s.partialMatchesDroppedByLimit > 0 ? ", partial matches dropped by limit: \(s.partialMatchesDroppedByLimit)" : "")
                     + (s.keysDroppedByLimit > 0 ? ", events of keys over the limit: \(s.keysDroppedByLimit)" : "") + "\n")
    }
}

extension EventSource.Format: ExpressibleByArgument {}

extension Run {
    /// Regular files are replayed; anything else (stdin, a pipe, a FIFO) is followed live.
    static func isRegularFile(_ path: String) -> Bool {
        guard path != "-" else { return false }
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }
}
