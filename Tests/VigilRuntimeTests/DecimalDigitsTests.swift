import Testing
@testable import VigilRuntime

/// Digits read eight at a time must be what reading them one by one gives.
@Suite struct DecimalDigitsTests {
    /// Every byte, at every place in a word: a digit is told from the bytes around
    /// `0`–`9` in ASCII (`/`, `:`) and from every byte with its high bit set.
    @Test func everyByteIsToldAtEveryPlace() {
        for b in 0...255 {
            for place in 0..<8 {
                let word = UInt64(0x3030_3030_3030_3030) & ~(0xFF << (8 * UInt64(place))) | UInt64(b) << (8 * UInt64(place))
                let flagged = DecimalDigits.nonDigits(word)
                let isDigit = b >= 0x30 && b <= 0x39
                #expect(flagged == (isDigit ? 0 : 0x80 << (8 * UInt64(place))), "byte \(b) at \(place)")
            }
        }
    }

    /// Runs of 0 to 20 digits, each followed by a byte that is not one: the value and the
    /// count (up to 16) are those of the first 16 digits read one by one.
    @Test func runsReadAsTheirDigits() {
        var rng = DifferentialTests.SplitMix(state: 41)
        let ends: [UInt8] = Array(",.}/:e\" ".utf8) + [0, 0x80, 0xC3, 0xFF]
        var seen = Set<Int>()
        for _ in 0..<50_000 {
            let n = Int.random(in: 0...20, using: &rng)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0x30...0x39, using: &rng) }
            bytes.append(ends.randomElement(using: &rng)!)
            // 16 readable bytes from the start, whatever follows.
            while bytes.count < 32 { bytes.append(UInt8.random(in: 0...255, using: &rng)) }
            var value: UInt64 = 0, count = 0
            for b in bytes.prefix(16) {
                guard b >= 0x30 && b <= 0x39 else { break }
                value = value * 10 + UInt64(b - 0x30)
                count += 1
            }
            let read = bytes.withUnsafeBufferPointer { DecimalDigits.read($0.baseAddress!, 0) }
            #expect(read.count == count && read.value == value, "\(bytes.prefix(n + 1)): \(read) against \(value), \(count)")
            seen.insert(count)
        }
        // Every count was tried, 16 (a run that may go on) included.
        #expect(seen == Set(0...16))
    }
}
