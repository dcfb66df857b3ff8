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
}
