import Testing
import VigilText
@testable import VigilRuntime

/// Short ASCII strings made and written as the words Swift keeps them in must be the
/// strings and bytes the standard library's general paths give.
@Suite struct SmallASCIITests {
    /// On this platform the layout holds, so the tests below run the fast paths (were it
    /// not to, every caller would take the general path and they would test nothing).
    @Test func theLayoutIsTheOneExpected() {
        #expect(SmallASCII.isAvailable)
    }

    /// Strings made from bytes anywhere in a line — at its start, in the middle, and
    /// ending at its last byte, where the 16 bytes are read backwards — equal the
    /// decoded bytes, and are made whenever they are ASCII and 16 bytes can be read.
    @Test func madeStringsAreTheDecodedBytes() {
        var rng = DifferentialTests.SplitMix(state: 21)
        let alphabet: [UInt8] = Array("abcXYZ019 \"\\:,{}~".utf8) + [0, 1, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xFF]
        for _ in 0..<100_000 {
            let n = Int.random(in: 1...40, using: &rng)
            let line = (0..<n).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
            let count = Int.random(in: 0...min(15, n), using: &rng)
            let start = Bool.random(using: &rng) ? n - count : Int.random(in: 0...(n - count), using: &rng)
            let bytes = Array(line[start..<start + count])
            line.withUnsafeBufferPointer { p in
                let made = SmallASCII.make(p, from: start, count: count)
                let ascii = bytes.allSatisfy { $0 < 0x80 }
                let readable = start + 16 <= n || start + count >= 16
                #expect((made != nil) == (ascii && readable), "\(line) \(start) \(count)")
                if let made {
                    #expect(made == String(decoding: bytes, as: UTF8.self))
                    #expect(Array(made.utf8) == bytes)
                }
            }
        }
    }

    /// A string written by the writer (quoted, or as part of a literal) is what
    /// `jsonQuote` gives, for short ASCII strings with and without characters to escape,
    /// and for the strings the fast path leaves to the general one.
    @Test func writtenStringsAreQuotedAsJSONQuoteQuotes() {
        var rng = DifferentialTests.SplitMix(state: 22)
        let alphabet = ["a", "Z", "0", " ", "\"", "\\", "\n", "\t", "\u{1}", "\u{1F}", "\u{7F}", "é", "€"]
        for _ in 0..<50_000 {
            let s = (0..<Int.random(in: 0...20, using: &rng)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }.joined()
            var quoted = JSONWriter()
            quoted.string(s)
            #expect(String(decoding: quoted.bytes, as: UTF8.self) == jsonQuote(s), "\(Array(s.utf8))")
            var parts = JSONWriter()
            parts.byte(UInt8(ascii: "\""))
            parts.stringPart(s)
            parts.stringPart(s)
            parts.byte(UInt8(ascii: "\""))
            #expect(String(decoding: parts.bytes, as: UTF8.self) == jsonQuote(s + s), "\(Array(s.utf8))")
            var event = JSONWriter()
            event.fields([.string(s)], keys: JSONKeys([Array("\"k\":".utf8)]), omitNulls: false)
            #expect(String(decoding: event.bytes, as: UTF8.self) == "\"k\":" + jsonQuote(s))
        }
    }

    /// Integers and timestamps are written as `String` writes them, at every length and
    /// both ends of the range.
    @Test func integersAreWrittenAsStringWritesThem() {
        var rng = DifferentialTests.SplitMix(state: 23)
        var samples: [Int64] = [0, 1, -1, 9, 10, 99, 100, Int64.max, Int64.min, Int64.min + 1]
        var p: Int64 = 1
        for _ in 0..<18 {
            p *= 10
            samples += [p - 1, p, p + 1, -p, -(p - 1)]
        }
        for _ in 0..<50_000 {
            samples.append(Int64.random(in: Int64.min...Int64.max, using: &rng) >> Int64.random(in: 0...63, using: &rng))
        }
        for n in samples {
            var w = JSONWriter()
            w.int(n)
            #expect(String(decoding: w.bytes, as: UTF8.self) == String(n))
            var f = JSONWriter()
            f.fields([.timestamp(n)], keys: JSONKeys([Array("\"t\":".utf8)]), omitNulls: false)
            #expect(String(decoding: f.bytes, as: UTF8.self) == "\"t\":" + String(n))
        }
    }
}
