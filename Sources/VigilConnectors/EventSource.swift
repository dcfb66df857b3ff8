import VigilRuntime

/// One `--input`: a file (or stdin) of one stream, decoded as JSON Lines or CSV.
public struct EventSource: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl, csv

        /// By extension: `.csv` is CSV; `.jsonl`, `.ndjson` and anything else JSON Lines.
        public static func guess(_ path: String) -> Format {
            path.lowercased().hasSuffix(".csv") ? .csv : .jsonl
        }
    }

    /// The stream every line belongs to; nil when each JSON line names its stream in a
    /// top-level `"stream"` field.
    public var stream: Int?
    public var path: String
    public var format: Format
    public var inputIndex: Int32

    public init(stream: Int?, path: String, format: Format, inputIndex: Int32) {
        self.stream = stream
        self.path = path
        self.format = format
        self.inputIndex = inputIndex
    }

    /// What reading a line produced.
    public enum Item: Sendable {
        case event(Event)
        case deadLetter(DeadLetter)
    }

    /// Reads the whole source, calling `body` per non-blank line with what it decoded to
    /// and the line's bytes (valid only during the call; kept for late-event records).
    /// (`body` owns the item: an event's values can move on without a copy.)
    public func read(schemas: [StreamSchema], _ body: (consuming Item, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        try read(schemas: schemas, events: { e, raw, _ in try body(.event(e), raw) },
                 deadLetters: { d, raw in try body(.deadLetter(d), raw) })
    }

    /// Reads the whole source: `events` per event, `deadLetters` per line that is not
    /// one, each with the line's bytes (valid only during the call); for an event, also
    /// whether the line is byte for byte the event as an alert line writes it.
    ///
    /// Every event of a stream is decoded into the same `Event`: when `events` takes its
    /// values (swapping them out, as `Detector.accept(taking:)` does) the next line is
    /// decoded into the storage left behind, so reading allocates nothing per line.
    public func read(schemas: [StreamSchema], events: (inout Event, UnsafeBufferPointer<UInt8>, Bool) throws -> Void,
                     deadLetters: (DeadLetter, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let reader = try LineReader(path: path)
        var decoder = LineDecoder(self, schemas: schemas)
        try reader.forEachLine { line in
            switch line {
            case .oversized(let prefix, let number):
                try deadLetters(decoder.oversized(prefix: prefix, number: number), UnsafeBufferPointer(start: nil, count: 0))
            case .text(let bytes, let number):
                // Switched on as it is consumed: testing it for a dead letter destroyed it
                // afterwards through an outlined call, per line.
                let decoded = try decoder.decode(bytes, number: number, event: { try events(&$0, bytes, $1) })
                switch consume decoded {
                case .deadLetter(let d): try deadLetters(d, bytes)
                case .event, .none: break
                }
            }
        }
    }
}
