import Testing
@testable import VigilRuntime

/// Values written over in place without reference counting (`ValueSlot`) must leave
/// the row as ordinary assignment does, whatever the row held before.
@Suite struct ValueSlotTests {
    /// On this platform the layout holds, so the test below runs the fast path.
    @Test func theLayoutIsTheOneExpected() {
        #expect(ValueSlot.stringTag != nil)
    }

    @Test func writesAreAssignments() {
        var rng = DifferentialTests.SplitMix(state: 5)
        let long = String(repeating: "long string ", count: 3)
        func random() -> Value {
            switch Int.random(in: 0...8, using: &rng) {
            case 0: .null
            case 1: .int(Int64.random(in: Int64.min...Int64.max, using: &rng))
            case 2: .double(Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &rng)))
            case 3: .bool(Bool.random(using: &rng))
            case 4: .timestamp(Int64.random(in: 0...2_000_000_000_000, using: &rng))
            case 5: .duration(Int64.random(in: -1000...1000, using: &rng))
            case 6: .string(long + String(Int.random(in: 0...9, using: &rng)))   // held elsewhere
            case 7: .string("caf\u{E9}")
            default: .string(String((0..<Int.random(in: 0...15, using: &rng)).map { _ in "aZ09 _-".randomElement(using: &rng)! }))
            }
        }
        for _ in 0..<50_000 {
            var row = (0..<4).map { _ in random() }
            var expected = row
            let slot = Int.random(in: 0..<4, using: &rng)
            let new = random()
            expected[slot] = new
            row.withUnsafeMutableBufferPointer { p in
                let at = p.baseAddress! + slot
                if case .string(let s) = new, let stringTag = ValueSlot.stringTag, let w = SmallASCII.words(s) {
                    ValueSlot.setSmallASCII(at, low: w.low, high: w.high, count: w.count, stringTag: stringTag)
                } else if case .string = new {
                    at.pointee = new
                } else {
                    ValueSlot.setPlain(at, new, stringTag: ValueSlot.stringTag)
                }
            }
            // Doubles by their bits (NaN is not equal to itself).
            func same(_ a: Value, _ b: Value) -> Bool {
                if case .double(let x) = a, case .double(let y) = b { return x.bitPattern == y.bitPattern }
                return a == b && a.hashValue == b.hashValue
            }
            #expect(zip(row, expected).allSatisfy(same), "\(row) \(expected)")
        }
    }
}

extension ValueSlotTests {
    /// Alert lines write a key's short plain strings read in place
    /// (`JSONWriter.smallString(at:)`, `stringPart(at:)`): the bytes must be those of
    /// `value` and `stringPart`, and anything else must be left to them.
    @Test func stringsReadInPlaceAreWrittenAsValues() {
        var rng = DifferentialTests.SplitMix(state: 5)
        let pieces = ["u", "227", "\"", "\\", "\t", "é", "abcdefgh", "x"]
        var values: [Value] = [.null, .int(12), .double(2.5), .bool(false), .timestamp(3), .string(""), .string("abcdefghijklmno"),
                               .string("abcdefghijklmnop")]
        for _ in 0..<3_000 {
            let n = Int.random(in: 0...5, using: &rng)
            values.append(.string((0..<n).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &rng)] }.joined()))
        }
        var inPlace = 0
        values.withUnsafeBufferPointer { vals in
            for i in vals.indices {
                var quoted = JSONWriter(), expectedQuoted = JSONWriter()
                if quoted.smallString(at: vals.baseAddress! + i) { inPlace += 1 } else { quoted.value(vals[i]) }
                expectedQuoted.value(vals[i])
                #expect(quoted.bytes == expectedQuoted.bytes, "\(vals[i])")
                guard case .string(let s) = vals[i] else {
                    var none = JSONWriter()
                    #expect(!none.stringPart(at: vals.baseAddress! + i) && none.count == 0)
                    continue
                }
                var part = JSONWriter(), expectedPart = JSONWriter()
                if !part.stringPart(at: vals.baseAddress! + i) { part.stringPart(s) }
                expectedPart.stringPart(s)
                #expect(part.bytes == expectedPart.bytes, "\(s)")
            }
        }
        // Both ways were taken.
        #expect(inPlace > 500 && inPlace < values.count - 500, "\(inPlace) of \(values.count) in place")
    }
}
