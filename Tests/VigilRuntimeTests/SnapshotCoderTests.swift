import Foundation
import Testing
@testable import VigilRuntime

/// The binary snapshot format: random values of a type that uses every part of
/// `Codable` (each integer width at its extremes, optionals present and absent in
/// objects and arrays, nested arrays, both kinds of dictionary, enums with associated
/// values, `Value`s and events) come back equal, and encode again to the same bytes;
/// a detector restored from it is the one that was saved; damage is an error.
@Suite struct SnapshotCoderTests {
    struct Sample: Codable, Equatable {
        enum Kind: Codable, Equatable {
            case plain
            case pair(Int32, String)
            case labelled(x: Double?, y: [UInt8])
        }
        var i: Int, i8: Int8, i16: Int16, i32: Int32, i64: Int64
        var u: UInt, u8: UInt8, u16: UInt16, u32: UInt32, u64: UInt64
        var f: Float, d: Double, b: Bool, s: String
        var opt: Int64?, optText: String?
        var list: [Int64?]
        var nested: [[String]]
        var dict: [String: Int]
        var intDict: [Int: [Int]]
        var kinds: [Kind]
        var values: [Value]
        var events: [Event]
        var children: [Sample]

        static func == (a: Sample, b: Sample) -> Bool {
            a.i == b.i && a.i8 == b.i8 && a.i16 == b.i16 && a.i32 == b.i32 && a.i64 == b.i64 && a.u == b.u && a.u8 == b.u8
                && a.u16 == b.u16 && a.u32 == b.u32 && a.u64 == b.u64 && a.f.bitPattern == b.f.bitPattern
                && a.d.bitPattern == b.d.bitPattern && a.b == b.b && a.s == b.s && a.opt == b.opt && a.optText == b.optText
                && a.list == b.list && a.nested == b.nested && a.dict == b.dict && a.intDict == b.intDict && a.kinds == b.kinds
                && same(a.values, b.values) && a.events.count == b.events.count
                && zip(a.events, b.events).allSatisfy { x, y in
                    x.stream == y.stream && x.ts == y.ts && x.origin == y.origin && same(x.values, y.values)
                }
                && a.children == b.children
        }

        /// Bit for bit (`==` takes -0.0 for 0.0 and NaN for unequal to itself).
        static func same(_ a: [Value], _ b: [Value]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { x, y in
                if case .double(let p) = x, case .double(let q) = y { return p.bitPattern == q.bitPattern }
                return x == y
            }
        }

        var dictionariesAreSmall: Bool { dict.count < 2 && intDict.count < 2 && children.allSatisfy(\.dictionariesAreSmall) }
    }

    static func sample(_ rng: inout DifferentialTests.SplitMix, depth: Int) -> Sample {
        func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }
        func text() -> String {
            pick(["", "a", "caf\u{E9}", "cafe\u{301}", "quote \" and \\ and \n", "a-string-longer-than-sixteen-bytes", "🙂"])
        }
        func double() -> Double { pick([0, -0.0, 1.5, -2.25e300, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, 64.3]) }
        func value() -> Value {
            pick([.null, .int(.min), .int(.max), .int(-1), .double(double()), .bool(true), .bool(false), .string(text()),
                  .timestamp(1_700_000_000_000), .duration(-5)])
        }
        func event() -> Event {
            Event(stream: pick([0, 3, .max]), ts: pick([.min, 0, 1_700_000_000_000]),
                  origin: EventOrigin(input: pick([0, 1]), line: pick([1, .max])),
                  values: (0..<Int.random(in: 0...7, using: &rng)).map { _ in value() })
        }
        return Sample(
            i: pick([.min, -1, 0, .max]), i8: pick([.min, 0, .max]), i16: pick([.min, 7, .max]), i32: pick([.min, -300, .max]),
            i64: pick([.min, 0, 1 << 40, .max]), u: pick([0, .max]), u8: pick([0, 200, .max]), u16: pick([0, .max]),
            u32: pick([0, 1 << 31, .max]), u64: pick([0, 1 << 63, .max]),
            f: pick([0, -0.0, 1.5, .infinity, .nan]), d: double(), b: Bool.random(using: &rng), s: text(),
            opt: Bool.random(using: &rng) ? nil : pick([.min, 5, .max]), optText: Bool.random(using: &rng) ? nil : text(),
            list: (0..<Int.random(in: 0...5, using: &rng)).map { _ in Bool.random(using: &rng) ? nil : Int64.random(in: -9...9, using: &rng) },
            nested: (0..<Int.random(in: 0...3, using: &rng)).map { _ in (0..<Int.random(in: 0...3, using: &rng)).map { _ in text() } },
            dict: Dictionary(uniqueKeysWithValues: (0..<Int.random(in: 0...4, using: &rng)).map { ("k\($0)", $0 * 7) }),
            intDict: Dictionary(uniqueKeysWithValues: (0..<Int.random(in: 0...4, using: &rng)).map { ($0 - 2, Array(0..<$0)) }),
            kinds: (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                pick([.plain, .pair(pick([.min, 3]), text()), .labelled(x: Bool.random(using: &rng) ? nil : 2.5, y: [0, 255])])
            },
            values: (0..<Int.random(in: 0...8, using: &rng)).map { _ in value() },
            events: (0..<Int.random(in: 0...3, using: &rng)).map { _ in event() },
            children: depth == 0 ? [] : (0..<Int.random(in: 0...2, using: &rng)).map { _ in sample(&rng, depth: depth - 1) })
    }

    @Test func valuesComeBackEqualAndEncodeToTheSameBytes() throws {
        var rng = DifferentialTests.SplitMix(state: 5)
        var reencoded = 0
        for n in 0..<2_000 {
            let s = Self.sample(&rng, depth: 2)
            let bytes = try SnapshotCoder.encode(s)
            let back = try SnapshotCoder.decode(Sample.self, from: bytes)
            #expect(back == s, "sample \(n)")
            // (A dictionary's order is its own: bytes compare when none has two entries.)
            if s.dictionariesAreSmall {
                #expect(try SnapshotCoder.encode(back) == bytes, "sample \(n) encodes differently after a round trip")
                reencoded += 1
            }
        }
        #expect(reencoded > 100, "only \(reencoded) samples compared as bytes")
    }

    /// A type that reads a field it was not written with, or reads fields out of order,
    /// still decodes (the reader searches the object when the next field is not it).
    @Test func fieldsAreFoundOutOfOrderAndMissingOnesAreErrors() throws {
        struct Written: Codable { var a: Int, b: String, c: [Int] }
        struct Reversed: Codable, Equatable {
            var a: Int, b: String, c: [Int]
            enum CodingKeys: String, CodingKey { case a, b, c }
            init(a: Int, b: String, c: [Int]) { (self.a, self.b, self.c) = (a, b, c) }
            init(from decoder: any Decoder) throws {
                let k = try decoder.container(keyedBy: CodingKeys.self)
                c = try k.decode([Int].self, forKey: .c)
                b = try k.decode(String.self, forKey: .b)
                a = try k.decode(Int.self, forKey: .a)
            }
        }
        struct Extra: Codable { var a: Int, z: Int? }
        struct Required: Codable { var z: Int }
        let bytes = try SnapshotCoder.encode(Written(a: -4, b: "x", c: [1, 2]))
        #expect(try SnapshotCoder.decode(Reversed.self, from: bytes) == Reversed(a: -4, b: "x", c: [1, 2]))
        #expect(try SnapshotCoder.decode(Extra.self, from: bytes).z == nil)
        #expect(throws: DecodingError.self) { try SnapshotCoder.decode(Required.self, from: bytes) }
        #expect(throws: DecodingError.self) { try SnapshotCoder.decode([Int].self, from: bytes) }
    }

    /// A detector with partial matches, open windows and sessions, waiting events and
    /// counters: restored from the binary snapshot, it is the detector that was saved —
    /// its earlier builds' JSON snapshot is the same bytes.
    @Test func aDetectorRestoresToTheStateItWasSavedIn() throws {
        let program = try Harness.compile(Harness.header.replacingOccurrences(of: "LATENESS", with: "3") + """
            rule p
              from s
              match
                a: type == "a"
                then b: type == "b" {1,}
                then c: type == "c" and v > a.v
              within 20ms
              alert "{k} p"

            rule w
              from s
              window tumbling 5ms
              alert "{k} {count()} {sum(v)}"

            rule g
              from s
              session gap 4ms
              alert "{k} session {count()}"

            """)
        var rng = DifferentialTests.SplitMix(state: 9)
        var d = Detector(program: program)
        var ts: Int64 = 0
        var checked = 0
        for line in 1...400 {
            ts += Int64.random(in: -2...3, using: &rng)
            let e = Event(stream: 0, ts: ts, origin: EventOrigin(input: 0, line: Int64(line)),
                          values: [.string("u\(Int.random(in: 0..<7, using: &rng))"), .timestamp(ts),
                                   .string(["a", "b", "c", "d"][Int.random(in: 0..<4, using: &rng)]), .string("e\(line)"),
                                   .int(Int64.random(in: -5...5, using: &rng))])
            _ = d.accept(e)
            guard line % 25 == 0 else { continue }
            let restored = try Detector(program: program, restoring: try d.snapshot())
            #expect(try Self.canonical(restored.snapshot(format: .json)) == Self.canonical(d.snapshot(format: .json)), "after event \(line)")
            checked += 1
        }
        #expect(checked == 16)
        #expect(d.stats.partialMatches > 0 && d.stats.openGroups > 0, "the state held nothing to check")
    }

    /// A JSON snapshot with its dictionaries in one order: a dictionary whose keys are
    /// not strings is an array of key, value, key, value (`slotOf`), in hash order.
    static func canonical(_ json: [UInt8]) throws -> String {
        func walk(_ v: Any, key: String?) throws -> Any {
            if let o = v as? [String: Any] {
                return Dictionary(uniqueKeysWithValues: try o.map { ($0, try walk($1, key: $0)) })
            }
            guard let a = v as? [Any] else { return v }
            let items = try a.map { try walk($0, key: nil) }
            guard key == "slotOf" else { return items }
            let text = { (x: Any) in String(decoding: try JSONSerialization.data(withJSONObject: x, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self) }
            let pairs = try stride(from: 0, to: items.count, by: 2).map { (try text(items[$0]), try text(items[$0 + 1])) }
            return pairs.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }
        }
        let tree = try walk(JSONSerialization.jsonObject(with: Data(json)), key: nil)
        return String(decoding: try JSONSerialization.data(withJSONObject: tree, options: .sortedKeys), as: UTF8.self)
    }

    /// Any damaged byte, and any truncation, is an error on restore — never a crash,
    /// never a detector in a state nobody saved.
    @Test func damageIsAnError() throws {
        let program = try Harness.compile(Harness.ruleText(pattern: "a: type == \"a\" then b: type == \"b\"", clauses: "within 50ms", lateness: 5))
        var d = Detector(program: program)
        for (i, t) in ["a", "b", "a", "c", "a"].enumerated() {
            _ = d.accept(Event(stream: 0, ts: Int64(i), origin: EventOrigin(input: 0, line: Int64(i + 1)),
                               values: [.string("k\(i % 2)"), .timestamp(Int64(i)), .string(t), .string("e\(i)"), .int(1)]))
        }
        let bytes = try d.snapshot()
        _ = try Detector(program: program, restoring: bytes)
        var rng = DifferentialTests.SplitMix(state: 3)
        for n in 0..<600 {
            var broken = bytes
            if n % 3 == 0 {
                broken.removeLast(Int.random(in: 1..<bytes.count, using: &rng))
            } else {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                broken[at] ^= UInt8.random(in: 1...255, using: &rng)
            }
            #expect(throws: Detector.SnapshotError.self, "damage \(n)") { try Detector(program: program, restoring: broken) }
        }
    }

    /// A window rule's state as builds before its keys were in a `KeyTable` wrote it:
    /// per slot the key (empty when free), the free slots, and a key-to-slot dictionary.
    struct LegacyWindowState: Codable {
        var slotOf: [[Value]: Int32]
        var keys: [[Value]]
        var slots: [[WindowOperator.Group]]
        var free: [Int32]
        var timers: MinHeap<WindowOperator.Timer>
        var nextSeq: UInt64
        var openGroups: Int
    }

    @Test func aWindowStateFromAnEarlierBuildIsRead() throws {
        let group = WindowOperator.Group(start: 0, end: 60_000, accumulators: [], seq: 1, first: EventStamp(ts: 5, input: 0, line: 1))
        let legacy = LegacyWindowState(slotOf: [[.string("alice")]: 0, [.string("carol")]: 2],
                                       keys: [[.string("alice")], [], [.string("carol")]],
                                       slots: [[group], [], [group]], free: [1], timers: MinHeap(), nextSeq: 1, openGroups: 2)
        let state = try SnapshotCoder.decode(WindowOperator.State.self, from: try SnapshotCoder.encode(legacy))
        #expect(state.table.find([.string("alice")]) == 0)
        #expect(state.table.find([.string("carol")]) == 2)
        #expect(state.table.find([]) == nil && state.table.count == 2 && !state.table.live[1])
        #expect(state.slots.map(\.count) == [1, 0, 1] && state.openGroups == 2 && state.nextSeq == 1)
        // And written again in today's form, it reads back the same.
        let again = try SnapshotCoder.decode(WindowOperator.State.self, from: try SnapshotCoder.encode(state))
        #expect(again.table.find([.string("carol")]) == 2 && again.table.count == 2 && again.slots.map(\.count) == [1, 0, 1])
    }
}
