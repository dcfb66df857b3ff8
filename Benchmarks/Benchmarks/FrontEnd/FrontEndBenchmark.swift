import Benchmark
import VigilLanguage

/// A large, valid rule file: `blocks` copies of a stream with rules, flows and
/// aggregates over it that exercise every part of the front end (patterns with
/// quantifiers and negation, regexes, templates, windows, sessions, tables).
func generatedRuleFile(blocks: Int) -> SourceFile {
    var text = ""
    text.reserveCapacity(blocks * 2400)
    for i in 0..<blocks {
        text += """
            stream events_\(i)
              key user
              time ts
              lateness 5s
              fields
                user: string
                ts: timestamp
                type: string
                amount: double
                country: string
                merchant: string
                process.parent.name: string

            rule seq_\(i)
              severity high
              tags bench, fraud
              from events_\(i)
              match
                a: type == "A" and amount < 10.0
                then b: type == "B" {3,} until type == "C"
                then c: type == "C" and country != a.country and amount > avg(b.amount)
              within 30m
              after match skip past last
              alert "user {user}: {count(b)} b events, then {c.amount} in {c.country}"
              suppress 10m by user

            rule absence_\(i)
              from events_\(i) by user, country
              match
                a: type == "A" and merchant matches /^acme-[0-9]+$/i
                then not b: type == "B"
              within 10m
              alert medium "{user} in {country}: no B after A at {a.merchant}"

            rule session_\(i)
              from events_\(i)
              session gap 30m
              having count(type == "add_to_cart") > 0 and count(type == "purchase") == 0
              alert low "{user} left after {duration} with {sum(amount)}"

            flow clean_\(i)
              from events_\(i)
              where amount > 0 and lower(country) in ("us", "gb", "de")
              expect known: country is not null else quarantine
              select user, ts, amount * 1.2 as gross, process.parent.name
              into table silver.clean_\(i)

            aggregate totals_\(i)
              from events_\(i) by country
              window hopping 10m every 1m allowed lateness 1m
              select count() as n, sum(amount) as total, p95(amount) as p95_amount
              into table gold.totals_\(i) merge on (country, window_start)


            """
    }
    return SourceFile(path: "generated.vigil", text: text)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(10)
    Benchmark.defaultConfiguration.maxIterations = 20

    let file = generatedRuleFile(blocks: 2000)
    let megabytes = Double(file.bytes.count) / 1_000_000

    // One iteration checks the whole file; throughput (scaled by bytes) reads as B/s.
    Benchmark(
        "check a generated rule file (\(Int(megabytes * 10) / 10).\(Int(megabytes * 10) % 10) MB)",
        configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
                             scalingFactor: .one)
    ) { benchmark in
        let result = Frontend.check([file])
        precondition(!result.hasErrors, "the generated file must check clean")
        blackHole(result)
    }

    let parensFile = SourceFile(path: "parens.vigil", bytes: Array(repeating: UInt8(ascii: "("), count: 10 * 1024 * 1024))
    Benchmark("reject 10 MB of `(`", configuration: .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident])) { _ in
        let result = Frontend.check([parensFile])
        precondition(result.hasErrors)
        blackHole(result)
    }
}
