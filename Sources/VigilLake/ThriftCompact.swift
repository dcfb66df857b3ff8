/// The Thrift compact protocol, write side only: what Parquet's footer and page headers
/// are encoded in. Fields are written in increasing id order; `begin`/`end` nest
/// structs.
struct ThriftCompactWriter {
    enum FieldType: UInt8 {
        case boolTrue = 1, boolFalse = 2, byte = 3, i16 = 4, i32 = 5, i64 = 6, double = 7, binary = 8, list = 9, set = 10, map = 11, `struct` = 12
    }

    private(set) var bytes: [UInt8] = []
    private var lastField: [Int16] = [0]

    mutating func varint(_ v: UInt64) { Self.varint(v, into: &bytes) }

    /// An unsigned LEB128 varint (Thrift's, and the RLE run headers' of Parquet).
    static func varint(_ v: UInt64, into out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    mutating func zigzag(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }

    private mutating func fieldHeader(_ id: Int16, _ type: FieldType) {
        let delta = id - lastField[lastField.count - 1]
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            zigzag(Int64(id))
        }
        lastField[lastField.count - 1] = id
    }

    mutating func i32(_ id: Int16, _ v: Int32) {
        fieldHeader(id, .i32)
        zigzag(Int64(v))
    }

    mutating func i64(_ id: Int16, _ v: Int64) {
        fieldHeader(id, .i64)
        zigzag(v)
    }

    mutating func bool(_ id: Int16, _ v: Bool) { fieldHeader(id, v ? .boolTrue : .boolFalse) }

    mutating func binary(_ id: Int16, _ v: [UInt8]) {
        fieldHeader(id, .binary)
        varint(UInt64(v.count))
        bytes.append(contentsOf: v)
    }

    mutating func string(_ id: Int16, _ s: String) { binary(id, Array(s.utf8)) }

    /// Starts a struct-valued field; close it with `end()`.
    mutating func begin(_ id: Int16) {
        fieldHeader(id, .struct)
        lastField.append(0)
    }

    /// Ends the innermost struct (fields, then the stop byte).
    mutating func end() {
        bytes.append(0)
        lastField.removeLast()
    }

    /// A list field's header: `count` elements of `type` follow.
    mutating func list(_ id: Int16, _ type: FieldType, count: Int) {
        fieldHeader(id, .list)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | type.rawValue)
        } else {
            bytes.append(0xF0 | type.rawValue)
            varint(UInt64(count))
        }
    }

    /// A struct element of a list; close it with `end()`.
    mutating func beginElement() { lastField.append(0) }

    mutating func i32Element(_ v: Int32) { zigzag(Int64(v)) }

    mutating func binaryElement(_ v: [UInt8]) {
        varint(UInt64(v.count))
        bytes.append(contentsOf: v)
    }
}
