import Testing
@testable import VigilRuntime

/// The reorder buffer against a sorted list: events arrive mostly in order (the FIFO
/// path) with stragglers and ties in time (the heap path), for two rules that take
/// events at their own pace; every pop must be the least waiting event of its rule,
/// with the hash of its key fields. The events live in an `EventStore` that starts
/// with two slots, so waiting events must survive its sweeps and growth.
@Suite struct ReorderBufferTests {
    @Test func releasesInEventTimeOrder() {
        var rng = DifferentialTests.SplitMix(state: 5)
        let fields: [[[Int]?]] = [[[1]], [nil]]
        var buffer = ReorderBuffer(keyFields: fields, streams: 1)
        let store = EventStore(widths: [2], capacity: 2)
        var model: [[Event]] = [[], []]
        var ts: Int64 = 0
        var popped = 0
        for line in 1...40_000 {
            // Mostly forward; one in five goes back up to 50 ms; ties happen.
            ts += Int64.random(in: 0...3, using: &rng)
            let t = Int.random(in: 0..<5, using: &rng) == 0 ? ts - Int64.random(in: 0...50, using: &rng) : ts
            let e = Event(stream: 0, ts: t, origin: EventOrigin(input: Int32.random(in: 0...1, using: &rng), line: Int64(line)),
                          values: [.timestamp(t), .string("k\(line % 17)")])
            let rules = [0, 1].filter { _ in Int.random(in: 0..<4, using: &rng) != 0 }
            if !rules.isEmpty {
                if store.isFull {
                    store.beginMark()
                    buffer.mark(store)
                    store.sweep()
                }
                buffer.push(slot: store.add(e), store: store.view, rules: rules)
            }
            for r in rules { model[r].append(e) }
            for r in 0..<2 {
                for _ in 0..<Int.random(in: 0...2, using: &rng) where !model[r].isEmpty {
                    let i = model[r].indices.min { model[r][$0].precedes(model[r][$1]) }!
                    let expected = model[r].remove(at: i)
                    #expect(buffer.nextTs(rule: r) == expected.ts)
                    let (slot, hash) = buffer.pop(rule: r, store: store.view)
                    let got = store.event(slot)
                    #expect(got.origin == expected.origin && got.ts == expected.ts && got.values == expected.values)
                    #expect(hash == (r == 0 ? KeyTable.hash(got, [1]) : 0))
                    popped += 1
                }
                if model[r].isEmpty { #expect(buffer.nextTs(rule: r) == nil) }
            }
            if line % 10_000 == 0 {
                // A snapshot's view: each rule's waiting events, in order.
                for r in 0..<2 {
                    #expect(buffer.waiting(rule: r).map { store.origins[Int($0)] } == model[r].sorted { $0.precedes($1) }.map(\.origin))
                }
            }
        }
        #expect(popped > 40_000)
        // Swept as it went: the store holds about what waits, not every event.
        #expect(store.capacity <= 256)
    }
}
