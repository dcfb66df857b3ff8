import Testing
@testable import VigilRuntime

/// Bound lists against plain arrays: random appends, copies (a partial match that
/// branches), releases to the spares and drops, with one pool of spare buffers reused
/// throughout. A buffer a copy still holds must never be handed out or written: every
/// list reads what its model says after every step.
@Suite struct BoundListTests {
    @Test func behaveLikeArraysWhileSharingBuffers() {
        var rng = DifferentialTests.SplitMix(state: 5)
        var spares = SpareBuffers<SpillBuffer>()
        var lists: [BoundList] = [BoundList()]
        var models: [[BoundSlot]] = [[]]
        var next: Int32 = 0
        for step in 0..<6_000 {
            let i = Int(rng.next() % UInt64(lists.count))
            switch rng.next() % 10 {
            case 0..<6:
                // Runs long enough to spill and grow several times.
                for _ in 0..<Int(1 + rng.next() % 5) {
                    next += 1
                    let s = BoundSlot(binding: Int32(next % 3), slot: next)
                    lists[i].append(s, spares: &spares)
                    models[i].append(s)
                }
            case 6, 7:
                if lists.count < 40 {
                    lists.append(lists[i])
                    models.append(models[i])
                }
            case 8:
                lists[i].release(to: &spares)
                models[i] = []
            default:
                if lists.count > 1 {
                    lists.remove(at: i)
                    models.remove(at: i)
                }
            }
            for k in lists.indices {
                #expect(Array(lists[k]) == models[k], "list \(k) after step \(step)")
                if Array(lists[k]) != models[k] { return }
            }
        }
    }

    /// A released buffer is a spare with room; one a copy still holds is not.
    @Test func onlyBuffersHeldByNoOneAreSpares() {
        var spares = SpareBuffers<SpillBuffer>()
        var list = BoundList()
        // Spilled (past three), not grown (room for eight).
        for k in 0..<6 { list.append(BoundSlot(binding: 0, slot: Int32(k)), spares: &spares) }
        let copy = list
        list.release(to: &spares)
        #expect(list.isEmpty)
        #expect(spares.take(atLeast: 1) == nil)
        #expect(Array(copy).map(\.slot) == Array(0..<6))
        var alone = copy
        alone.release(to: &spares)
        #expect(spares.take(atLeast: 1) == nil, "the first copy still holds it")
        var other = BoundList()
        for k in 0..<10 { other.append(BoundSlot(binding: 0, slot: Int32(k)), spares: &spares) }
        other.release(to: &spares)
        // Room for sixteen, released; the eight it grew out of is a spare too.
        let taken = spares.take(atLeast: 9)
        #expect(taken != nil && taken!.room >= 9)
    }
}
