import VigilRuntime

/// Deterministic text dumps of compiled window, session and aggregate plans, next to
/// the NFA dumps of pattern rules (`vigil explain`, golden tests).
public enum WindowDump {
    public static func text(_ rule: WindowRule, streams: [StreamSchema], templateSource: String? = nil) -> String {
        var out = "\(rule.isAggregate ? "aggregate" : "rule") \(rule.name)\n"
        out += "  from \(streams[rule.stream].name) by (\(rule.keyNames.joined(separator: ", ")))\n"
        switch rule.kind {
        case .tumbling(let size):
            out += "  tumbling windows of \(formatDuration(size)), aligned to the epoch; a window closes when the watermark reaches its end\n"
        case .hopping(let size, let every):
            out += "  hopping windows of \(formatDuration(size)) every \(formatDuration(every)) (each event in \(size / every)); a window closes when the watermark reaches its end\n"
        case .session(let gap):
            out += "  sessions split by a gap of \(formatDuration(gap)) or more; a session closes when the watermark reaches its last event + \(formatDuration(gap))\n"
        }
        if rule.allowedLatenessMs > 0 {
            out += "  allowed lateness \(formatDuration(rule.allowedLatenessMs)): an event up to that far behind the watermark updates its groups, which are kept that long after they close\n"
        } else {
            out += "  no allowed lateness: an event behind the watermark is late; a group is forgotten when it closes\n"
        }
        out += "  accumulators (one set per group)\n"
        for (i, a) in rule.aggregates.enumerated() { out += "    a\(i)  \(a.text)\n" }
        if rule.aggregates.isEmpty { out += "    (none)\n" }
        if let h = rule.havingText { out += "  having  \(h)\n" }
        if rule.hasAlert { out += "  alert   \(rule.severity) \(templateSource ?? "")\n" }
        if let rows = rule.rows {
            out += "  rows -> \(rows.table)\n"
            let fixed = rows.columns.count - rows.selectTexts.count
            out += "    \(rows.columns.prefix(fixed).joined(separator: ", "))\n"
            for (name, text) in zip(rows.columns.dropFirst(fixed), rows.selectTexts) {
                out += "    \(name) = \(text)\n"
            }
        }
        return out
    }
}
