/// The snapshot format: a compact binary encoding of any `Codable` value, written in
/// one pass (no tree of the value is built), with the bulk of a detector's state —
/// events and their values — written by hand rather than through `Codable`.
///
/// Layout: `VGS1`, an FNV-1a checksum of the rest (u64), the offset of the key table
/// (u32), the root value, the key table. (The checksum makes a damaged file an error
/// on restore, not a state that is well-formed and wrong.)
/// A value is a tag byte and its payload:
/// - nil, false, true: the tag alone;
/// - int: zigzag LEB128; uint: LEB128; double: 8 bytes little-endian;
/// - string: LEB128 byte count, UTF-8;
/// - array, object: the payload's byte count (u32), the element count (u32), then the
///   elements (an object's are key id (LEB128) and value pairs), so a reader skips a
///   container in one step and finds a field without decoding the ones before it;
/// - a `Value`: a kind byte and its payload; an `Event`: stream, time, origin, and
///   its values' count and values.
/// Keys are written once, in the key table at the end (field names repeat for every
/// partial match and group), and referred to by their index.
enum SnapshotCoder {
    static let magic: [UInt8] = Array("VGS1".utf8)

    enum Tag: UInt8 {
        case null = 0, no, yes, int, uint, double, string, array, object, value, event
    }

    /// Whether `bytes` are in this format (else they are an earlier build's JSON).
    static func isBinary(_ bytes: [UInt8]) -> Bool { bytes.starts(with: magic) }

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let w = SnapshotWriter()
        w.bytes = magic + [UInt8](repeating: 0, count: 12)
        try w.encodeValue(value)
        w.close(downTo: 0)
        let table = w.bytes.count
        w.patch(UInt32(table), at: 12)
        w.varint(UInt64(w.keyNames.count))
        for k in w.keyNames { w.string(k) }
        let sum = checksum(w.bytes[16...])
        withUnsafeBytes(of: sum.littleEndian) { for k in 0..<8 { w.bytes[4 + k] = $0[k] } }
        return w.bytes
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var h = FNV1a()
        bytes.withUnsafeBufferPointer { h.add($0) }
        return h.value
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        guard isBinary(bytes), bytes.count >= 16 else { throw SnapshotReader.corrupt("not a snapshot", at: 0) }
        let r = SnapshotReader(bytes)
        var sum: UInt64 = 0
        for k in 0..<8 { sum |= UInt64(bytes[4 + k]) << (8 * k) }
        guard sum == checksum(bytes[16...]) else { throw SnapshotReader.corrupt("checksum mismatch (the file is damaged)", at: 4) }
        var p = 12
        let table = Int(try r.u32(&p))
        guard table >= 16, table <= bytes.count else { throw SnapshotReader.corrupt("key table out of range", at: 4) }
        p = table
        let n = try r.varint(&p)
        guard n <= UInt64(bytes.count) else { throw SnapshotReader.corrupt("key count out of range", at: table) }
        for _ in 0..<n { r.keyNames.append(try r.string(&p)) }
        r.end = table
        return try r.decodeValue(T.self, at: 16)
    }
}

// MARK: Writing

final class SnapshotWriter {
    var bytes: [UInt8] = []
    var keyNames: [String] = []
    private var keyIDs: [String: Int] = [:]
    /// Containers being written, outermost first: where their byte count goes, their
    /// element count so far, and an id that tells a container it is still the one open
    /// at its depth.
    private var open: [(at: Int, count: UInt32, id: Int)] = []
    private var nextID = 0

    func byte(_ b: UInt8) { bytes.append(b) }

    func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    func int(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }

    func string(_ s: String) {
        var s = s
        s.withUTF8 { u in
            varint(UInt64(u.count))
            bytes.append(contentsOf: u)
        }
    }

    func double(_ d: Double) {
        withUnsafeBytes(of: d.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    func patch(_ v: UInt32, at i: Int) {
        withUnsafeBytes(of: v.littleEndian) { b in for k in 0..<4 { bytes[i + k] = b[k] } }
    }

    func key(_ k: some CodingKey) {
        let name = k.stringValue
        if let id = keyIDs[name] {
            varint(UInt64(id))
        } else {
            keyIDs[name] = keyNames.count
            varint(UInt64(keyNames.count))
            keyNames.append(name)
        }
    }

    // Containers

    /// Opens an array or object; returns its depth and id.
    func openContainer(_ tag: SnapshotCoder.Tag) -> (depth: Int, id: Int) {
        byte(tag.rawValue)
        nextID += 1
        open.append((at: bytes.count, count: 0, id: nextID))
        bytes.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])
        return (open.count - 1, nextID)
    }

    /// Before the container at `depth` writes an element: closes the ones opened inside
    /// it (a nested container ends where its parent goes on), and counts the element.
    func willWrite(depth: Int, id: Int) {
        close(downTo: depth + 1)
        precondition(depth < open.count && open[depth].id == id, "a snapshot container was written to after it ended")
        open[depth].count += 1
    }

    /// Closes containers until `depth` remain, writing their byte and element counts.
    func close(downTo depth: Int) {
        while open.count > depth {
            let c = open.removeLast()
            patch(UInt32(bytes.count - c.at - 4), at: c.at)
            patch(c.count, at: c.at + 4)
        }
    }

    func encodeValue<T: Encodable>(_ v: T) throws {
        if T.self == Value.self {
            value(v as! Value)
        } else if T.self == Event.self {
            event(v as! Event)
        } else {
            let depth = open.count
            try v.encode(to: SnapshotEncoder(writer: self))
            close(downTo: depth)
        }
    }

    func value(_ v: Value) {
        byte(SnapshotCoder.Tag.value.rawValue)
        valuePayload(v)
    }

    private func valuePayload(_ v: Value) {
        switch v {
        case .null: byte(0)
        case .int(let n): byte(1); int(n)
        case .double(let d): byte(2); double(d)
        case .bool(let b): byte(b ? 4 : 3)
        case .string(let s): byte(5); string(s)
        case .timestamp(let t): byte(6); int(t)
        case .duration(let d): byte(7); int(d)
        }
    }

    func event(_ e: Event) {
        byte(SnapshotCoder.Tag.event.rawValue)
        int(Int64(e.stream))
        int(e.ts)
        int(Int64(e.origin.input))
        int(e.origin.line)
        varint(UInt64(e.values.count))
        for v in e.values { valuePayload(v) }
    }
}

private struct SnapshotEncoder: Encoder {
    let writer: SnapshotWriter
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedWriter<Key>(writer: writer, at: writer.openContainer(.object)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedWriter(writer: writer, at: writer.openContainer(.array))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleWriter(writer: writer) }
}

/// Writes one value of any kind: what every container's `encode` comes down to.
private protocol PrimitiveWriting {
    var writer: SnapshotWriter { get }
}

extension PrimitiveWriting {
    func put(_ v: Bool) { writer.byte(v ? SnapshotCoder.Tag.yes.rawValue : SnapshotCoder.Tag.no.rawValue) }
    func put(_ v: String) {
        writer.byte(SnapshotCoder.Tag.string.rawValue)
        writer.string(v)
    }
    func put(_ v: Double) {
        writer.byte(SnapshotCoder.Tag.double.rawValue)
        writer.double(v)
    }
    func put(signed v: Int64) {
        writer.byte(SnapshotCoder.Tag.int.rawValue)
        writer.int(v)
    }
    func put(unsigned v: UInt64) {
        writer.byte(SnapshotCoder.Tag.uint.rawValue)
        writer.varint(v)
    }
    func putNil() { writer.byte(SnapshotCoder.Tag.null.rawValue) }
}

private struct SingleWriter: SingleValueEncodingContainer, PrimitiveWriting {
    let writer: SnapshotWriter
    var codingPath: [any CodingKey] { [] }
    mutating func encodeNil() throws { putNil() }
    mutating func encode(_ v: Bool) throws { put(v) }
    mutating func encode(_ v: String) throws { put(v) }
    mutating func encode(_ v: Double) throws { put(v) }
    mutating func encode(_ v: Float) throws { put(Double(v)) }
    mutating func encode(_ v: Int) throws { put(signed: Int64(v)) }
    mutating func encode(_ v: Int8) throws { put(signed: Int64(v)) }
    mutating func encode(_ v: Int16) throws { put(signed: Int64(v)) }
    mutating func encode(_ v: Int32) throws { put(signed: Int64(v)) }
    mutating func encode(_ v: Int64) throws { put(signed: v) }
    mutating func encode(_ v: UInt) throws { put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt8) throws { put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt16) throws { put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt32) throws { put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt64) throws { put(unsigned: v) }
    mutating func encode<T: Encodable>(_ v: T) throws { try writer.encodeValue(v) }
}

private struct UnkeyedWriter: UnkeyedEncodingContainer, PrimitiveWriting {
    let writer: SnapshotWriter
    let at: (depth: Int, id: Int)
    var codingPath: [any CodingKey] { [] }
    private(set) var count = 0

    init(writer: SnapshotWriter, at: (depth: Int, id: Int)) {
        self.writer = writer
        self.at = at
    }

    private mutating func element() {
        writer.willWrite(depth: at.depth, id: at.id)
        count += 1
    }

    mutating func encodeNil() throws { element(); putNil() }
    mutating func encode(_ v: Bool) throws { element(); put(v) }
    mutating func encode(_ v: String) throws { element(); put(v) }
    mutating func encode(_ v: Double) throws { element(); put(v) }
    mutating func encode(_ v: Float) throws { element(); put(Double(v)) }
    mutating func encode(_ v: Int) throws { element(); put(signed: Int64(v)) }
    mutating func encode(_ v: Int8) throws { element(); put(signed: Int64(v)) }
    mutating func encode(_ v: Int16) throws { element(); put(signed: Int64(v)) }
    mutating func encode(_ v: Int32) throws { element(); put(signed: Int64(v)) }
    mutating func encode(_ v: Int64) throws { element(); put(signed: v) }
    mutating func encode(_ v: UInt) throws { element(); put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt8) throws { element(); put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt16) throws { element(); put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt32) throws { element(); put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt64) throws { element(); put(unsigned: v) }
    mutating func encode<T: Encodable>(_ v: T) throws { element(); try writer.encodeValue(v) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        element()
        return KeyedEncodingContainer(KeyedWriter<NestedKey>(writer: writer, at: writer.openContainer(.object)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        element()
        return UnkeyedWriter(writer: writer, at: writer.openContainer(.array))
    }

    mutating func superEncoder() -> any Encoder {
        element()
        return SnapshotEncoder(writer: writer)
    }
}

private struct KeyedWriter<Key: CodingKey>: KeyedEncodingContainerProtocol, PrimitiveWriting {
    let writer: SnapshotWriter
    let at: (depth: Int, id: Int)
    var codingPath: [any CodingKey] { [] }

    private func field(_ key: Key) {
        writer.willWrite(depth: at.depth, id: at.id)
        writer.key(key)
    }

    mutating func encodeNil(forKey key: Key) throws { field(key); putNil() }
    mutating func encode(_ v: Bool, forKey key: Key) throws { field(key); put(v) }
    mutating func encode(_ v: String, forKey key: Key) throws { field(key); put(v) }
    mutating func encode(_ v: Double, forKey key: Key) throws { field(key); put(v) }
    mutating func encode(_ v: Float, forKey key: Key) throws { field(key); put(Double(v)) }
    mutating func encode(_ v: Int, forKey key: Key) throws { field(key); put(signed: Int64(v)) }
    mutating func encode(_ v: Int8, forKey key: Key) throws { field(key); put(signed: Int64(v)) }
    mutating func encode(_ v: Int16, forKey key: Key) throws { field(key); put(signed: Int64(v)) }
    mutating func encode(_ v: Int32, forKey key: Key) throws { field(key); put(signed: Int64(v)) }
    mutating func encode(_ v: Int64, forKey key: Key) throws { field(key); put(signed: v) }
    mutating func encode(_ v: UInt, forKey key: Key) throws { field(key); put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt8, forKey key: Key) throws { field(key); put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt16, forKey key: Key) throws { field(key); put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt32, forKey key: Key) throws { field(key); put(unsigned: UInt64(v)) }
    mutating func encode(_ v: UInt64, forKey key: Key) throws { field(key); put(unsigned: v) }
    mutating func encode<T: Encodable>(_ v: T, forKey key: Key) throws { field(key); try writer.encodeValue(v) }

    // An absent optional is written as nil, not left out: a reader then finds every
    // field in the order it asks for them, without searching the object.
    mutating func encodeIfPresent(_ v: Bool?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: String?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: Double?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: Float?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: Int?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: Int8?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: Int16?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: Int32?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: Int64?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: UInt?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: UInt8?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: UInt16?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: UInt32?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent(_ v: UInt64?, forKey key: Key) throws { try some(v, key) }
    mutating func encodeIfPresent<T: Encodable>(_ v: T?, forKey key: Key) throws { try some(v, key) }

    private mutating func some<T: Encodable>(_ v: T?, _ key: Key) throws {
        if let v { try encode(v, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        field(key)
        return KeyedEncodingContainer(KeyedWriter<NestedKey>(writer: writer, at: writer.openContainer(.object)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        field(key)
        return UnkeyedWriter(writer: writer, at: writer.openContainer(.array))
    }

    mutating func superEncoder() -> any Encoder {
        writer.willWrite(depth: at.depth, id: at.id)
        writer.key(SuperKey())
        return SnapshotEncoder(writer: writer)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        field(key)
        return SnapshotEncoder(writer: writer)
    }
}

private struct SuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) {}
    init?(intValue: Int) { nil }
}

// MARK: Reading

final class SnapshotReader {
    let bytes: [UInt8]
    var keyNames: [String] = []
    /// Where the root value's bytes end (the key table follows).
    var end: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.end = bytes.count
    }

    static func corrupt(_ what: String, at offset: Int) -> DecodingError {
        DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(what) at byte \(offset)"))
    }

    func byte(_ p: inout Int) throws -> UInt8 {
        guard p < end else { throw Self.corrupt("unexpected end", at: p) }
        defer { p += 1 }
        return bytes[p]
    }

    func u32(_ p: inout Int) throws -> UInt32 {
        guard p + 4 <= end else { throw Self.corrupt("unexpected end", at: p) }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[p + k]) << (8 * k) }
        p += 4
        return v
    }

    func varint(_ p: inout Int) throws -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte(&p)
            guard shift < 64 else { throw Self.corrupt("integer too long", at: p) }
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    func int(_ p: inout Int) throws -> Int64 {
        let z = try varint(&p)
        return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
    }

    func double(_ p: inout Int) throws -> Double {
        guard p + 8 <= end else { throw Self.corrupt("unexpected end", at: p) }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[p + k]) << (8 * k) }
        p += 8
        return Double(bitPattern: v)
    }

    func string(_ p: inout Int) throws -> String {
        let n = try varint(&p)
        guard n <= UInt64(end - p) else { throw Self.corrupt("string longer than the snapshot", at: p) }
        defer { p += Int(n) }
        return bytes.withUnsafeBufferPointer { String(decoding: $0[p..<(p + Int(n))], as: UTF8.self) }
    }

    func tag(at p: Int) throws -> SnapshotCoder.Tag {
        guard p < end else { throw Self.corrupt("unexpected end", at: p) }
        guard let t = SnapshotCoder.Tag(rawValue: bytes[p]) else { throw Self.corrupt("unknown tag \(bytes[p])", at: p) }
        return t
    }

    /// Where the value at `p` ends.
    func skip(_ p: Int) throws -> Int {
        var q = p + 1
        switch try tag(at: p) {
        case .null, .no, .yes: break
        case .int, .uint: _ = try varint(&q)
        case .double: q += 8
        case .string:
            let n = try varint(&q)
            guard n <= UInt64(end - q) else { throw Self.corrupt("string longer than the snapshot", at: q) }
            q += Int(n)
        case .array, .object:
            let n = Int(try u32(&q))
            q += n
        case .value: _ = try valuePayload(&q)
        case .event: _ = try eventPayload(&q)
        }
        guard q <= end else { throw Self.corrupt("value runs past the end", at: p) }
        return q
    }

    /// The container at `p`: where its elements start and end, and how many there are.
    func container(_ tag: SnapshotCoder.Tag, at p: Int) throws -> (start: Int, end: Int, count: Int) {
        guard try self.tag(at: p) == tag else { throw Self.corrupt("expected \(tag)", at: p) }
        var q = p + 1
        let length = Int(try u32(&q))
        guard length >= 4, length <= end - q else { throw Self.corrupt("container longer than the snapshot", at: p) }
        let count = Int(try u32(&q))
        // Every element takes a byte at least (a field two): a count beyond that is damage.
        guard count <= (length - 4) / (tag == .object ? 2 : 1) else { throw Self.corrupt("more elements than bytes", at: p) }
        return (q, p + 5 + length, count)
    }

    func decodeValue<T: Decodable>(_ type: T.Type, at p: Int) throws -> T {
        if T.self == Value.self {
            guard try tag(at: p) == .value else { throw Self.corrupt("expected a value", at: p) }
            var q = p + 1
            return try valuePayload(&q) as! T
        }
        if T.self == Event.self {
            guard try tag(at: p) == .event else { throw Self.corrupt("expected an event", at: p) }
            var q = p + 1
            return try eventPayload(&q) as! T
        }
        return try T(from: SnapshotDecoder(reader: self, at: p))
    }

    func valuePayload(_ p: inout Int) throws -> Value {
        let at = p
        switch try byte(&p) {
        case 0: return .null
        case 1: return .int(try int(&p))
        case 2: return .double(try double(&p))
        case 3: return .bool(false)
        case 4: return .bool(true)
        case 5: return .string(try string(&p))
        case 6: return .timestamp(try int(&p))
        case 7: return .duration(try int(&p))
        case let k: throw Self.corrupt("unknown value kind \(k)", at: at)
        }
    }

    func eventPayload(_ p: inout Int) throws -> Event {
        let at = p
        guard let stream = Int32(exactly: try int(&p)) else { throw Self.corrupt("stream out of range", at: at) }
        let ts = try int(&p)
        guard let input = Int32(exactly: try int(&p)) else { throw Self.corrupt("input out of range", at: at) }
        let line = try int(&p)
        let n = try varint(&p)
        guard n <= UInt64(end - p) else { throw Self.corrupt("more values than bytes", at: p) }
        var values: [Value] = []
        values.reserveCapacity(Int(n))
        for _ in 0..<n { values.append(try valuePayload(&p)) }
        return Event(stream: stream, ts: ts, origin: EventOrigin(input: input, line: line), values: values)
    }

    // Primitives at a position.

    func bool(at p: Int) throws -> Bool {
        switch try tag(at: p) {
        case .no: return false
        case .yes: return true
        default: throw Self.corrupt("expected a bool", at: p)
        }
    }

    func string(at p: Int) throws -> String {
        guard try tag(at: p) == .string else { throw Self.corrupt("expected a string", at: p) }
        var q = p + 1
        return try string(&q)
    }

    func double(at p: Int) throws -> Double {
        guard try tag(at: p) == .double else { throw Self.corrupt("expected a double", at: p) }
        var q = p + 1
        return try double(&q)
    }

    func integer<I: FixedWidthInteger>(_: I.Type, at p: Int) throws -> I {
        var q = p + 1
        let v: I?
        switch try tag(at: p) {
        case .int: v = I(exactly: try int(&q))
        case .uint: v = I(exactly: try varint(&q))
        default: throw Self.corrupt("expected an integer", at: p)
        }
        guard let v else { throw Self.corrupt("integer out of range for \(I.self)", at: p) }
        return v
    }

    func isNil(at p: Int) throws -> Bool { try tag(at: p) == .null }
}

private struct SnapshotDecoder: Decoder {
    let reader: SnapshotReader
    let at: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(reader: SnapshotReader, at: Int) {
        self.reader = reader
        self.at = at
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try KeyedReader<Key>(reader: reader, at: at))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { try UnkeyedReader(reader: reader, at: at) }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleReader(reader: reader, at: at) }
}

/// Reads one value of any kind at a position: what every container's `decode` comes down to.
private protocol PrimitiveReading {
    var reader: SnapshotReader { get }
}

extension PrimitiveReading {
    func read<T: Decodable>(_ type: T.Type, at p: Int) throws -> T {
        switch type {
        case is Bool.Type: return try reader.bool(at: p) as! T
        case is String.Type: return try reader.string(at: p) as! T
        case is Double.Type: return try reader.double(at: p) as! T
        case is Float.Type: return Float(try reader.double(at: p)) as! T
        case is Int.Type: return try reader.integer(Int.self, at: p) as! T
        case is Int8.Type: return try reader.integer(Int8.self, at: p) as! T
        case is Int16.Type: return try reader.integer(Int16.self, at: p) as! T
        case is Int32.Type: return try reader.integer(Int32.self, at: p) as! T
        case is Int64.Type: return try reader.integer(Int64.self, at: p) as! T
        case is UInt.Type: return try reader.integer(UInt.self, at: p) as! T
        case is UInt8.Type: return try reader.integer(UInt8.self, at: p) as! T
        case is UInt16.Type: return try reader.integer(UInt16.self, at: p) as! T
        case is UInt32.Type: return try reader.integer(UInt32.self, at: p) as! T
        case is UInt64.Type: return try reader.integer(UInt64.self, at: p) as! T
        default: return try reader.decodeValue(type, at: p)
        }
    }
}

private struct SingleReader: SingleValueDecodingContainer, PrimitiveReading {
    let reader: SnapshotReader
    let at: Int
    var codingPath: [any CodingKey] { [] }
    func decodeNil() -> Bool { (try? reader.isNil(at: at)) ?? false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try read(type, at: at) }
}

private struct UnkeyedReader: UnkeyedDecodingContainer, PrimitiveReading {
    let reader: SnapshotReader
    var codingPath: [any CodingKey] { [] }
    let count: Int?
    private(set) var currentIndex = 0
    private var next: Int
    private let end: Int
    var isAtEnd: Bool { currentIndex >= count! }

    init(reader: SnapshotReader, at p: Int) throws {
        self.reader = reader
        let c = try reader.container(.array, at: p)
        count = c.count
        next = c.start
        end = c.end
    }

    /// The next element's position, moving past it.
    private mutating func element() throws -> Int {
        guard !isAtEnd else { throw SnapshotReader.corrupt("array has no element \(currentIndex)", at: next) }
        let p = next
        next = try reader.skip(p)
        guard next <= end else { throw SnapshotReader.corrupt("element runs past its array", at: p) }
        currentIndex += 1
        return p
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, try reader.isNil(at: next) else { return false }
        _ = try element()
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try read(type, at: element()) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(try KeyedReader<NestedKey>(reader: reader, at: element()))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try UnkeyedReader(reader: reader, at: element()) }

    mutating func superDecoder() throws -> any Decoder { SnapshotDecoder(reader: reader, at: try element()) }
}

private struct KeyedReader<Key: CodingKey>: KeyedDecodingContainerProtocol, PrimitiveReading {
    let reader: SnapshotReader
    var codingPath: [any CodingKey] { [] }
    private let start: Int
    private let end: Int
    private let count: Int
    /// Fields are read in the order they were written, as a rule: the next one is
    /// tried first, and the object is only searched when it is not the one asked for.
    /// (A class: the protocol's reads are not mutating.)
    private final class Cursor {
        var next: Int
        var index = 0
        init(_ next: Int) { self.next = next }
    }
    private let cursor: Cursor

    init(reader: SnapshotReader, at p: Int) throws {
        self.reader = reader
        let c = try reader.container(.object, at: p)
        (start, end, count) = c
        cursor = Cursor(c.start)
    }

    /// The key name and value position of the field at `p`, and where the field ends.
    private func field(at p: Int) throws -> (name: String, value: Int, end: Int) {
        var q = p
        let id = try reader.varint(&q)
        guard id < UInt64(reader.keyNames.count) else { throw SnapshotReader.corrupt("unknown key \(id)", at: p) }
        let e = try reader.skip(q)
        guard e <= end else { throw SnapshotReader.corrupt("field runs past its object", at: p) }
        return (reader.keyNames[Int(id)], q, e)
    }

    private func find(_ key: Key, advancing: Bool = true) throws -> Int? {
        let name = key.stringValue
        if cursor.index < count {
            let f = try field(at: cursor.next)
            if f.name == name {
                if advancing {
                    cursor.next = f.end
                    cursor.index += 1
                }
                return f.value
            }
        }
        var p = start
        for _ in 0..<count {
            let f = try field(at: p)
            if f.name == name { return f.value }
            p = f.end
        }
        return nil
    }

    private func value(_ key: Key) throws -> Int {
        guard let p = try find(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: [], debugDescription: "no field \(key.stringValue)"))
        }
        return p
    }

    var allKeys: [Key] {
        var keys: [Key] = []
        var p = start
        for _ in 0..<count {
            guard let f = try? field(at: p) else { break }
            if let k = Key(stringValue: f.name) { keys.append(k) }
            p = f.end
        }
        return keys
    }

    func contains(_ key: Key) -> Bool { (try? find(key, advancing: false)) != nil }

    func decodeNil(forKey key: Key) throws -> Bool { try reader.isNil(at: value(key)) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try read(type, at: value(key)) }

    // Absent and nil read the same (this writer writes nil; the protocol's default
    // would search the object twice).
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try some(type, key) }

    private func some<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
        guard let p = try find(key), !(try reader.isNil(at: p)) else { return nil }
        return try read(type, at: p)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try read(type, at: value(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try read(type, at: value(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try read(type, at: value(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try read(type, at: value(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try read(type, at: value(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try read(type, at: value(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try read(type, at: value(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try read(type, at: value(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try read(type, at: value(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try read(type, at: value(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try read(type, at: value(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try read(type, at: value(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try read(type, at: value(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try read(type, at: value(key)) }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try some(type, key) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try some(type, key) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try some(type, key) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try some(type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try some(type, key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try some(type, key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try some(type, key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try some(type, key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try some(type, key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try some(type, key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try some(type, key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try some(type, key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try some(type, key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try some(type, key) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(try KeyedReader<NestedKey>(reader: reader, at: value(key)))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try UnkeyedReader(reader: reader, at: value(key))
    }

    func superDecoder() throws -> any Decoder {
        guard let p = try findName("super") else { throw SnapshotReader.corrupt("no super", at: start) }
        return SnapshotDecoder(reader: reader, at: p)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder { SnapshotDecoder(reader: reader, at: try value(key)) }

    private func findName(_ name: String) throws -> Int? {
        var p = start
        for _ in 0..<count {
            let f = try field(at: p)
            if f.name == name { return f.value }
            p = f.end
        }
        return nil
    }
}
