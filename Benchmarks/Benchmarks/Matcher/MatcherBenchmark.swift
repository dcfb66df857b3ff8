import Benchmark
import Foundation
import VigilCompiler
import VigilLanguage
import VigilRuntime

/// Q1–Q4 of ../shared/bench/QUERIES.md through the detector on pre-decoded events, so
/// the numbers are the matcher's alone (decoding and output excluded). Events follow
/// gen_events.py's distribution (types A–E 30/30/20/10/10 %, skewed keys, ~1 ms gaps),
/// drawn from a fixed-seed generator.
func workloadEvents(count: Int, keys: Int) -> [Event] {
    var state: UInt64 = 7
    func next() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 53)
    }
    let types = ["A", "B", "C", "D", "E"], cum = [0.3, 0.6, 0.8, 0.9, 1.0]
    let countries = ["US", "GB", "DE", "FR", "NG", "BR", "IN", "JP"]
    var t = 1_700_000_000_000.0
    return (0..<count).map { i in
        t += -log(1 - next())
        let key = Int(Double(keys) * next() * next())
        let r = next()
        let type = types[cum.firstIndex { r < $0 }!]
        let amount = (exp(3.0 + 1.5 * sqrt(-2 * log(1 - next())) * cos(2 * .pi * next())) * 100).rounded() / 100
        let country = countries[Int(Double(countries.count) * pow(next(), 3))]
        return Event(stream: 0, ts: Int64(t), origin: EventOrigin(input: 0, line: Int64(i + 1)),
                     values: [.timestamp(Int64(t)), .string("u\(key)"), .string(type), .double(amount),
                              .string(country), .string("m\(i % 1000)")])
    }
}

func program(_ query: Int) -> Program {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("workload/q\(query).vigil")
    let text = try! String(contentsOf: url, encoding: .utf8)
    let result = Frontend.check([SourceFile(path: url.path, text: text)])
    return Compiler.compile(result.ruleSet!).program
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(10)
    Benchmark.defaultConfiguration.maxIterations = 10
    let events = workloadEvents(count: 200_000, keys: 10_000)
    for q in 1...4 {
        let p = program(q)
        // Throughput scaled to events: "# / s" reads as events per second; the malloc
        // count divided by 200,000 is allocations per event.
        Benchmark("Q\(q) matcher, 200k events, 10k keys",
                  configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
                                       scalingFactor: .one)) { benchmark in
            var detector = Detector(program: p)
            var alerts = 0
            for e in events {
                for o in detector.accept(e) { if case .alert = o { alerts += 1 } }
            }
            for o in detector.finish() { if case .alert = o { alerts += 1 } }
            blackHole(alerts)
        }
    }
}
