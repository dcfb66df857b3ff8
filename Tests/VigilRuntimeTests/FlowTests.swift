import Testing
import VigilRuntime

/// Flows: enrich, `where`, expectations and their actions, projection — evaluated per
/// event at arrival, with the counters the run summary shows.
@Suite struct FlowTests {
    static let rules = """
        stream pay
          key card
          time ts
          lateness 0s
          fields
            card: string
            ts: timestamp
            amount: double
            country: string
            shop: int

        reference cards from "cards.csv"
          key card
          fields
            card: string
            home: string
            limit: double

        reference shops from "shops.csv"
          key id
          fields
            id: double
            name: string

        flow f
          from pay
          enrich with cards on card
          enrich with shops on shop
          where amount != 0
          expect known: country in ("US", "FR") else quarantine
          expect home: country == cards.home else warn
          expect named: name is not null else drop
          expect sane: amount > -100 else fail
          select card, amount, name, amount > limit as over
          into table silver.p
        """

    static func setUp() throws -> (Program, [ReferenceTable]) {
        let program = try Harness.compile(rules)
        let cards = try ReferenceTable(spec: program.references[0], rows: [
            [.string("c1"), .string("US"), .double(100)],
            [.string("c2"), .string("FR"), .double(10)],
        ])
        // An int field joins a double key by value.
        let shops = try ReferenceTable(spec: program.references[1], rows: [[.double(7), .string("seven")]])
        return (program, [cards, shops])
    }

    static func event(_ line: Int64, _ card: String, _ ts: Int64, _ amount: Double, _ country: String?, shop: Int64 = 7) -> Event {
        Event(stream: 0, ts: ts, origin: EventOrigin(input: 0, line: line),
              values: [.string(card), .timestamp(ts), .double(amount), country.map(Value.string) ?? .null, .int(shop)])
    }

    static func rows(_ out: [DetectorOutput]) -> [String] {
        out.compactMap { o in
            guard case .row(let r) = o else { return nil }
            return r.table + " " + r.values.map { $0.templateText }.joined(separator: " ")
        }
    }

    @Test func eachEventIsEnrichedFilteredCheckedAndProjected() throws {
        let (program, refs) = try Self.setUp()
        var d = Detector(program: program, references: refs)
        var out: [DetectorOutput] = []
        out += d.accept(Self.event(1, "c1", 10, 50, "US"))              // written
        out += d.accept(Self.event(2, "c2", 20, 50, "US"))              // home fails: warned, written
        out += d.accept(Self.event(3, "c1", 30, 0, "XX"))               // filtered by where
        out += d.accept(Self.event(4, "c9", 40, 5, "DE"))               // known and home fail: quarantined, unknown card
        out += d.accept(Self.event(5, "c1", 50, 5, "US", shop: 8))      // no shop name: dropped
        out += d.accept(Self.event(6, "c1", 60, 5, nil, shop: 8))       // null country: quarantine wins over drop
        out += d.accept(Self.event(7, "c1", 5, 200, "US"))              // late for rules, still a flow row
        #expect(Self.rows(out) == [
            "silver.p c1 50 seven false",
            "silver.p c2 50 seven true",
            "silver.p_quarantine c9 5 seven null known,home 1970-01-01T00:00:00.040Z",
            "silver.p_quarantine c1 5 null false known,home,named 1970-01-01T00:00:00.060Z",
            "silver.p c1 200 seven true",
        ])
        let s = d.stats.flows[0]
        #expect(s.events == 7 && s.filtered == 1 && s.written == 3 && s.dropped == 1 && s.quarantined == 2)
        #expect(s.failures == ["home": 3, "known": 2, "named": 2])
        #expect(d.stats.late == 0 && d.stats.events == 7)
    }

    @Test func aFailedFailExpectationStopsTheDetector() throws {
        let (program, refs) = try Self.setUp()
        var d = Detector(program: program, references: refs)
        #expect(Self.rows(d.accept(Self.event(1, "c1", 10, 50, "US"))).count == 1)
        let out = d.accept(Self.event(2, "c1", 20, -500, "DE"))
        guard case .stopped(let f)? = out.first, out.count == 1 else {
            Issue.record("expected a stop, got \(out)")
            return
        }
        #expect(f.description == "expectation `sane` of flow `f` failed: `amount > -100` is false (amount = -500.0)")
        #expect(f.expectations == ["sane", "known", "home"] && f.event.origin.line == 2)
        #expect(d.failure != nil)
        // Nothing after the stop is taken.
        #expect(d.accept(Self.event(3, "c1", 30, 5, "US")).isEmpty)
        #expect(d.stats.flows[0].written == 1)
    }

    @Test func countersSurviveASnapshot() throws {
        let (program, refs) = try Self.setUp()
        var d = Detector(program: program, references: refs)
        _ = d.accept(Self.event(1, "c9", 10, 50, "DE"))
        var restored = try Detector(program: program, restoring: try d.snapshot(), references: refs)
        _ = restored.accept(Self.event(2, "c1", 20, 50, "US"))
        #expect(restored.stats.flows[0].quarantined == 1 && restored.stats.flows[0].written == 1)
        restored.resetRunCounters()
        #expect(restored.stats.flows[0] == FlowStats())
    }

    @Test func duplicateReferenceKeysAreAnError() throws {
        let program = try Harness.compile(Self.rules)
        #expect(throws: ReferenceTable.DuplicateKey.self) {
            try ReferenceTable(spec: program.references[0], rows: [
                [.string("c1"), .string("US"), .double(1)], [.string("c1"), .string("FR"), .double(2)],
            ])
        }
    }
}
