import VigilText

/// Decodes one JSON Lines record into an event of a declared schema: declared fields
/// only (nested paths allowed), extra fields skipped, types checked.
public final class JSONLineDecoder: Sendable {
    public let schema: StreamSchema
    public let stream: Int32
    private let tree: FieldPathTree
    /// The fast path; used only when `flat` (a schema of top-level fields). Not an
    /// optional: binding one (`if let`) copied the scanner to the stack per line.
    private let fast: FlatJSONScanner
    private let flat: Bool

    public init(schema: StreamSchema, stream: Int32) {
        self.schema = schema
        self.stream = stream
        self.tree = FieldPathTree.build(schema.fields)
        let fast = FlatJSONScanner(schema: schema)
        // (A schema without fields always has a scanner: a stand-in, never used.)
        self.fast = fast ?? FlatJSONScanner(schema: StreamSchema(name: "", fields: [], keySlots: [], timeSlot: 0, latenessMs: 0, idleTimeoutMs: nil))!
        flat = fast != nil
    }

    /// Why a line was rejected.
    public struct Failure: Error, Sendable {
        public var reason: String
    }

    /// Decodes `line` (without its line break).
    ///
    /// - Complexity: O(n) in the line length.
    public func decode(_ line: UnsafeBufferPointer<UInt8>, origin: EventOrigin) -> Result<Event, Failure> {
        var e = Event(stream: stream, ts: 0, origin: origin, values: [])
        if let failure = decode(line, origin: origin, into: &e) { return .failure(failure) }
        return .success(e)
    }

    /// Decodes `line` into `e`, reusing its values' storage when `e` holds the only
    /// reference to it (the run loop's event, whose values the detector took): no
    /// allocation per line. On failure `e` is left with unspecified values.
    public func decode(_ line: UnsafeBufferPointer<UInt8>, origin: EventOrigin, into e: inout Event) -> Failure? {
        var canonical = false
        return decode(line, origin: origin, into: &e, canonical: &canonical)
    }

    /// `decode(_:origin:into:)`, also saying whether the line is byte for byte the event
    /// as an alert line writes it (`FlatJSONScanner.scan(_:into:canonical:)`): then
    /// `Detector.accept(taking:into:line:)` may keep it for the alerts to copy.
    public func decode(_ line: UnsafeBufferPointer<UInt8>, origin: EventOrigin, into e: inout Event, canonical: inout Bool) -> Failure? {
        canonical = false
        let n = schema.fields.count
        e.stream = stream
        e.origin = origin
        if flat {
            // The scanner sets every field: those the line lacks to null.
            if e.values.count != n { e.values = [Value](repeating: .null, count: n) }
            switch fast.scan(line, into: &e.values, canonical: &canonical, ts: &e.ts) {
            case .event: return nil
            case .values: return EventAssembly.finish(&e, schema: schema)
            case .failed: break
            }
        }
        switch decodeFully(line, origin: origin) {
        case .success(let full):
            e = full
            return nil
        case .failure(let f):
            return f
        }
    }

    /// The general decoder: nested fields, escapes, every error worded.
    func decodeFully(_ line: UnsafeBufferPointer<UInt8>, origin: EventOrigin) -> Result<Event, Failure> {
        if let bad = firstInvalidUTF8(line) {
            return .failure(Failure(reason: "invalid UTF-8 at byte \(bad + 1)"))
        }
        var values = [Value](repeating: .null, count: schema.fields.count)
        var parser = JSONCursor(bytes: line)
        do {
            parser.skipSpace()
            guard parser.peek() == UInt8(ascii: "{") else {
                return .failure(Failure(reason: parser.atEnd ? "empty record" : "not a JSON object"))
            }
            try readObject(&parser, tree, prefix: "", into: &values)
            parser.skipSpace()
            if !parser.atEnd { throw JSONCursor.SyntaxError(message: "unexpected text after the object", offset: parser.index) }
        } catch let e as JSONCursor.SyntaxError {
            return .failure(Failure(reason: "malformed JSON at column \(e.offset + 1): \(e.message)"))
        } catch let e as Failure {
            return .failure(e)
        } catch {
            return .failure(Failure(reason: "\(error)"))
        }
        return EventAssembly.finish(values, schema: schema, stream: stream, origin: origin)
    }

    /// The string value of the top-level `"stream"` key, if the line is an object with one.
    public static func streamName(in line: UnsafeBufferPointer<UInt8>) -> String? {
        var p = JSONCursor(bytes: line)
        p.skipSpace()
        guard (try? p.expect(UInt8(ascii: "{"))) != nil else { return nil }
        while true {
            p.skipSpace()
            guard let key = try? p.readString() else { return nil }
            p.skipSpace()
            guard (try? p.expect(UInt8(ascii: ":"))) != nil else { return nil }
            p.skipSpace()
            if key == "stream" {
                return p.peek() == UInt8(ascii: "\"") ? try? p.readString() : nil
            }
            guard (try? p.skipValue()) != nil else { return nil }
            p.skipSpace()
            guard p.peek() == UInt8(ascii: ",") else { return nil }
            p.index += 1
        }
    }

    private func readObject(_ p: inout JSONCursor, _ node: FieldPathTree, prefix: String, into values: inout [Value]) throws {
        try p.expect(UInt8(ascii: "{"))
        p.skipSpace()
        if p.peek() == UInt8(ascii: "}") { p.index += 1; return }
        while true {
            p.skipSpace()
            let key = try p.readString()
            p.skipSpace()
            try p.expect(UInt8(ascii: ":"))
            p.skipSpace()
            switch node.children[key] {
            case .slot(let slot)?:
                values[slot] = try readValue(&p, schema.fields[slot])
            case .object(let child)?:
                if p.peek() == UInt8(ascii: "{") {
                    try readObject(&p, child, prefix: prefix + key + ".", into: &values)
                } else if p.peek() == UInt8(ascii: "n") {
                    try p.skipValue()
                } else {
                    throw Failure(reason: "field `\(prefix)\(key)` must be an object")
                }
            case nil:
                try p.skipValue()
            }
            p.skipSpace()
            if p.peek() == UInt8(ascii: ",") { p.index += 1; continue }
            try p.expect(UInt8(ascii: "}"))
            return
        }
    }

    private func readValue(_ p: inout JSONCursor, _ field: StreamSchema.Field) throws -> Value {
        guard let c = p.peek() else { throw JSONCursor.SyntaxError(message: "expected a value", offset: p.index) }
        if c == UInt8(ascii: "n") {
            try p.readLiteral("null")
            return .null
        }
        func wrong(_ found: String) -> Failure {
            Failure(reason: "field `\(field.name)` must be \(field.type.article) \(field.type.rawValue), found \(found)")
        }
        switch field.type {
        case .string:
            guard c == UInt8(ascii: "\"") else { throw wrong(p.describeValue()) }
            return .string(try p.readString())
        case .bool:
            if c == UInt8(ascii: "t") { try p.readLiteral("true"); return .bool(true) }
            if c == UInt8(ascii: "f") { try p.readLiteral("false"); return .bool(false) }
            throw wrong(p.describeValue())
        case .int, .duration:
            guard c == UInt8(ascii: "-") || (c >= 48 && c <= 57) else { throw wrong(p.describeValue()) }
            let (text, isInteger) = try p.readNumber()
            guard isInteger, let n = Int64(text) else { throw wrong("`\(text)`") }
            return field.type == .int ? .int(n) : .duration(n)
        case .double:
            guard c == UInt8(ascii: "-") || (c >= 48 && c <= 57) else { throw wrong(p.describeValue()) }
            let (text, _) = try p.readNumber()
            guard let d = Double(text) else { throw wrong("`\(text)`") }
            return .double(d)
        case .timestamp:
            if c == UInt8(ascii: "\"") {
                let s = try p.readString()
                guard let ms = RFC3339.parse(s) else {
                    throw Failure(reason: "field `\(field.name)` is not an RFC 3339 timestamp: \(JSON.quote(s))")
                }
                return .timestamp(ms)
            }
            guard c == UInt8(ascii: "-") || (c >= 48 && c <= 57) else { throw wrong(p.describeValue()) }
            let (text, isInteger) = try p.readNumber()
            guard isInteger, let n = Int64(text) else { throw wrong("`\(text)` (epoch milliseconds must be an integer)") }
            return .timestamp(n)
        }
    }
}

extension FieldType {
    var article: String { self == .int ? "an" : "a" }
}

/// The checks every decoder shares once the values are read: key and time present.
enum EventAssembly {
    /// The time of the event `values` make: every key field set and the time field a
    /// timestamp (a schema without one, a reference table's, slot -1: time 0). nil when
    /// they make none (`failure` says why).
    @inline(__always) static func time(_ values: UnsafeBufferPointer<Value>, keySlots: [Int], timeSlot: Int) -> Int64? {
        for slot in keySlots where values[slot].isNull { return nil }
        if timeSlot < 0 { return 0 }
        guard case .timestamp(let ts) = values[timeSlot] else { return nil }
        return ts
    }

    /// Why `values` make no event (`time` gave nil).
    static func failure(_ values: [Value], schema: StreamSchema) -> JSONLineDecoder.Failure {
        if let slot = schema.keySlots.first(where: { values[$0].isNull }) {
            return .init(reason: "missing key field `\(schema.fields[slot].name)`")
        }
        return .init(reason: "missing time field `\(schema.fields[schema.timeSlot].name)`")
    }

    /// Checks `e`'s key fields and sets its time from its values.
    static func finish(_ e: inout Event, schema: StreamSchema) -> JSONLineDecoder.Failure? {
        guard let ts = e.values.withUnsafeBufferPointer({ time($0, keySlots: schema.keySlots, timeSlot: schema.timeSlot) }) else {
            return failure(e.values, schema: schema)
        }
        e.ts = ts
        return nil
    }

    static func finish(_ values: [Value], schema: StreamSchema, stream: Int32, origin: EventOrigin) -> Result<Event, JSONLineDecoder.Failure> {
        guard let ts = values.withUnsafeBufferPointer({ time($0, keySlots: schema.keySlots, timeSlot: schema.timeSlot) }) else {
            return .failure(failure(values, schema: schema))
        }
        return .success(Event(stream: stream, ts: ts, origin: origin, values: values))
    }
}
