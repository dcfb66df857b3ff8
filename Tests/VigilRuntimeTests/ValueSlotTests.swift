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
