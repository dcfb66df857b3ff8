import Foundation
import VigilCompiler
import VigilLanguage
import VigilRuntime

/// Runs small patterns over small event lists written as `a1@0` (type `a`, id `a1`,
/// event time 0 ms), the notation of DESIGN.md's worked examples.
enum Harness {
    struct Outcome {
        /// Each match as its event ids in bound order, with the detection time.
        var matches: [(ids: [String], at: Int64)]
        var late: [String]
        var alerts: [Alert]
        var rows: [Row] = []
        /// (event, rule) pairs the detector's prefilters kept from their rule.
        var prefilterSkips = 0
    }

    /// Two streams of the same shape, `s` (the rule's) and `t` (for steps on another stream).
    static let header = ["s", "t"].map { name in
        """
        stream \(name)
          key k
          time ts
          lateness LATENESSms
          fields
            k: string
            ts: timestamp
            type: string
            id: string
            v: int

        """
    }.joined()

    /// Builds the rule text for `pattern` and `clauses`.
    static func ruleText(pattern: String, clauses: String, lateness: Int64) -> String {
        header.replacingOccurrences(of: "LATENESS", with: String(lateness)) + """
            rule r
              from s
              match \(pattern)
              \(clauses)
              alert "m"

            """
    }

    /// Parses `a1@0`, `t:p3@2` (stream t), `b2@1=5` (v = 5), `a1@0=5#u2` (key u2).
    static func events(_ text: String, program: Program) -> [Event] {
        var out: [Event] = []
        for (line, token) in text.split(separator: " ").enumerated() {
            var rest = Substring(token)
            var stream = 0
            if rest.hasPrefix("t:") { stream = 1; rest = rest.dropFirst(2) }
            var key = "k"
            if let hash = rest.firstIndex(of: "#") {
                key = String(rest[rest.index(after: hash)...])
                rest = rest[..<hash]
            }
            var v: Value = .null
            if let eq = rest.firstIndex(of: "=") {
                v = .int(Int64(rest[rest.index(after: eq)...])!)
                rest = rest[..<eq]
            }
            let parts = rest.split(separator: "@")
            let id = String(parts[0])
            let type = String(id.prefix { $0.isLetter })
            let ts = Int64(parts[1])!
            out.append(Event(stream: Int32(stream), ts: ts, origin: EventOrigin(input: 0, line: Int64(line + 1)),
                             values: [.string(key), .timestamp(ts), .string(type), .string(id), v]))
        }
        return out
    }

    static func compile(_ text: String) throws -> Program {
        let result = Frontend.check([SourceFile(path: "case.vigil", text: text)])
        guard let rs = result.ruleSet else {
            let r = DiagnosticRenderer(sources: result.sources)
            throw HarnessError(message: result.diagnostics.map(r.render).joined())
        }
        return Compiler.compile(rs).program
    }

    struct HarnessError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Runs events through a detector; `batches` splits the event list (the output must
    /// not depend on it).
    static func run(_ program: Program, _ events: [Event], snapshotAt: Int? = nil) throws -> Outcome {
        var detector = Detector(program: program)
        var outputs: [DetectorOutput] = []
        for (i, e) in events.enumerated() {
            if i == snapshotAt {
                let bytes = try detector.snapshot()
                detector = try Detector(program: program, restoring: bytes)
            }
            outputs += detector.accept(e)
        }
        outputs += detector.finish()
        var outcome = Outcome(matches: [], late: [], alerts: [])
        outcome.prefilterSkips = detector.prefilterSkips
        for o in outputs {
            switch o {
            case .alert(let a):
                outcome.alerts.append(a)
                outcome.matches.append((a.matched.flatMap { $0.events.map { id($0) } }, a.detectedAt))
            case .row(let r):
                outcome.rows.append(r)
            case .late(let e, _):
                outcome.late.append(id(e))
            case .stopped, .movedOut: break
            }
        }
        return outcome
    }

    /// `+1(k,0,10,3)`: op (`+` upsert, `-` delete), version, values (times in ms).
    static func render(_ row: Row) -> String {
        (row.op == .upsert ? "+" : "-") + "\(row.version)(" + row.values.map(render).joined(separator: ",") + ")"
    }

    static func render(_ v: Value) -> String {
        switch v {
        case .null: "null"
        case .int(let n), .timestamp(let n), .duration(let n): String(n)
        case .double(let d): d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): String(b)
        case .string(let s): s
        }
    }

    static func id(_ e: Event) -> String {
        if case .string(let s) = e.values[3] { return s }
        return "?"
    }
}
