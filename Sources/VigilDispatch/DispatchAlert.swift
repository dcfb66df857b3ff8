import VigilRuntime

/// An alert on its way to channels. Its JSON line (event time only, so files are
/// byte-identical across replays) is written straight into each channel's buffer.
public struct DispatchAlert: Sendable {
    public var alert: Alert
    let streams: [StreamSchema]
    let matched: Matched

    /// How much of the matched events an alert line carries.
    public enum Matched: String, Sendable, CaseIterable {
        /// Every field of every matched event.
        case full
        /// Each matched event's time and key fields only.
        case fields
        /// No matched events.
        case none
    }

    public init(_ a: Alert, streams: [StreamSchema], matched: Matched = .full) {
        self.alert = a
        self.streams = streams
        self.matched = matched
    }

    public var id: String { alert.id }
    public var rule: String { alert.rule }
    public var severity: String { alert.severity }
    public var tags: [String] { alert.tags }
    public var message: String { alert.message }
    public var detectedAt: Int64 { alert.detectedAt }
    /// `user=alice,host=ws-1`
    public var keyText: String { alert.key.map { "\($0.name)=\($0.value.templateText)" }.joined(separator: ",") }

    /// Appends the alert's JSON object (no newline) to `w`.
    public func write(to w: inout JSONWriter) {
        Self.write(alert, streams: streams, matched: matched, to: &w)
    }

    /// Appends `alert`'s JSON object (no newline) to `w`, as a `DispatchAlert` of it
    /// writes it: for channels that write an alert they are lent (making the
    /// `DispatchAlert` copied the alert, a count per reference it holds).
    public static func write(_ alert: borrowing Alert, streams: [StreamSchema], matched: Matched, to w: inout JSONWriter) {
        switch matched {
        case .full:
            alert.write(to: &w, streams: streams)
        case .none:
            var a = copy alert
            a.matched = []
            a.write(to: &w, streams: streams)
        case .fields:
            var a = copy alert
            a.matched = a.matched.map { step in
                (step.step, step.events.map { e in
                    var e = e
                    let schema = streams[Int(e.stream)]
                    let keep = Set(schema.keySlots + [schema.timeSlot])
                    e.values = e.values.indices.map { keep.contains($0) ? e.values[$0] : .null }
                    return e
                })
            }
            a.write(to: &w, streams: streams, omitNulls: true)
        }
    }

    /// The JSON line as bytes (no newline).
    public var line: [UInt8] {
        var w = JSONWriter()
        write(to: &w)
        return w.bytes
    }
}
