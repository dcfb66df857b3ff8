import Foundation
import Testing
@testable import VigilRuntime

/// The event store against a dictionary of the events still referred to: random adds
/// (copied or taken) and drops over two streams of different widths, a sweep whenever
/// the store is full.
/// Every event referred to must read back as it was added, through sweeps and growth,
/// and the store must stay within a small multiple of what is referred to.
@Suite struct EventStoreTests {
    @Test func keepsWhatIsReferredToAndReusesTheRest() {
        var rng = DifferentialTests.SplitMix(state: 23)
        let store = EventStore(widths: [3, 1], capacity: 2)
        var held: [Int32: Event] = [:]
        var lines: [Int32: [UInt8]] = [:]
        var peak = 0
        for line in 1...50_000 {
            let stream = Int32.random(in: 0...1, using: &rng)
            let values: [Value] = stream == 0
                ? [.timestamp(Int64(line)), .string("user-\(line % 97)-with-a-name-longer-than-a-word"), .double(Double(line) / 8)]
                : [.int(Int64(line))]
            let e = Event(stream: stream, ts: Int64(line), origin: EventOrigin(input: stream, line: Int64(line)), values: values)
            if store.isFull {
                store.beginMark()
                for slot in held.keys { store.mark(slot) }
                store.sweep()
                #expect(store.taken == held.count)
            }
            var taken = e
            // Taken events come with a line some of the time (kept up to `lineRoom` bytes).
            let text = Array("line \(line)".utf8) + Array(repeating: UInt8(ascii: "x"), count: line % 7 == 0 ? EventStore.lineRoom : line % 13)
            let withLine = line % 3 != 0
            let slot = line % 2 == 0 ? store.add(e) : text.withUnsafeBufferPointer { store.add(taking: &taken, line: withLine ? $0 : nil) }
            #expect(held[slot] == nil, "a slot still referred to was given out again")
            held[slot] = e
            lines[slot] = line % 2 == 1 && withLine && text.count <= EventStore.lineRoom ? text : nil
            // Drop some at random; the number referred to drifts between 0 and ~1,000.
            let target = 500 + Int(500 * sin(Double(line) / 3_000))
            while held.count > target, let k = held.keys.randomElement(using: &rng) { held[k] = nil }
            peak = max(peak, held.count)
            if line % 1_000 == 0 {
                for (slot, e) in held {
                    let got = store.event(slot)
                    #expect(got.stream == e.stream && got.ts == e.ts && got.origin == e.origin && got.values == e.values)
                    #expect(store.stamp(slot) == EventStamp(e))
                    #expect(store.view.line(slot).map(Array.init) == lines[slot], "slot \(slot)")
                }
            }
        }
        #expect(store.capacity <= 8 * peak)
    }

    /// A copy has the same events in the same slots, and adding to one leaves the other.
    @Test func aCopyIsIndependent() {
        let store = EventStore(widths: [1], capacity: 2)
        let a = store.add(Event(stream: 0, ts: 1, origin: EventOrigin(input: 0, line: 1), values: [.string("a")]))
        let copy = store.copy()
        let b = store.add(Event(stream: 0, ts: 2, origin: EventOrigin(input: 0, line: 2), values: [.string("b")]))
        let c = copy.add(Event(stream: 0, ts: 3, origin: EventOrigin(input: 0, line: 3), values: [.string("c")]))
        #expect(b == c)
        #expect(store.event(a).values == [.string("a")] && copy.event(a).values == [.string("a")])
        #expect(store.event(b).values == [.string("b")] && copy.event(c).values == [.string("c")])
        // Kept lines are copied too, and then each store's own.
        var d = Event(stream: 0, ts: 4, origin: EventOrigin(input: 0, line: 4), values: [.string("d")])
        let slot = Array("{\"d\"}".utf8).withUnsafeBufferPointer { store.add(taking: &d, line: $0) }
        let again = store.copy()
        var e = Event(stream: 0, ts: 5, origin: EventOrigin(input: 0, line: 5), values: [.string("e")])
        #expect(Array("{\"e\"}".utf8).withUnsafeBufferPointer { store.add(taking: &e, line: $0) } != slot)
        #expect(again.view.line(slot).map(Array.init) == Array("{\"d\"}".utf8))
        #expect(copy.view.line(slot) == nil)
    }
}
