import Benchmark
import Foundation
import VigilRuntime

/// JSON Lines decoding alone: 200,000 lines shaped like gen_events.py's, decoded
/// against the workload's stream schema (the decoder `vigil run` uses).
let schema = StreamSchema(
    name: "events",
    fields: [.init(name: "ts", type: .timestamp), .init(name: "user", type: .string), .init(name: "type", type: .string),
             .init(name: "amount", type: .double), .init(name: "country", type: .string), .init(name: "merchant", type: .string)],
    keySlots: [1], timeSlot: 0, latenessMs: 5000, idleTimeoutMs: nil)

func lines(_ count: Int) -> [[UInt8]] {
    var state: UInt64 = 7
    func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 33
    }
    let types = ["A", "B", "C", "D", "E"], countries = ["US", "GB", "DE", "FR", "NG", "BR", "IN", "JP"]
    return (0..<count).map { i in
        let amount = Double(next() % 100_000) / 100
        return Array(("{\"ts\":\(1_700_000_000_000 + Int64(i)),\"user\":\"u\(next() % 10_000)\",\"type\":\"\(types[Int(next() % 5)])\","
                      + "\"amount\":\(amount),\"country\":\"\(countries[Int(next() % 8)])\",\"merchant\":\"m\(next() % 1000)\"}").utf8)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(10)
    Benchmark.defaultConfiguration.maxIterations = 10
    let input = lines(200_000)
    let decoder = JSONLineDecoder(schema: schema, stream: 0)
    Benchmark("JSONL-decode-200k-lines", configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .one,
                                                                     thresholds: [.mallocCountTotal: .init(absolute: [.p90: 2_000])])) { _ in
        var decoded = 0
        for (i, line) in input.enumerated() {
            line.withUnsafeBufferPointer { bytes in
                if case .success = decoder.decode(bytes, origin: EventOrigin(input: 0, line: Int64(i + 1))) { decoded += 1 }
            }
        }
        blackHole(decoded)
    }
    // The schema scanner prototype: field ranges and numbers, the key hashed.
    let scanner = SchemaScanner(fields: [("ts", true), ("user", false), ("type", false), ("amount", true), ("country", false), ("merchant", false)])
    Benchmark("schema-scanner-200k-lines", configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .one)) { _ in
        var f = SchemaScanner.Fields(starts: Array(repeating: -1, count: 6), ends: Array(repeating: 0, count: 6),
                                     numbers: Array(repeating: 0, count: 6), integers: Array(repeating: 0, count: 6))
        var h: UInt64 = 0
        var sum = 0.0
        for line in input {
            line.withUnsafeBufferPointer { bytes in
                guard scanner.scan(bytes, into: &f) else { return }
                var k: UInt64 = 0xcbf2_9ce4_8422_2325
                for j in Int(f.starts[1])..<Int(f.ends[1]) { k = (k ^ UInt64(bytes[j])) &* 0x0000_0100_0000_01B3 }
                h ^= k &+ UInt64(bitPattern: f.integers[0])
                sum += f.numbers[3]
            }
        }
        blackHole((h, sum))
    }
}
