import Testing
import VigilRuntime

/// The alert writer's digit-by-digit doubles must be the bytes `formatDouble` gives.
@Suite struct JSONWriterTests {
    @Test func doublesAreWrittenAsFormatDoubleWrites() {
        var rng = DifferentialTests.SplitMix(state: 3)
        var samples: [Double] = [0, -0.0, 0.01, -0.01, 0.1, 0.5, 1.05, 15.22, -15.2, 99.99, 0.07, 1e13 + 0.25, 1e15 + 0.5, 123456789012.34,
                                 0.001, 1.005, 2.675, .pi, 1e-7, 5e300, .infinity, -.nan, 1e16, 9_007_199_254_740_993]
        for _ in 0..<50_000 {
            let cents = Int64.random(in: -10_000_000_000...10_000_000_000, using: &rng)
            samples.append(Double(cents) / 100)
            samples.append(Double(cents) / 1000)
            samples.append(Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &rng)))
        }
        for d in samples {
            var w = JSONWriter()
            w.value(.double(d))
            let expected = d.isFinite ? formatDouble(d) : "null"
            #expect(String(decoding: w.bytes, as: UTF8.self) == expected, "\(d.bitPattern)")
        }
    }

    /// An event's fields written at once (`fields`) are the bytes written field by field,
    /// whichever values send it the slow way (escapes, long strings, long doubles).
    @Test func fieldsAreWrittenAsValueByValue() {
        var rng = DifferentialTests.SplitMix(state: 11)
        let strings = ["", "u163", "caf\u{E9}", "quote\"d", "back\\slash", "tab\there", "line\nbreak", "\u{1}",
                       String(repeating: "x", count: 1500), String(repeating: "ab", count: 400)]
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...8, using: &rng)
            let values: [Value] = (0..<count).map { _ in
                switch Int.random(in: 0...7, using: &rng) {
                case 0: .null
                case 1: .bool(Bool.random(using: &rng))
                case 2: .int(Int64.random(in: Int64.min...Int64.max, using: &rng))
                case 3: .timestamp(Int64.random(in: 0...2_000_000_000_000, using: &rng))
                case 4: .double(Double(Int64.random(in: -1_000_000...1_000_000, using: &rng)) / 100)
                case 5: .double([1e16, -0.0, 0.001, .nan, -.infinity, 1e15 - 0.5, 42][Int.random(in: 0...6, using: &rng)])
                case 6: .duration(Int64.random(in: -1000...1000, using: &rng))
                default: .string(strings[Int.random(in: 0..<strings.count, using: &rng)])
                }
            }
            let keys: [[UInt8]] = (0..<count).map { Array("\"f\($0)\":".utf8) }
            let omitNulls = Bool.random(using: &rng)
            var fast = JSONWriter()
            fast.fields(values, keys: JSONKeys(keys), omitNulls: omitNulls)
            var slow = JSONWriter()
            var first = true
            for (k, v) in zip(keys, values) where !(omitNulls && v.isNull) {
                if !first { slow.byte(UInt8(ascii: ",")) }
                first = false
                slow.append(k)
                slow.value(v)
            }
            #expect(fast.bytes == slow.bytes, "\(values)")
        }
    }

    /// The writer's own buffer behaves as an array of its bytes: random writes, copies,
    /// truncations and clears, from a small buffer that must grow, against a plain array
    /// kept beside each writer. A copy keeps what it held when the other writes on.
    @Test func theBufferIsAnArrayOfItsBytes() {
        var rng = DifferentialTests.SplitMix(state: 21)
        for _ in 0..<300 {
            var writers = [JSONWriter(capacity: 1)]
            var models: [[UInt8]] = [[]]
            for _ in 0..<60 {
                let k = Int.random(in: 0..<writers.count, using: &rng)
                switch Int.random(in: 0...7, using: &rng) {
                case 0:
                    writers[k].raw("{\"id\":")
                    models[k] += Array("{\"id\":".utf8)
                case 1:
                    let n = Int64.random(in: Int64.min...Int64.max, using: &rng)
                    writers[k].int(n)
                    models[k] += Array(String(n).utf8)
                case 2:
                    let text = String(repeating: "ab\"c", count: Int.random(in: 0...40, using: &rng))
                    writers[k].string(text)
                    models[k] += [34] + text.utf8.flatMap { $0 == 34 ? [92, 34] : [$0] } + [34]
                case 3:
                    let bytes = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 32...126, using: &rng) }
                    writers[k].append(bytes)
                    models[k] += bytes
                case 4 where writers.count < 4:
                    writers.append(writers[k])
                    models.append(models[k])
                case 5:
                    let to = Int.random(in: 0...models[k].count, using: &rng)
                    writers[k].truncate(to: to)
                    models[k].removeSubrange(to...)
                case 6:
                    writers[k].removeAll()
                    models[k] = []
                default:
                    let other = Int.random(in: 0..<writers.count, using: &rng)
                    let copy = writers[other]
                    writers[k].append(copy)
                    models[k] += models[other]
                }
                for (w, m) in zip(writers, models) {
                    #expect(w.bytes == m && w.count == m.count)
                }
            }
        }
    }
}

extension JSONWriterTests {
    /// Alert ids (`quotedHex`) are 16 lowercase hex digits, quoted.
    @Test func hexIsWrittenAsStringRadix16() {
        var rng = DifferentialTests.SplitMix(state: 13)
        let samples: [UInt64] = [0, 1, 9, 10, 15, 16, 0xABCDEF, .max, 0x0123_4567_89AB_CDEF, 0xF000_0000_0000_000A]
            + (0..<20_000).map { _ in UInt64.random(in: 0...UInt64.max, using: &rng) }
        for v in samples {
            var w = JSONWriter()
            w.quotedHex(v)
            let digits = String(v, radix: 16)
            #expect(String(decoding: w.bytes, as: UTF8.self) == "\"" + String(repeating: "0", count: 16 - digits.count) + digits + "\"")
        }
    }
}

extension JSONWriterTests {
    /// An alert id hashes its key values' JSON text (`FNV1a.add(json:)`): a plain string
    /// is hashed byte by byte where it is, and must hash as its text does.
    @Test func keyValuesHashAsTheirJSONText() {
        var rng = DifferentialTests.SplitMix(state: 29)
        let pieces = ["u", "227", "\"", "\\", "\t", "\u{1}", "é", "日本", "🙂", " ", "abcdefgh", "\u{7F}"]
        var values: [Value] = [.null, .int(-3), .double(1.25), .bool(true), .timestamp(1_700_000_000_000), .duration(60_000),
                               .string(""), .string("u227"), .string(String(repeating: "x", count: 40))]
        for _ in 0..<5_000 {
            let n = Int.random(in: 0...6, using: &rng)
            values.append(.string((0..<n).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &rng)] }.joined()))
        }
        for v in values {
            var fast = FNV1a(), text = FNV1a()
            fast.add(Int64(7))
            text.add(Int64(7))
            fast.add(json: v)
            text.add(v.json)
            #expect(fast.value == text.value, "\(v)")
        }
    }
}
