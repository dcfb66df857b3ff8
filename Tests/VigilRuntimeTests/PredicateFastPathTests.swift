import Testing
import VigilRuntime

/// `field OP literal` conditions compile to closures that compare the field's own type
/// in place, and to `FieldTest`s the matcher runs without the closure; both must agree
/// with the general comparison (`ValueOps.compare`) on every operator, type pairing and
/// null, and conjunctions of them with `and`'s three-valued logic.
@Suite struct PredicateFastPathTests {
    /// The stream every rule here reads: a key, a time, and a field of each type tested.
    static let stream = """
        stream s
          key k
          time ts
          fields
            k: string
            ts: timestamp
            s: string
            d: double
            n: int

        """

    @Test func fieldAgainstLiteralAgreesWithTheGeneralComparison() throws {
        let ops = ["==", "!=", "<", "<=", ">", ">="]
        let literals: [(field: String, text: String, value: Value)] = [
            ("s", "\"m\"", .string("m")), ("s", "\"\"", .string("")), ("s", "\"\u{E9}\"", .string("\u{E9}")),
            ("s", "\"mmmmmmmmmmmmmmmmmmmm\"", .string("mmmmmmmmmmmmmmmmmmmm")), ("d", "1.5", .double(1.5)), ("d", "2", .int(2)),
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
        let program = try Harness.compile(Self.stream + rules)
        // Strings kept in place and not, equal in another normal form, and one byte apart.
        let samples: [Value] = [.null, .string("m"), .string("a"), .string("z"), .string(""), .string("é"), .string("e\u{301}"), .string("mm"),
                                .string("mmmmmmmmmmmmmmmmmmmm"), .string("mmmmmmmmmmmmmmmmmmmn"), .string("m\u{301}"),
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
                // The matcher tests the same condition without the closure.
                let tests = try #require(predicate.tests, "\(predicate.text) is a plain field test")
                let held = values.withUnsafeBufferPointer { row in tests.allSatisfy { $0.holds(row.baseAddress!) } }
                #expect(held == got.isTrue, "field test \(c.op) \(c.value) on \(v)")
                checked += 1
            }
        }
        #expect(checked == literals.count * ops.count * samples.count)
    }

    @Test func conjunctionsOfFieldTestsHoldExactlyWhenTheConditionIsTrue() throws {
        let conditions = ["s == \"m\" and n > 2", "n >= 3 and d < 2.5 and s != \"a\"", "d == 1.5 and n <= -1"]
        var rules = ""
        for (i, c) in conditions.enumerated() { rules += "rule r\(i)\n  from s\n  match\n    a: \(c)\n  alert \"m\"\n\n" }
        // `or`, a function or a binding is not a plain test: the closure decides.
        rules += "rule other\n  from s\n  match\n    a: s == \"m\" or n > 2\n  alert \"m\"\n\n"
        let program = try Harness.compile(Self.stream + rules)
        #expect(program.rules[conditions.count].pattern.steps[0].alternatives[0].predicate.tests == nil)
        let strings: [Value] = [.null, .string("m"), .string("a")]
        let doubles: [Value] = [.null, .double(1.5), .double(3), .double(.nan)]
        let ints: [Value] = [.null, .int(3), .int(-1), .int(2)]
        var checked = 0
        for r in conditions.indices {
            let predicate = program.rules[r].pattern.steps[0].alternatives[0].predicate
            let tests = try #require(predicate.tests)
            for s in strings {
                for d in doubles {
                    for n in ints {
                        let values: [Value] = [.string("k"), .timestamp(0), s, d, n]
                        let e = Event(stream: 0, ts: 0, origin: EventOrigin(input: 0, line: 1), values: values)
                        let got = predicate.eval(EvalContext(event: e, bound: BoundEvents(), key: [], detectedAt: 0))
                        let held = values.withUnsafeBufferPointer { row in tests.allSatisfy { $0.holds(row.baseAddress!) } }
                        #expect(held == got.isTrue, "\(predicate.text) on \(values)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked == conditions.count * 48)
    }
}
