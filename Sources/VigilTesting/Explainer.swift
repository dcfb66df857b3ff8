import VigilRuntime

/// Why an expected alert did not fire: the rule replayed alone over the case's events,
/// watching the expected key (or every key, when the expectation names none).
enum Explainer {
    static func explain(_ expected: ExpectedAlert, program: Program, events: [Event], fed: Set<Int>) -> [KeyExplanation] {
        let idle = program.streams.indices.filter { !fed.contains($0) }
        var key: [Value]?
        if let given = expected.key {
            let fields: [(name: String, type: FieldType)]
            if let r = program.rules.first(where: { $0.name == expected.rule }) {
                let schema = program.streams[r.streams[0]]
                fields = r.keySlots[r.streams[0]]!.map { (schema.fields[$0].name, schema.fields[$0].type) }
            } else if let w = program.windows.first(where: { $0.name == expected.rule }) {
                fields = w.keySlots.map { (program.streams[w.stream].fields[$0].name, program.streams[w.stream].fields[$0].type) }
            } else {
                return []
            }
            // Only a key given in full names one partition; otherwise explain every key.
            var values: [Value] = []
            for f in fields {
                guard let text = given.first(where: { $0.name == f.name })?.value, let v = value(text, f.type) else { values = []; break }
                values.append(v)
            }
            if values.count == fields.count { key = values }
        }
        return Detector.explain(program: program, rule: expected.rule, key: key, events: events, idle: idle)
    }

    /// Why an expected row did not come out: the groups of its key in the window rule
    /// that writes its table, and how `having` went for each.
    static func explain(_ expected: ExpectedRow, program: Program, events: [Event], fed: Set<Int>, tested: Set<String>) -> [KeyExplanation] {
        guard let w = program.windows.first(where: { $0.rows?.table == expected.table && tested.contains($0.name) }) else { return [] }
        let idle = program.streams.indices.filter { !fed.contains($0) }
        var key: [Value]? = []
        for (name, slot) in zip(w.keyNames, w.keySlots) {
            let column = RowOutput.column(forKey: name)
            guard let text = expected.fields.first(where: { $0.name == column })?.value,
                  let v = value(text, program.streams[w.stream].fields[slot].type) else { key = nil; break }
            key?.append(v)
        }
        return Detector.explain(program: program, rule: w.name, key: key, events: events, idle: idle)
    }

    /// A key value as written in a test file, read as the key field's type.
    static func value(_ text: String, _ type: FieldType) -> Value? {
        switch type {
        case .string: return .string(text)
        case .int: return Int64(text).map(Value.int)
        case .double: return Double(text).map(Value.double)
        case .bool: return text == "true" ? .bool(true) : text == "false" ? .bool(false) : nil
        case .timestamp: return (Int64(text) ?? RFC3339.parse(text)).map(Value.timestamp)
        case .duration: return Int64(text).map(Value.duration)
        }
    }
}
