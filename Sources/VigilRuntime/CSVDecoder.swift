import VigilText

/// Decodes CSV records (RFC 4180 quoting, one record per line) into events. The header
/// row names the columns; columns that are not declared fields are ignored.
public struct CSVDecoder: Sendable {
    public let schema: StreamSchema
    public let stream: Int32
    /// For each column, the slot it fills (nil: not a declared field).
    private var columnSlots: [Int?] = []
    public private(set) var hasHeader = false

    public init(schema: StreamSchema, stream: Int32) {
        self.schema = schema
        self.stream = stream
    }

    /// Reads the header row. Returns a reason when it is unusable.
    public mutating func readHeader(_ line: UnsafeBufferPointer<UInt8>) -> String? {
        guard firstInvalidUTF8(line) == nil else { return "invalid UTF-8 in the header row" }
        guard let names = Self.split(line) else { return "malformed CSV header (unterminated quote)" }
        columnSlots = names.map { schema.slot(of: $0.trimmingSpaces()) }
        hasHeader = true
        for slot in schema.keySlots + [schema.timeSlot] where slot >= 0 && !columnSlots.contains(slot) {
            return "the header has no column `\(schema.fields[slot].name)`"
        }
        return nil
    }

    public func decode(_ line: UnsafeBufferPointer<UInt8>, origin: EventOrigin) -> Result<Event, JSONLineDecoder.Failure> {
        if let bad = firstInvalidUTF8(line) { return .failure(.init(reason: "invalid UTF-8 at byte \(bad + 1)")) }
        guard let cells = Self.split(line) else { return .failure(.init(reason: "malformed CSV (unterminated quote)")) }
        guard cells.count == columnSlots.count else {
            return .failure(.init(reason: "expected \(columnSlots.count) columns, found \(cells.count)"))
        }
        var values = [Value](repeating: .null, count: schema.fields.count)
        for (cell, slot) in zip(cells, columnSlots) {
            guard let slot, !cell.isEmpty else { continue }
            let field = schema.fields[slot]
            guard let v = Self.parse(cell, as: field.type) else {
                return .failure(.init(reason: "field `\(field.name)` must be \(field.type.article) \(field.type.rawValue), found \(JSON.quote(cell))"))
            }
            values[slot] = v
        }
        return EventAssembly.finish(values, schema: schema, stream: stream, origin: origin)
    }

    static func parse(_ text: String, as type: FieldType) -> Value? {
        switch type {
        case .string: return .string(text)
        case .int: return Int64(text).map { .int($0) }
        case .duration: return Int64(text).map { .duration($0) }
        case .double: return Double(text).map { .double($0) }
        case .bool:
            switch text.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: return nil
            }
        case .timestamp:
            if let n = Int64(text) { return .timestamp(n) }
            return RFC3339.parse(text).map { .timestamp($0) }
        }
    }

    /// Splits one record; nil when a quote is never closed.
    static func split(_ line: UnsafeBufferPointer<UInt8>) -> [String]? {
        var cells: [String] = []
        var cell: [UInt8] = []
        var i = 0
        var quoted = false
        var wasQuoted = false
        while i < line.count {
            let c = line[i]
            if quoted {
                if c == UInt8(ascii: "\"") {
                    if i + 1 < line.count, line[i + 1] == UInt8(ascii: "\"") {
                        cell.append(c)
                        i += 2
                        continue
                    }
                    quoted = false
                } else {
                    cell.append(c)
                }
            } else if c == UInt8(ascii: ",") {
                cells.append(String(decoding: cell, as: UTF8.self))
                cell.removeAll(keepingCapacity: true)
                wasQuoted = false
            } else if c == UInt8(ascii: "\""), cell.isEmpty, !wasQuoted {
                quoted = true
                wasQuoted = true
            } else {
                cell.append(c)
            }
            i += 1
        }
        if quoted { return nil }
        cells.append(String(decoding: cell, as: UTF8.self))
        return cells
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
