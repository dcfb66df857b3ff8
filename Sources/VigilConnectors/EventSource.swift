import VigilRuntime

/// One `--input`: a file (or stdin) of one stream, decoded as JSON Lines or CSV.
public struct EventSource {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl, csv

        /// By extension: `.csv` is CSV; `.jsonl`, `.ndjson` and anything else JSON Lines.
        public static func guess(_ path: String) -> Format {
            path.lowercased().hasSuffix(".csv") ? .csv : .jsonl
        }
    }

    public var stream: Int
    public var path: String
    public var format: Format
    public var inputIndex: Int32

    public init(stream: Int, path: String, format: Format, inputIndex: Int32) {
        self.stream = stream
        self.path = path
        self.format = format
        self.inputIndex = inputIndex
    }

    /// What reading a line produced.
    public enum Item {
        case event(Event)
        case deadLetter(DeadLetter)
    }

    /// Reads the whole source, calling `body` per non-blank line.
    public func read(schema: StreamSchema, _ body: (Item) throws -> Void) throws {
        let reader = try LineReader(path: path)
        let json = JSONLineDecoder(schema: schema, stream: Int32(stream))
        var csv = CSVDecoder(schema: schema, stream: Int32(stream))
        let source = path == "-" ? "<stdin>" : path
        func dead(_ line: Int64, _ reason: String, _ raw: [UInt8]) -> Item {
            .deadLetter(DeadLetter(stream: schema.name, source: source, line: line, reason: reason,
                                   raw: String(decoding: raw, as: UTF8.self)))
        }
        try reader.forEachLine { line in
            switch line {
            case .oversized(let prefix, let number):
                try body(dead(number, "event larger than \(LineReader.maxLineBytes) bytes", prefix))
            case .text(let bytes, let number):
                if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { return }
                let origin = EventOrigin(input: inputIndex, line: number)
                switch format {
                case .jsonl:
                    switch json.decode(bytes, origin: origin) {
                    case .success(let e): try body(.event(e))
                    case .failure(let f): try body(dead(number, f.reason, Array(bytes)))
                    }
                case .csv:
                    if !csv.hasHeader {
                        if let problem = csv.readHeader(bytes) { try body(dead(number, problem, Array(bytes))) }
                        return
                    }
                    switch csv.decode(bytes, origin: origin) {
                    case .success(let e): try body(.event(e))
                    case .failure(let f): try body(dead(number, f.reason, Array(bytes)))
                    }
                }
            }
        }
    }
}
