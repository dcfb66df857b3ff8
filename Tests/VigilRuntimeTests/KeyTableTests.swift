import Foundation
import Testing
@testable import VigilRuntime

/// The interned key table against a dictionary: random inserts, removals and lookups
/// (by key and by an event's fields), through growth, tombstones and a snapshot.
@Suite struct KeyTableTests {
    @Test func behavesLikeADictionary() throws {
        var rng = DifferentialTests.SplitMix(state: 11)
        var table = KeyTable()
        var model: [[Value]: Int32] = [:]
        func key(_ n: Int) -> [Value] { [.string("u\(n % 997)"), n % 3 == 0 ? .null : .int(Int64(n / 997)), .double(n % 5 == 0 ? -0.0 : 0.0)] }
        for step in 0..<60_000 {
            let n = Int.random(in: 0..<5_000, using: &rng)
            let k = key(n)
            let e = Event(stream: 0, ts: 0, origin: EventOrigin(input: 0, line: 0), values: [.int(1)] + k)
            let found = table.find(e, fields: [1, 2, 3], hash: KeyTable.hash(e, [1, 2, 3]))
            #expect(found == model[k])
            #expect(table.find(k) == model[k])
            if let slot = found {
                #expect(table.keys[Int(slot)] == k)
                if Bool.random(using: &rng) {
                    table.remove(slot)
                    model[k] = nil
                }
            } else {
                model[k] = table.insert(k, hash: KeyTable.hash(k))
            }
            #expect(table.count == model.count)
            if step % 20_000 == 19_999 {
                table = try JSONDecoder().decode(KeyTable.self, from: JSONEncoder().encode(table))
                for (k, slot) in model { #expect(table.find(k) == slot) }
            }
        }
        // -0.0 and 0.0 are one key, as in a dictionary.
        #expect(table.find([.string("u5"), .int(0), .double(0.0)]) == table.find([.string("u5"), .int(0), .double(-0.0)]))
    }
}
