import Testing
@testable import VigilRuntime

/// The JSON Lines decoder's fast path (`FlatJSONScanner`) may only change speed: on
/// random lines — well-formed, odd and broken — `decode` (fast path, then the full
/// decoder) must give exactly what the full decoder alone gives: the same values, bit
/// for bit, or the same rejection.
@Suite struct DecoderDifferentialTests {
    static let schema = StreamSchema(
        name: "events",
        fields: [.init(name: "ts", type: .timestamp), .init(name: "user", type: .string),
                 .init(name: "amount", type: .double), .init(name: "n", type: .int),
                 .init(name: "ok", type: .bool), .init(name: "d", type: .duration)],
        keySlots: [1], timeSlot: 0, latenessMs: 0, idleTimeoutMs: nil)

    static let keys = ["ts", "user", "amount", "n", "ok", "d", "extra", "tś", "us\\u0065r", "", "ts "]
    static let values = [
        "1700000000000", "-5", "0", "-0", "007", "12", "1.5", "0.1", "-2.25", "1e3", "1E-2", "2.", ".5", "-",
        "123456789012345", "1234567890123456", "9223372036854775807", "9223372036854775808",
        "99999999999999999999", "3.14159265358979", "3875334047727647.7", "410.458098536264801", "3.141592653589793", "0.000001", "1.0000000000000002",
        "\"u1\"", "\"\"", "\"caf\u{e9}\"", "\"a\\\"b\"", "\"tab\\t\"", "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"",
        "\"2023-11-14T22:13:20Z\"", "\"not a time\"", "true", "false", "null", "tru", "nul", "{}", "{\"a\":1}",
        "[1,2]", "[]", "\"unterminated",
        // Longer strings: what ends or breaks them at every offset of a word and past one.
        "\"abcdefgh\"", "\"abcdefghijklmnopq\"", "\"abcdefghij\\\"k\"", "\"abcdefghijklm\\n\"", "\"abcdefgh\u{e9}ijklmnop\"",
        "\"abcdefghijklmnop\u{1F600}\"", "\"abc\u{7}defghijk\"", "\"abcdefghijk\u{1f}\"", "\"0123456789abcdef\"", "\"abcdefghijklmnopqrstuvwxy",
    ]

    static func line(_ rng: inout DifferentialTests.SplitMix) -> [UInt8] {
        let space = [" ", "", "", "", "\t"]
        var parts: [String] = []
        for _ in 0..<Int.random(in: 0...7, using: &rng) {
            let k = keys.randomElement(using: &rng)!
            let v = values.randomElement(using: &rng)!
            let sp = space.randomElement(using: &rng)!
            parts.append("\"\(k)\"\(sp):\(sp)\(v)")
        }
        // Mostly well-formed events, so that the fast path is exercised too.
        if Int.random(in: 0..<2, using: &rng) == 0 {
            let good = ["\"n\":-42", "\"ok\":true", "\"d\" : 300000", "\"extra\":{\"x\":[1]}", "\"user\":\"\u{e9}t\u{e9}\"", "\"amount\":null", "\"extra\":\"x\""]
            parts = [good.randomElement(using: &rng)!, good.randomElement(using: &rng)!] + parts.prefix(Int.random(in: 0...1, using: &rng))
            parts += ["\"ts\":\(1_700_000_000_000 + Int.random(in: 0..<1000, using: &rng))", "\"user\":\"u\(Int.random(in: 0..<9, using: &rng))\"",
                     "\"amount\":\(Int.random(in: 0..<10000, using: &rng)).\(Int.random(in: 0..<100, using: &rng))"] + parts.prefix(2)
            // In declaration order, as most inputs are, or shuffled.
            if Bool.random(using: &rng) {
                let order = ["ts", "user", "amount", "n", "ok", "d"]
                parts = order.compactMap { k in parts.first { $0.hasPrefix("\"\(k)\"") } } + parts.filter { p in !order.contains { p.hasPrefix("\"\($0)\"") } }
            } else {
                parts.shuffle(using: &rng)
            }
        }
        var bytes = Array(((space.randomElement(using: &rng)!) + "{" + parts.joined(separator: ",") + "}" + (space.randomElement(using: &rng)!)).utf8)
        switch Int.random(in: 0..<12, using: &rng) {
        case 0 where !bytes.isEmpty: bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
        case 1: bytes.insert(0xC3, at: Int.random(in: 0...bytes.count, using: &rng))
        case 2: bytes.insert(0x01, at: Int.random(in: 0...bytes.count, using: &rng))
        case 3: bytes += Array(" x".utf8)
        case 4 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = [UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "\""), 0xFF].randomElement(using: &rng)!
        case 5:
            // A key's colon replaced: the key that is read whole, quotes and colon, must
            // not be read as one.
            if let colon = bytes.indices.filter({ bytes[$0] == UInt8(ascii: ":") }).randomElement(using: &rng) {
                bytes[colon] = [UInt8(ascii: ","), UInt8(ascii: "1"), UInt8(ascii: "\""), UInt8(ascii: "x")].randomElement(using: &rng)!
            }
        default: break
        }
        return bytes
    }

    static func same(_ a: Value, _ b: Value) -> Bool {
        if case .double(let x) = a, case .double(let y) = b { return x.bitPattern == y.bitPattern }
        return a == b
    }

    @Test func fastPathChangesNothing() {
        let decoder = JSONLineDecoder(schema: Self.schema, stream: 0)
        var rng = DifferentialTests.SplitMix(state: 8)
        var fastAccepted = 0, events = 0, rejected = 0
        let scanner = FlatJSONScanner(schema: Self.schema)!
        // Decoded into one reused event, as the run loop does: it holds the values of
        // the line before, which every line must replace or null.
        var reused = Event(stream: 0, ts: 0, origin: EventOrigin(input: 0, line: 0), values: [])
        for i in 0..<60_000 {
            let bytes = Self.line(&rng)
            bytes.withUnsafeBufferPointer { p in
                let origin = EventOrigin(input: 0, line: Int64(i))
                var scratch = [Value](repeating: .null, count: Self.schema.fields.count)
                if scanner.scan(p, into: &scratch) { fastAccepted += 1 }
                switch (decoder.decode(p, origin: origin), decoder.decodeFully(p, origin: origin)) {
                case (.success(let a), .success(let b)):
                    events += 1
                    #expect(decoder.decode(p, origin: origin, into: &reused) == nil)
                    #expect(reused.ts == b.ts && reused.values.count == b.values.count)
                    for (x, y) in zip(reused.values, b.values) where !Self.same(x, y) {
                        Issue.record("reused: \(String(decoding: bytes, as: UTF8.self)): \(x) against \(y)")
                    }
                    #expect(a.ts == b.ts && a.values.count == b.values.count, "\(String(decoding: bytes, as: UTF8.self))")
                    for (x, y) in zip(a.values, b.values) where !Self.same(x, y) {
                        Issue.record("\(String(decoding: bytes, as: UTF8.self)): \(x) against \(y)")
                    }
                case (.failure(let a), .failure(let b)):
                    rejected += 1
                    #expect(a.reason == b.reason)
                case (let a, let b):
                    Issue.record("\(String(decoding: bytes, as: UTF8.self)): \(a) against \(b)")
                }
            }
        }
        // Both outcomes and both paths are exercised, or the comparison proves little.
        #expect(fastAccepted > 8_000 && events > 5_000 && rejected > 5_000, "fast \(fastAccepted), events \(events), rejected \(rejected)")
    }

    /// A line the scanner calls canonical is byte for byte what an alert line writes for
    /// its event (`{`, `JSONWriter.fields`, `}`): alerts copy such lines instead of
    /// writing the event. Lines draw every field in order with texts the writer writes
    /// and texts it does not (leading zeros, -0, a trailing 0, an integer for a double,
    /// an exponent, spaces, escapes, a field left out or repeated).
    @Test func canonicalLinesAreWhatTheWriterWrites() {
        var rng = DifferentialTests.SplitMix(state: 9)
        let scanner = FlatJSONScanner(schema: Self.schema)!
        var canonical = 0, other = 0
        var values = [Value](repeating: .null, count: Self.schema.fields.count)
        for _ in 0..<40_000 {
            let bytes = Self.canonicalCandidate(&rng)
            var isCanonical = false
            guard bytes.withUnsafeBufferPointer({ scanner.scan($0, into: &values, canonical: &isCanonical) }) else { continue }
            guard isCanonical else { other += 1; continue }
            canonical += 1
            var w = JSONWriter()
            w.byte(UInt8(ascii: "{"))
            w.fields(values, keys: Self.schema.jsonKeys, omitNulls: false)
            w.byte(UInt8(ascii: "}"))
            #expect(w.bytes == bytes, "\(String(decoding: bytes, as: UTF8.self)) written as \(String(decoding: w.bytes, as: UTF8.self))")
        }
        // Both answers are given often, or the comparison proves little.
        #expect(canonical > 1_000 && other > 5_000, "canonical \(canonical), other \(other)")
    }

    /// Every field in order, with texts the writer writes and texts it does not (leading
    /// zeros, -0, a trailing 0, an integer for a double, an exponent, spaces, escapes, a
    /// field left out or repeated).
    static func canonicalCandidate(_ rng: inout DifferentialTests.SplitMix) -> [UInt8] {
        let texts: [[String]] = [
            ["1700000000123", "0", "-5", "007", "-0", "null", "12.5"],
            ["\"u1\"", "\"\"", "\"caf\u{e9}\"", "\"abcdefghijklmnopqrstuvwxyz\"", "\"a\\\"b\"", "\"\\u0041\"", "null"],
            ["1.5", "0.1", "12.25", "12.20", "17.0", "-0.5", "-0.0", "5", "1e3", "0.05", "00.5", "123456789012.5", "12345678901234.5", "1.125", "null"],
            ["-42", "0", "00", "7", "-0", "null"],
            ["true", "false", "null", "tru"],
            ["300000", "-1", "null", "0.5"],
        ]
        let names = ["ts", "user", "amount", "n", "ok", "d"]
        var parts = names.indices.map { f in "\"\(names[f])\":" + texts[f][Int.random(in: 0..<texts[f].count, using: &rng)] }
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: parts.remove(at: Int.random(in: 0..<parts.count, using: &rng))
        case 1: parts.append(parts[Int.random(in: 0..<parts.count, using: &rng)])
        case 2: parts.swapAt(0, Int.random(in: 0..<parts.count, using: &rng))
        case 3: parts[Int.random(in: 0..<parts.count, using: &rng)] += " "
        case 4:
            // An escape in a key: `"\u0075ser"` is `"user"`, written otherwise.
            let k = Int.random(in: 0..<parts.count, using: &rng)
            parts[k] = "\"\\u00" + String(parts[k].utf8.dropFirst().first!, radix: 16) + String(parts[k].dropFirst(2))
        default: break
        }
        return Array(("{" + parts.joined(separator: ",") + "}").utf8)
    }

    /// An event as the writer writes it (random values of every type, nulls, strings to
    /// escape, long and beyond ASCII), then, one time in three, one byte changed,
    /// inserted or taken out.
    static func writtenEvent(_ rng: inout DifferentialTests.SplitMix) -> [UInt8] {
        func maybeNull(_ v: Value) -> Value { Int.random(in: 0..<8, using: &rng) == 0 ? .null : v }
        let strings = ["u1", "", "caf\u{e9}", "abcdefghijklmno", "abcdefghijklmnop", "quote\"d", "tab\t", "\u{1F600}x", "m385"]
        let values: [Value] = [
            maybeNull(.timestamp([0, -1, 7, 1_700_000_000_123, 999_999_999_999_999_999, -42][Int.random(in: 0...5, using: &rng)])),
            maybeNull(.string(strings.randomElement(using: &rng)!)),
            maybeNull(.double([Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 100, Double(Int.random(in: -99...99, using: &rng)) / 10,
                               0, -0.0, 1e13 + 0.5, 123456789012.25, 0.125, 5e20, .nan][Int.random(in: 0...8, using: &rng)])),
            maybeNull(.int(Int64.random(in: -1000...1000, using: &rng) * [1, 1_000_000_000_000_000][Int.random(in: 0...1, using: &rng)])),
            maybeNull(.bool(Bool.random(using: &rng))),
            maybeNull(.duration(Int64.random(in: -5...300_000, using: &rng))),
        ]
        var w = JSONWriter()
        w.byte(UInt8(ascii: "{"))
        w.fields(values, keys: Self.schema.jsonKeys, omitNulls: false)
        w.byte(UInt8(ascii: "}"))
        var bytes = w.bytes
        switch Int.random(in: 0..<9, using: &rng) {
        case 0: bytes[Int.random(in: 0..<bytes.count, using: &rng)] = Array("0159.-e \"\\,}{:an".utf8).randomElement(using: &rng)!
        case 1: bytes.insert(Array("0 .e\",}".utf8).randomElement(using: &rng)!, at: Int.random(in: 0...bytes.count, using: &rng))
        case 2: bytes.remove(at: Int.random(in: 0..<bytes.count, using: &rng))
        default: break
        }
        return bytes
    }

    /// The template (`CanonicalLineScanner`) takes exactly the lines the general scan
    /// calls canonical, with the values the general scan gives them.
    @Test func theTemplateTakesExactlyTheCanonicalLines() {
        let general = FlatJSONScanner(schema: Self.schema, template: false)!
        let template = CanonicalLineScanner(schema: Self.schema)!
        var rng = DifferentialTests.SplitMix(state: 12)
        var taken = 0, refused = 0, complete = 0
        var byTemplate = [Value](repeating: .null, count: Self.schema.fields.count), byGeneral = byTemplate
        for k in 0..<90_000 {
            let bytes = k % 3 == 0 ? Self.line(&rng) : k % 3 == 1 ? Self.canonicalCandidate(&rng) : Self.writtenEvent(&rng)
            bytes.withUnsafeBufferPointer { p in
                var canonical = false
                let g = general.scan(p, into: &byGeneral, canonical: &canonical) && canonical
                var ts: Int64 = -1
                let read = byTemplate.withUnsafeMutableBufferPointer { template.read(p, into: $0, ts: &ts) }
                let t = read != .refused
                #expect(t == g, "\(String(decoding: bytes, as: UTF8.self)): template \(t), general \(g)")
                if t && g {
                    for (x, y) in zip(byTemplate, byGeneral) where !Self.same(x, y) {
                        Issue.record("\(String(decoding: bytes, as: UTF8.self)): \(x) against \(y)")
                    }
                    // A complete event is exactly one `EventAssembly.finish` takes, at its time.
                    var e = Event(stream: 0, ts: 0, origin: EventOrigin(input: 0, line: 1), values: byGeneral)
                    let failure = EventAssembly.finish(&e, schema: Self.schema)
                    #expect((read == .complete) == (failure == nil), "\(String(decoding: bytes, as: UTF8.self)): \(read)")
                    if read == .complete {
                        #expect(ts == e.ts)
                        complete += 1
                    }
                }
                if t { taken += 1 } else { refused += 1 }
            }
        }
        // Both answers are given often, or the comparison proves little.
        #expect(taken > 10_000 && refused > 20_000, "taken \(taken), refused \(refused)")
        #expect(complete > 5_000 && taken - complete > 2_000, "complete \(complete) of \(taken)")
    }

    @Test func nestedSchemasTakeTheFullDecoder() {
        let nested = StreamSchema(name: "s", fields: [.init(name: "ts", type: .timestamp), .init(name: "p.name", type: .string)],
                                  keySlots: [], timeSlot: 0, latenessMs: 0, idleTimeoutMs: nil)
        #expect(FlatJSONScanner(schema: nested) == nil)
        let decoder = JSONLineDecoder(schema: nested, stream: 0)
        let line = Array(#"{"ts":5,"p":{"name":"x"}}"#.utf8)
        guard case .success(let e) = line.withUnsafeBufferPointer({ decoder.decode($0, origin: EventOrigin(input: 0, line: 1)) }) else {
            Issue.record("not decoded")
            return
        }
        #expect(e.values == [.timestamp(5), .string("x")])
    }
}

extension DecoderDifferentialTests {
    /// Strings at the end of a line (read with the words that end the line) and of every
    /// length around a word: the template still takes exactly the canonical lines.
    @Test func theTemplateReadsStringsAtTheEndOfALine() {
        let schema = StreamSchema(name: "s", fields: [.init(name: "ts", type: .timestamp), .init(name: "s", type: .string)],
                                  keySlots: [], timeSlot: 0, latenessMs: 0, idleTimeoutMs: nil)
        let general = FlatJSONScanner(schema: schema, template: false)!
        let template = CanonicalLineScanner(schema: schema)!
        var rng = DifferentialTests.SplitMix(state: 23)
        let alphabet = Array("ab9 _\"\\\u{E9}\u{1}")
        var taken = 0, refused = 0
        var byTemplate = [Value](repeating: .null, count: 2), byGeneral = byTemplate
        for _ in 0..<40_000 {
            let plain = Bool.random(using: &rng)
            let text = String((0..<Int.random(in: 0...20, using: &rng)).map { _ in plain ? "x" : alphabet.randomElement(using: &rng)! })
            var w = JSONWriter()
            w.byte(UInt8(ascii: "{"))
            w.fields([.timestamp(Int64.random(in: 0...99_999, using: &rng)), .string(text)], keys: schema.jsonKeys, omitNulls: false)
            w.byte(UInt8(ascii: "}"))
            var bytes = w.bytes
            if Int.random(in: 0..<4, using: &rng) == 0 { bytes.removeLast(Int.random(in: 1...min(3, bytes.count), using: &rng)) }
            bytes.withUnsafeBufferPointer { p in
                var canonical = false
                let g = general.scan(p, into: &byGeneral, canonical: &canonical) && canonical
                let t = byTemplate.withUnsafeMutableBufferPointer { template.scan(p, into: $0) }
                #expect(t == g, "\(String(decoding: bytes, as: UTF8.self)): template \(t), general \(g)")
                if t && g { #expect(zip(byTemplate, byGeneral).allSatisfy { Self.same($0, $1) }, "\(String(decoding: bytes, as: UTF8.self))") }
                if t { taken += 1 } else { refused += 1 }
            }
        }
        #expect(taken > 10_000 && refused > 10_000, "taken \(taken), refused \(refused)")
    }
}
