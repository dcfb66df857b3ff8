import Testing
import VigilRuntime

/// Detectors sharded by key, merged by `ShardMerger`, must emit exactly what one
/// detector over all keys emits: the same alerts (ids, suppression counts), rows and
/// late events, in the same order, with the same counts — for random pattern rules,
/// window and session rules with allowed lateness, suppression across keys, and
/// several rules over two streams at once, with events out of order and late, merged in
/// random spans.
@Suite struct ShardTests {
    typealias SplitMix = DifferentialTests.SplitMix

    /// A program of one to three rules over the harness's streams `s` and `t`.
    static func program(_ rng: inout SplitMix) -> (text: String, lateness: Int64) {
        let lateness = Int64.random(in: 0...3, using: &rng)
        var text = Harness.header.replacingOccurrences(of: "LATENESS", with: String(lateness))
        var rules = 0
        if Int.random(in: 0..<4, using: &rng) != 0 {
            let (p, pattern, _) = DifferentialTests.pattern(&rng)
            text += "rule p\n  from s\n  match \(pattern)\n  \(DifferentialTests.clauses(p))\n  alert \"{k}\"\n"
            text += suppress(&rng, byField: true)
            rules += 1
        }
        if rules == 0 || Bool.random(using: &rng) {
            let c = WindowDifferentialTests.config(&rng)
            text += "rule w\n  from s\n  \(c.clause)\(c.allowed > 0 ? " allowed lateness \(c.allowed)ms" : "")\n"
            if let h = c.having { text += "  having \(h.text)\n" }
            text += "  alert \"w\"\n  select count() as n, sum(v) as total, first(id) as f, last(id) as l\n  into table gold.w\n"
            text += suppress(&rng, byField: false)
        }
        if Int.random(in: 0..<3, using: &rng) == 0 {
            // Over both streams: each event's key comes from its own stream.
            text += "rule x\n  from s\n  match a: type == \"a\" then b: t where type == \"b\"\n  within 9ms\n  alert \"x {k}\"\n"
        }
        return (text, lateness)
    }

    /// Suppression by the key, or across keys (by a field every key shares).
    static func suppress(_ rng: inout SplitMix, byField: Bool) -> String {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return "  suppress \(Int.random(in: 1...20, using: &rng))ms\n"
        case 1 where byField: return "  suppress \(Int.random(in: 1...20, using: &rng))ms by type\n"
        default: return ""
        }
    }

    /// Eight keys over two streams, ties, jumps, and events thrown back in time.
    static func events(_ rng: inout SplitMix) -> String {
        var t: Int64 = 0
        var out: [String] = []
        for i in 1...Int.random(in: 1...60, using: &rng) {
            t += [0, 0, 1, 1, 2, 3, 5].randomElement(using: &rng)!
            var ts = t
            if Int.random(in: 0..<5, using: &rng) == 0 { ts = max(0, t - Int64.random(in: 1...12, using: &rng)) }
            let type = ["a", "b", "c", "x", "a", "b"].randomElement(using: &rng)!
            let stream = Int.random(in: 0..<4, using: &rng) == 0 ? "t:" : ""
            out.append("\(stream)\(type)\(i)@\(ts)=\(Int.random(in: 0...5, using: &rng))#u\(Int.random(in: 0..<8, using: &rng))")
        }
        return out.joined(separator: " ")
    }

    /// An output as text: alerts in full (id, suppression count and all), rows, late events.
    static func render(_ o: DetectorOutput, _ program: Program) -> String {
        switch o {
        case .alert(let a): a.json(streams: program.streams)
        case .row(let r): "row \(r.table) \(Harness.render(r))"
        case .late(let e, let w): "late \(Harness.id(e)) \(w)"
        case .stopped(let f): "stopped \(f.description)"
        case .movedOut: "moved out"
        }
    }

    static func single(_ program: Program, _ events: [Event]) -> ([String], DetectorStats, Int) {
        var d = Detector(program: program)
        var out: [DetectorOutput] = []
        for e in events { out += d.accept(e) }
        out += d.finish()
        return (out.map { render($0, program) }, d.stats, d.suppressedUnreported)
    }

    /// `n` shards fed every event, merged after spans of random length. As `vigil run
    /// --threads` drives them: events taken (alerts in place, then detached: their
    /// matched events written, or copied), and steps that bring no event (`pass`, for a
    /// line that is a dead letter) between them. An event goes whole to the shards that
    /// own a key of it (`ShardRouter.owners(of:)`) and to others at random (a route that
    /// guessed wider), the first of them reporting it; the rest get its time alone.
    static func sharded(_ program: Program, _ events: [Event], shards n: Int, _ rng: inout SplitMix, passes: inout Int) -> ([String], DetectorStats, Int) {
        var shards = (0..<n).map { Detector(program: program, shard: Shard($0, of: n)) }
        var merger = ShardMerger(program: program)
        var out: [String] = []
        var outputs = Array(repeating: [DetectorOutput](), count: n)
        var tags = Array(repeating: [OutputTag](), count: n)
        let writes = Bool.random(using: &rng)
        let mayWrite = program.suppressionReadsMatched.map { writes && !$0 }
        // Written into one buffer per shard and span, as `vigil run --threads` does, or
        // into one each.
        let shared = Bool.random(using: &rng)
        var bytes = (0..<n).map { _ in AlertBytes(capacity: 64) }
        func take(_ i: Int, _ o: [DetectorOutput]) {
            #expect(o.count == shards[i].tags.count)
            for (o, tag) in zip(o, shards[i].tags) {
                guard case .alert(var a) = o else {
                    outputs[i].append(o)
                    continue
                }
                let message = a.message
                a.detach(writingMatchedFor: mayWrite[Int(tag.phase) - 1] ? program.streams : nil, into: shared ? bytes[i] : nil)
                #expect(a.message == message)
                outputs[i].append(.alert(a))
            }
            tags[i] += shards[i].tags
        }
        func flush() {
            // As `vigil run --threads` hands them on: the places in order, then each moved out.
            var places: [ShardMerger.Place] = []
            merger.merge(&outputs, tags: tags) { places.append($0) }
            for p in places { out.append(render(DetectorOutput.take(&outputs[Int(p.shard)][Int(p.index)]), program)) }
            merger.reclaim(released: shards[0].releasedWatermarks)
            outputs = Array(repeating: [], count: n)
            tags = Array(repeating: [], count: n)
            bytes = (0..<n).map { _ in AlertBytes(capacity: 64) }
        }
        let routers = program.streams.indices.map { ShardRouter(program: program, stream: $0, shards: n) }
        let span = Int.random(in: 1...8, using: &rng)
        var caused: [DetectorOutput] = []
        for (k, e) in events.enumerated() {
            if Int.random(in: 0..<8, using: &rng) == 0 {
                for i in 0..<n { shards[i].pass() }
            }
            let all = ShardRouter.all(n)
            var whole = routers[Int(e.stream)]?.owners(of: e.values) ?? all
            if Bool.random(using: &rng) { whole |= UInt64.random(in: 0...all, using: &rng) }
            for i in 0..<n {
                if whole & (1 << UInt64(i)) != 0 {
                    var e = e
                    shards[i].accept(taking: &e, into: &caused, reports: whole.trailingZeroBitCount == i)
                } else {
                    shards[i].pass(stream: Int(e.stream), ts: e.ts, into: &caused)
                    passes += 1
                }
                take(i, caused)
            }
            if (k + 1) % span == 0 { flush() }
        }
        for i in 0..<n { take(i, shards[i].finish()) }
        flush()
        return (out, merger.stats(shards.map(\.stats)), merger.suppressedUnreported)
    }

    @Test func shardedDetectorsEmitWhatOneDetectorEmits() throws {
        var rng = SplitMix(state: 0x5EA2D)
        var failures = 0
        var seen = (alerts: 0, rows: 0, late: 0, suppressed: 0, crossShard: 0, passes: 0)
        for n in 0..<1500 {
            let (text, _) = Self.program(&rng)
            let program = try Harness.compile(text)
            let eventText = Self.events(&rng)
            let events = Harness.events(eventText, program: program)
            let (expected, stats, unreported) = Self.single(program, events)
            for shards in [2, 3] {
                let (got, s, u) = Self.sharded(program, events, shards: shards, &rng, passes: &seen.passes)
                let same = got == expected && s.events == stats.events && s.late == stats.late && s.alerts == stats.alerts
                    && s.rows == stats.rows && s.suppressed == stats.suppressed && s.lateAbsorbed == stats.lateAbsorbed && u == unreported
                if !same {
                    failures += 1
                    if failures <= 3 {
                        let first = (0..<min(got.count, expected.count)).first { got[$0] != expected[$0] } ?? min(got.count, expected.count)
                        Issue.record("""
                            case \(n), \(shards) shards:
                            \(text)
                              events: \(eventText)
                              first difference at output \(first) of \(expected.count) (got \(got.count)):
                                one detector: \(first < expected.count ? expected[first] : "(end)")
                                sharded:      \(first < got.count ? got[first] : "(end)")
                              counts: one \(stats.events)/\(stats.late)/\(stats.alerts)/\(stats.rows)/\(stats.suppressed), sharded \(s.events)/\(s.late)/\(s.alerts)/\(s.rows)/\(s.suppressed)
                            """)
                    }
                }
            }
            seen.alerts += stats.alerts
            seen.rows += stats.rows
            seen.late += stats.late
            seen.suppressed += stats.suppressed.values.reduce(0, +)
            // Outputs of several keys in one case: the merge had something to order.
            let keys = expected.compactMap { o -> Substring? in
                let parts = o.split(separator: "\"k\":\"")
                return parts.count > 1 ? parts[1].prefix(2) : nil
            }
            if Set(keys).count > 1 {
                seen.crossShard += 1
            }
        }
        #expect(failures == 0)
        // The cases exercise what the merge has to get right.
        #expect(seen.alerts >= 5000 && seen.rows >= 2000 && seen.late >= 500 && seen.suppressed >= 300 && seen.crossShard >= 500
                && seen.passes >= 20_000,
                "\(String(describing: seen))")
    }
}
