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
        try read(schemas: schemas, events: { e, raw in try body(.event(e), raw) },
                 deadLetters: { d, raw in try body(.deadLetter(d), raw) })
    }

    /// Reads the whole source: `events` per event, `deadLetters` per line that is not
    /// one, each with the line's bytes (valid only during the call).
    ///
    /// Every event of a stream is decoded into the same `Event`: when `events` takes its
    /// values (swapping them out, as `Detector.accept(taking:)` does) the next line is
    /// decoded into the storage left behind, so reading allocates nothing per line.
    public func read(schemas: [StreamSchema], events: (inout Event, UnsafeBufferPointer<UInt8>) throws -> Void,
                     deadLetters: (DeadLetter, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let reader = try LineReader(path: path)
        let decoders = schemas.enumerated().map { JSONLineDecoder(schema: $0.element, stream: Int32($0.offset)) }
        var scratch = schemas.indices.map { Event(stream: Int32($0), ts: 0, origin: EventOrigin(input: inputIndex, line: 0), values: []) }
        let index = Dictionary(schemas.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
        var csv = format == .csv ? stream.map { CSVDecoder(schema: schemas[$0], stream: Int32($0)) } : nil
        let source = path == "-" ? "<stdin>" : path
        func dead(_ streamName: String, _ line: Int64, _ reason: String, _ raw: [UInt8]) -> DeadLetter {
            DeadLetter(stream: streamName, source: source, line: line, reason: reason,
                       raw: String(decoding: raw, as: UTF8.self))
        }
        let fixedName = stream.map { schemas[$0].name } ?? ""
        let fixedDecoder = stream.map { decoders[$0] }
        var fixedEvent = Event(stream: Int32(stream ?? 0), ts: 0, origin: EventOrigin(input: inputIndex, line: 0), values: [])
        try reader.forEachLine { line in
            switch line {
            case .oversized(let prefix, let number):
                try deadLetters(dead(fixedName, number, "event larger than \(LineReader.maxLineBytes) bytes", prefix), UnsafeBufferPointer(start: nil, count: 0))
            case .text(let bytes, let number):
                if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { return }
                let origin = EventOrigin(input: inputIndex, line: number)
                if var decoder = csv {
                    defer { csv = decoder }
                    if !decoder.hasHeader {
                        if let problem = decoder.readHeader(bytes) { try deadLetters(dead(fixedName, number, problem, Array(bytes)), bytes) }
                        return
                    }
                    switch decoder.decode(bytes, origin: origin) {
                    case .success(var e): try events(&e, bytes)
                    case .failure(let f): try deadLetters(dead(fixedName, number, f.reason, Array(bytes)), bytes)
                    }
                    return
                }
                /// Decodes the line into `e` and hands it on, or dead-letters it.
                func decode(_ decoder: JSONLineDecoder, into e: inout Event, stream name: String) throws {
                    if let f = decoder.decode(bytes, origin: origin, into: &e) {
                        try deadLetters(dead(name, number, f.reason, Array(bytes)), bytes)
                    } else {
                        try events(&e, bytes)
                    }
                }
                if let fixedDecoder {
                    // One stream: its decoder and event without an array lookup each
                    // (reading them out of arrays retained and released them per line).
                    try decode(fixedDecoder, into: &fixedEvent, stream: fixedName)
                    return
                }
                guard let name = JSONLineDecoder.streamName(in: bytes) else {
                    try deadLetters(dead("", number, "no top-level \"stream\" field naming the event's stream", Array(bytes)), bytes)
                    return
                }
                guard let s = index[name] else {
                    try deadLetters(dead(name, number, "unknown stream \(JSON.quote(name))", Array(bytes)), bytes)
                    return
                }
                try decode(decoders[s], into: &scratch[s], stream: schemas[s].name)
            }
        }
    }
}
