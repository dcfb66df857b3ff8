import Testing
import VigilRuntime

/// `field OP literal` conditions compile to closures that compare the field's own type
/// in place; they must agree with the general comparison (`ValueOps.compare`) on every
/// operator, type pairing and null.
@Suite struct PredicateFastPathTests {
    @Test func fieldAgainstLiteralAgreesWithTheGeneralComparison() throws {
        let ops = ["==", "!=", "<", "<=", ">", ">="]
        let literals: [(field: String, text: String, value: Value)] = [
            ("s", "\"m\"", .string("m")), ("s", "\"\"", .string("")), ("d", "1.5", .double(1.5)), ("d", "2", .int(2)),
            ("n", "3", .int(3)), ("n", "2.5", .double(2.5)), ("n", "-1", .int(-1)),
        ]
        var conditions: [(slot: Int, op: String, value: Value)] = []
        var rules = ""
        for (i, (field, text, value)) in literals.enumerated() {
            for (j, op) in ops.enumerated() {
                rules += "rule r\(i)_\(j)\n  from s\n  match\n    a: \(field) \(op) \(text)\n  alert \"m\"\n\n"
                conditions.append((["k", "ts", "s", "d", "n"].firstIndex(of: field)!, op, value))
            }
        }
        let program = try Harness.compile("""
            stream s
              key k
              time ts
              fields
                k: string
                ts: timestamp
                s: string
                d: double
                n: int

            """ + rules)
        let samples: [Value] = [.null, .string("m"), .string("a"), .string("z"), .string(""), .string("é"),
                                .double(1.5), .double(-0.0), .double(2), .double(.nan), .double(.infinity), .double(2.5),
                                .int(3), .int(2), .int(-1), .int(.max)]
        var checked = 0
        for (r, c) in conditions.enumerated() {
            let predicate = program.rules[r].pattern.steps[0].alternatives[0].predicate
            for v in samples {
                var values: [Value] = [.string("k"), .timestamp(0), .null, .null, .null]
                values[c.slot] = v
                let e = Event(stream: 0, ts: 0, origin: EventOrigin(input: 0, line: 1), values: values)
                let got = predicate.eval(EvalContext(event: e, bound: BoundEvents(), key: [], detectedAt: 0))
                let expected: Value = ValueOps.compare(v, c.value).map { cmp in
                    switch c.op {
                    case "==": .bool(cmp == 0)
                    case "!=": .bool(cmp != 0)
                    case "<": .bool(cmp < 0)
                    case "<=": .bool(cmp <= 0)
                    case ">": .bool(cmp > 0)
                    default: .bool(cmp >= 0)
                    }
                } ?? .null
                #expect(got == expected, "\(c.op) \(c.value) on \(v)")
                checked += 1
            }
        }
        #expect(checked == literals.count * ops.count * samples.count)
    }
}
