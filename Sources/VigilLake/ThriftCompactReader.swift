/// The Thrift compact protocol, read side: decodes a struct into a tree of field ids
/// and values, enough to read Parquet footers and page headers.
struct ThriftCompactReader {
    indirect enum Value {
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case binary([UInt8])
        case list([Value])
        case `struct`([Int16: Value])

        var int: Int64? { if case .int(let v) = self { v } else { nil } }
        var binary: [UInt8]? { if case .binary(let v) = self { v } else { nil } }
        var list: [Value] { if case .list(let v) = self { v } else { [] } }
        var fields: [Int16: Value] { if case .struct(let v) = self { v } else { [:] } }
        subscript(_ id: Int16) -> Value? { fields[id] }
    }

    struct Malformed: Error {}

    let bytes: [UInt8]
    var at: Int

    init(_ bytes: [UInt8], at: Int = 0) {
        self.bytes = bytes
        self.at = at
    }

    mutating func byte() throws(Malformed) -> UInt8 {
        guard at < bytes.count else { throw Malformed() }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func varint() throws(Malformed) -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            let b = try byte()
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
            if shift > 63 { throw Malformed() }
        }
    }

    mutating func zigzag() throws(Malformed) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }

    mutating func readStruct() throws(Malformed) -> Value {
        var fields: [Int16: Value] = [:]
        var last: Int16 = 0
        while true {
            let header = try byte()
            if header == 0 { return .struct(fields) }
            let type = header & 0x0F
            let delta = Int16(header >> 4)
            let id = delta != 0 ? last + delta : Int16(truncatingIfNeeded: try zigzag())
            last = id
            fields[id] = try value(type)
        }
    }

    mutating func value(_ type: UInt8) throws(Malformed) -> Value {
        switch type {
        case 1: return .bool(true)
        case 2: return .bool(false)
        case 3: return .int(Int64(Int8(bitPattern: try byte())))
        case 4, 5, 6: return .int(try zigzag())
        case 7:
            guard at + 8 <= bytes.count else { throw Malformed() }
            var bits: UInt64 = 0
            for i in 0..<8 { bits |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
            at += 8
            return .double(Double(bitPattern: bits))
        case 8:
            let n = Int(try varint())
            guard n >= 0, at + n <= bytes.count else { throw Malformed() }
            defer { at += n }
            return .binary(Array(bytes[at..<(at + n)]))
        case 9, 10:
            let header = try byte()
            var count = Int(header >> 4)
            if count == 15 { count = Int(try varint()) }
            let element = header & 0x0F
            var items: [Value] = []
            for _ in 0..<count {
                // Booleans in lists are one byte each.
                if element == 1 || element == 2 { items.append(.bool(try byte() == 1)) } else { items.append(try value(element)) }
            }
            return .list(items)
        case 12: return try readStruct()
        default: throw Malformed()
        }
    }
}
