/// An alert: a match rendered for people and systems.
public struct Alert: Sendable {
    public var id: String
    public var rule: String
    public var severity: String
    public var tags: [String]
    public var key: [(name: String, value: Value)]
    public var message: String
    public var detectedAt: Int64
    /// Steps in pattern order, each with the events it bound.
    public var matched: [(step: String, events: [Event])]
    /// For window and session rules: the group's start and end (session: last event).
    public var window: (start: Int64, end: Int64)?
    /// Alerts of the same rule and `suppress ... by` values folded into this one since
    /// the last one emitted.
    public var suppressed = 0

    public init(id: String, rule: String, severity: String, tags: [String], key: [(name: String, value: Value)],
                message: String, detectedAt: Int64, matched: [(step: String, events: [Event])],
                window: (start: Int64, end: Int64)? = nil) {
        self.id = id
        self.rule = rule
        self.severity = severity
        self.tags = tags
        self.key = key
        self.message = message
        self.detectedAt = detectedAt
        self.matched = matched
        self.window = window
    }

    /// The default alert line: one JSON object, event time only, so replays are
    /// byte-identical. (`write(to:streams:)` appends the same bytes without a String.)
    public func json(streams: [StreamSchema]) -> String {
        var w = JSONWriter()
        write(to: &w, streams: streams)
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

/// FNV-1a, 64 bits: a small, stable hash for deterministic ids (not for security).
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func add(_ bytes: some Sequence<UInt8>) {
        for b in bytes {
            value ^= UInt64(b)
            value = value &* 0x0000_0100_0000_01B3
        }
    }

    public mutating func add(_ s: String) {
        add(s.utf8)
        add([0xFF])
    }

    public mutating func add(_ n: Int64) {
        withUnsafeBytes(of: n.littleEndian) { add($0) }
    }

    /// Adds a value's JSON text and the separator, as `add(value.json)` does, without
    /// building the text for plain strings.
    public mutating func add(json v: Value) {
        guard case .string(var s) = v else { add(v.json); return }
        let plain = s.withUTF8 { utf8 in
            utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        }
        guard plain else { add(v.json); return }
        add(CollectionOfOne(UInt8(ascii: "\"")))
        s.withUTF8 { add($0) }
        add([UInt8(ascii: "\""), 0xFF])
    }

    /// 16 lowercase hex digits, zero-padded.
    public var hex: String {
        String(unsafeUninitializedCapacity: 16) { buf in
            let digits: StaticString = "0123456789abcdef"
            var v = value
            for i in stride(from: 15, through: 0, by: -1) {
                buf[i] = digits.utf8Start[Int(v & 15)]
                v >>= 4
            }
            return 16
        }
    }
}

extension Match {
    /// The match as a row of its rule's detections table: the alert's id, rule,
    /// severity, detection time, key and message, then the selected columns.
    public func detectionRow(_ alert: Alert, _ rows: RowOutput) -> Row {
        let ctx = EvalContext(event: trigger ?? bound.last, bound: bound, key: key, detectedAt: detectedAt)
        var values: [Value] = [.string(alert.id), .string(alert.rule), .string(alert.severity), .timestamp(detectedAt)]
        values += key
        values.append(.string(alert.message))
        for e in rows.select { values.append(e(ctx)) }
        return Row(table: rows.table, rule: alert.rule, op: .upsert, version: 1, columns: rows.columns, values: values, at: detectedAt)
    }

    /// Renders the match as an alert of `rule`. The id derives from the rule, the key and
    /// the identities (input, line) of the matched events.
    public func alert(_ rule: PatternRule) -> Alert {
        var h = FNV1a()
        h.add(rule.name)
        for v in key { h.add(json: v) }
        for entry in bound.entries {
            h.add(Int64(entry.event.origin.input))
            h.add(entry.event.origin.line)
        }
        let ctx = EvalContext(event: trigger ?? bound.last, bound: bound, key: key, detectedAt: detectedAt)
        // Per step, in bound order; a step with alternatives reports each run of events
        // under the alternative that bound it.
        var matched: [(step: String, events: [Event])] = []
        matched.reserveCapacity(rule.pattern.steps.count)
        for step in rule.pattern.steps where !step.negated {
            if step.alternatives.count == 1 {
                // One alternative: its events are one run, collected straight.
                let b = step.alternatives[0].binding
                var events: [Event] = []
                for entry in bound.entries where Int(entry.binding) == b { events.append(entry.event) }
                matched.append(events.isEmpty ? (step.name, []) : (rule.pattern.bindingNames[b], events))
                continue
            }
            var groups: [(binding: Int32, events: [Event])] = []
            for entry in bound.entries where step.alternatives.contains(where: { $0.binding == Int(entry.binding) }) {
                if groups.last?.0 == entry.binding {
                    groups[groups.count - 1].1.append(entry.event)
                } else {
                    groups.append((entry.binding, [entry.event]))
                }
            }
            if groups.isEmpty {
                matched.append((step.name, []))
            } else {
                for g in groups { matched.append((rule.pattern.bindingNames[Int(g.0)], g.1)) }
            }
        }
        return Alert(id: h.hex, rule: rule.name, severity: rule.severity, tags: rule.tags,
                     key: zip(rule.keyNames, key).map { (name: $0, value: $1) }, message: rule.message.render(ctx),
                     detectedAt: detectedAt, matched: matched)
    }
}
