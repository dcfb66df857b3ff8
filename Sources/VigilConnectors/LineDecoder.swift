import VigilRuntime

/// Decodes the lines of one input into events (or dead letters), in order: what
/// `EventSource.read` does with each line it reads. A value: a copy decodes on its own
/// (`vigil run --threads` gives every shard one, and each decodes every line). The only
/// state that lines change is a CSV input's header, which every copy reads in turn.
public struct LineDecoder: Sendable {
    /// What a line decoded to.
    public enum Decoded {
        /// An event, left in the decoder's own `Event` (see `decode`).
        case event
        case deadLetter(DeadLetter)
        /// Nothing: a blank line, or a CSV header.
        case none
    }

    private let decoders: [JSONLineDecoder]
    private let index: [String: Int]
    private let schemas: [StreamSchema]
    private var csv: CSVDecoder?
    private let source: String
    private let fixedName: String
    /// The one stream's decoder, when the source has one, called at +0: `decoders` keeps
    /// it (binding it as an optional retained and released it per line).
    private let fixedDecoder: Unmanaged<JSONLineDecoder>?
    private let inputIndex: Int32
    /// Each stream's event, decoded into again and again (see `decode`).
    private var scratch: [Event]
    private var fixedEvent: Event

    /// For `source` (its lines for `schemas`).
    public init(_ source: EventSource, schemas: [StreamSchema]) {
        self.schemas = schemas
        let decoders = schemas.enumerated().map { JSONLineDecoder(schema: $0.element, stream: Int32($0.offset)) }
        self.decoders = decoders
        index = Dictionary(schemas.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
        csv = source.format == .csv ? source.stream.map { CSVDecoder(schema: schemas[$0], stream: Int32($0)) } : nil
        self.source = source.path == "-" ? "<stdin>" : source.path
        fixedName = source.stream.map { schemas[$0].name } ?? ""
        fixedDecoder = source.stream.map { Unmanaged.passUnretained(decoders[$0]) }
        inputIndex = source.inputIndex
        scratch = schemas.indices.map { Event(stream: Int32($0), ts: 0, origin: EventOrigin(input: source.inputIndex, line: 0), values: []) }
        fixedEvent = Event(stream: Int32(source.stream ?? 0), ts: 0, origin: EventOrigin(input: source.inputIndex, line: 0), values: [])
    }

    /// A blank line (spaces and tabs only) is no event and no dead letter.
    public static func isBlank(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.allSatisfy { $0 == 32 || $0 == 9 }
    }

    /// The dead letter of a line over `LineReader.maxLineBytes` (`prefix`: its start).
    public func oversized(prefix: [UInt8], number: Int64) -> DeadLetter {
        dead(fixedName, number, "event larger than \(LineReader.maxLineBytes) bytes", prefix)
    }

    /// Decodes line `number`. An event is decoded into an `Event` the decoder keeps and
    /// handed to `event`: when that takes its values (swapping them out, as
    /// `Detector.accept(taking:)` does), the next line is decoded into the storage left
    /// behind, so decoding allocates nothing per line. `event`'s second argument says
    /// whether the line is byte for byte the event as an alert line writes it
    /// (`JSONLineDecoder.decode(_:origin:into:canonical:)`).
    public mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>, number: Int64, event: (inout Event, Bool) throws -> Void) rethrows -> Decoded {
        if Self.isBlank(bytes) { return .none }
        let origin = EventOrigin(input: inputIndex, line: number)
        if csv != nil {
            if !csv!.hasHeader {
                if let problem = csv!.readHeader(bytes) { return .deadLetter(dead(fixedName, number, problem, Array(bytes))) }
                return .none
            }
            switch csv!.decode(bytes, origin: origin) {
            case .success(var e):
                try event(&e, false)
                return .event
            case .failure(let f): return .deadLetter(dead(fixedName, number, f.reason, Array(bytes)))
            }
        }
        if let fixedDecoder {
            // One stream: its decoder and event without an array lookup each (reading them
            // out of arrays retained and released them per line).
            var canonical = false
            let failure = fixedDecoder._withUnsafeGuaranteedRef { $0.decode(bytes, origin: origin, into: &fixedEvent, canonical: &canonical) }
            if let f = failure {
                return .deadLetter(dead(fixedName, number, f.reason, Array(bytes)))
            }
            try event(&fixedEvent, canonical)
            return .event
        }
        guard let name = JSONLineDecoder.streamName(in: bytes) else {
            return .deadLetter(dead("", number, "no top-level \"stream\" field naming the event's stream", Array(bytes)))
        }
        guard let s = index[name] else {
            return .deadLetter(dead(name, number, "unknown stream \(JSON.quote(name))", Array(bytes)))
        }
        if let f = decoders[s].decode(bytes, origin: origin, into: &scratch[s]) {
            return .deadLetter(dead(schemas[s].name, number, f.reason, Array(bytes)))
        }
        try event(&scratch[s], false)
        return .event
    }

    private func dead(_ streamName: String, _ line: Int64, _ reason: String, _ raw: [UInt8]) -> DeadLetter {
        DeadLetter(stream: streamName, source: source, line: line, reason: reason, raw: String(decoding: raw, as: UTF8.self))
    }
}
