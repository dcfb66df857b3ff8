import VigilRuntime

/// Deterministic text dumps of compiled flows (`vigil explain`, golden tests).
public enum FlowDump {
    public static func text(_ flow: FlowRule, program: Program) -> String {
        let stream = program.streams[flow.stream]
        var out = "flow \(flow.name)\n"
        out += "  from \(stream.name), each event at arrival (late ones too)\n"
        for (r, slot) in flow.enrich {
            out += "  enrich  left join \(program.references[r].name) (\(program.references[r].path)) on \(stream.fields[slot].name)\n"
        }
        for w in flow.filterTexts { out += "  where   \(w)\n" }
        for x in flow.expectations { out += "  expect  \(x.name): \(x.text) else \(x.action.rawValue)\n" }
        let mode: String
        switch flow.rows.mode {
        case .append: mode = "append"
        case .merge(let keys): mode = "merge on (\(keys.joined(separator: ", ")))"
        case .scd2(let keys): mode = "scd2 on (\(keys.joined(separator: ", "))), then valid_from, valid_to, is_current"
        }
        out += "  rows -> \(flow.rows.table) (\(mode))\n"
        for (name, text) in zip(flow.rows.columns, flow.rows.selectTexts) { out += "    \(name) = \(text)\n" }
        if let q = flow.quarantine { out += "  quarantine -> \(q.table) (append): the columns, then _failed_expectations, _event_time\n" }
        return out
    }
}
