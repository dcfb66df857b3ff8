import CZstd
import VigilRuntime

/// A column of a flat Parquet schema.
public struct ParquetColumn: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case string, int64, double, bool
        /// Microseconds since the epoch, UTC (Vigil's millisecond times, scaled).
        case timestamp
    }
    public var name: String
    public var kind: Kind
    public var nullable: Bool

    public init(name: String, kind: Kind, nullable: Bool = true) {
        self.name = name
        self.kind = kind
        self.nullable = nullable
    }
}

public enum ParquetCodec: String, Sendable, CaseIterable {
    case uncompressed, zstd

    var thrift: Int32 { self == .zstd ? 6 : 0 }
}

/// Writes Parquet files natively: flat schemas, PLAIN values, RLE definition levels,
/// one data page per column per row group, ZSTD (or no) compression, and min / max /
/// null-count statistics per column chunk. Layout and field numbers follow
/// apache/parquet-format (`parquet.thrift`).
public struct ParquetWriter: Sendable {
    public var columns: [ParquetColumn]
    public var codec: ParquetCodec
    public var rowGroupRows: Int

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(columns: [ParquetColumn], codec: ParquetCodec = .zstd, rowGroupRows: Int = 128 * 1024) {
        self.columns = columns
        self.codec = codec
        self.rowGroupRows = max(1, rowGroupRows)
    }

    /// Statistics of one column over the rows written, for the Delta log.
    public struct ColumnStats: Sendable {
        public var min: Value?
        public var max: Value?
        public var nulls: Int64
    }

    /// The file's bytes and per-column statistics over all its rows. Each row holds one
    /// value per column; a value of the wrong type (or null in a required column) is
    /// an error naming the row and column.
    public func write(_ rows: [[Value]]) throws(Failure) -> (bytes: [UInt8], stats: [ColumnStats]) {
        var out: [UInt8] = Array("PAR1".utf8)
        var groups: [(chunks: [ChunkMeta], rows: Int, bytes: Int64, offset: Int64)] = []
        var totals = columns.map { _ in ColumnStats(min: nil, max: nil, nulls: 0) }
        var start = 0
        repeat {
            let end = min(rows.count, start + rowGroupRows)
            let groupOffset = Int64(out.count)
            var chunks: [ChunkMeta] = []
            var size: Int64 = 0
            for (c, column) in columns.enumerated() {
                let chunk = try writeChunk(column, index: c, rows: rows, range: start..<end, offset: Int64(out.count))
                out += chunk.bytes
                size += chunk.meta.uncompressed
                chunks.append(chunk.meta)
                totals[c].nulls += chunk.meta.nulls
                if let v = chunk.meta.min, totals[c].min.map({ Self.less(v, $0) }) ?? true { totals[c].min = v }
                if let v = chunk.meta.max, totals[c].max.map({ Self.less($0, v) }) ?? true { totals[c].max = v }
            }
            groups.append((chunks, end - start, size, groupOffset))
            start = end
        } while start < rows.count
        let footer = fileMetaData(groups, rows: rows.count)
        out += footer
        withUnsafeBytes(of: UInt32(footer.count).littleEndian) { out += $0 }
        out += Array("PAR1".utf8)
        return (out, totals)
    }

    struct ChunkMeta {
        var offset: Int64
        var values: Int64
        var nulls: Int64
        var uncompressed: Int64
        var compressed: Int64
        var min: Value?
        var max: Value?
    }

    private func writeChunk(_ column: ParquetColumn, index: Int, rows: [[Value]], range: Range<Int>,
                            offset: Int64) throws(Failure) -> (bytes: [UInt8], meta: ChunkMeta) {
        var values: [UInt8] = []
        var levels: [Bool] = []
        var nulls: Int64 = 0
        var lo: Value?, hi: Value?
        for r in range {
            guard index < rows[r].count else { throw Failure(description: "row \(r) has no value for column `\(column.name)`") }
            let v = rows[r][index]
            if v.isNull {
                guard column.nullable else { throw Failure(description: "row \(r): column `\(column.name)` is required, found null") }
                levels.append(false)
                nulls += 1
                continue
            }
            levels.append(true)
            guard Self.plain(v, column.kind, into: &values) else {
                throw Failure(description: "row \(r): column `\(column.name)` holds \(column.kind.rawValue), found \(v)")
            }
            if case .double(let d) = v, d.isNaN { continue }
            if lo.map({ Self.less(v, $0) }) ?? true { lo = v }
            if hi.map({ Self.less($0, v) }) ?? true { hi = v }
        }
        // PLAIN booleans are bit-packed, least significant bit first.
        if column.kind == .bool {
            var packed = [UInt8](repeating: 0, count: (values.count + 7) / 8)
            for (i, b) in values.enumerated() where b != 0 { packed[i / 8] |= 1 << UInt8(i % 8) }
            values = packed
        }
        var page: [UInt8] = []
        if column.nullable {
            let encoded = Self.rleBits(levels)
            withUnsafeBytes(of: UInt32(encoded.count).littleEndian) { page += $0 }
            page += encoded
        }
        page += values
        let body = codec == .zstd ? Self.zstd(page) : page
        var h = ThriftCompactWriter()
        h.i32(1, 0)                               // type: DATA_PAGE
        h.i32(2, Int32(page.count))               // uncompressed_page_size
        h.i32(3, Int32(body.count))               // compressed_page_size
        h.begin(5)                                // data_page_header
        h.i32(1, Int32(range.count))              // num_values (nulls included)
        h.i32(2, 0)                               // encoding: PLAIN
        h.i32(3, 3)                               // definition_level_encoding: RLE
        h.i32(4, 3)                               // repetition_level_encoding: RLE
        h.end()
        h.end()
        let header = h.bytes
        let meta = ChunkMeta(offset: offset, values: Int64(range.count), nulls: nulls,
                             uncompressed: Int64(header.count + page.count), compressed: Int64(header.count + body.count),
                             min: lo, max: hi)
        return (header + body, meta)
    }

    private func fileMetaData(_ groups: [(chunks: [ChunkMeta], rows: Int, bytes: Int64, offset: Int64)], rows: Int) -> [UInt8] {
        var t = ThriftCompactWriter()
        t.i32(1, 1)                               // version
        t.list(2, .struct, count: columns.count + 1)
        t.beginElement()                          // the root
        t.string(4, "schema")
        t.i32(5, Int32(columns.count))
        t.end()
        for c in columns {
            t.beginElement()
            t.i32(1, Self.physical(c.kind))
            t.i32(3, c.nullable ? 1 : 0)          // OPTIONAL / REQUIRED
            t.string(4, c.name)
            switch c.kind {
            case .string:
                t.i32(6, 0)                       // converted_type UTF8
                t.begin(10)
                t.begin(1)                        // LogicalType.STRING
                t.end()
                t.end()
            case .timestamp:
                t.i32(6, 10)                      // converted_type TIMESTAMP_MICROS
                t.begin(10)
                t.begin(8)                        // LogicalType.TIMESTAMP
                t.bool(1, true)                   // isAdjustedToUTC
                t.begin(2)                        // unit
                t.begin(2)                        // MICROS
                t.end()
                t.end()
                t.end()
                t.end()
            default: break
            }
            t.end()
        }
        t.i64(3, Int64(rows))
        t.list(4, .struct, count: groups.count)
        for g in groups {
            t.beginElement()
            t.list(1, .struct, count: g.chunks.count)
            for (c, m) in g.chunks.enumerated() {
                t.beginElement()
                t.i64(2, m.offset)                // file_offset
                t.begin(3)                        // meta_data
                t.i32(1, Self.physical(columns[c].kind))
                t.list(2, .i32, count: 2)
                t.i32Element(0)                   // PLAIN
                t.i32Element(3)                   // RLE
                t.list(3, .binary, count: 1)
                t.binaryElement(Array(columns[c].name.utf8))
                t.i32(4, codec.thrift)
                t.i64(5, m.values)
                t.i64(6, m.uncompressed)
                t.i64(7, m.compressed)
                t.i64(9, m.offset)                // data_page_offset
                t.begin(12)                       // statistics
                t.i64(3, m.nulls)
                if let hi = m.max { t.binary(5, Self.statBytes(hi, columns[c].kind)) }
                if let lo = m.min { t.binary(6, Self.statBytes(lo, columns[c].kind)) }
                t.end()
                t.end()
                t.end()
            }
            t.i64(2, g.bytes)
            t.i64(3, Int64(g.rows))
            t.i64(5, g.offset)
            t.end()
        }
        t.string(6, "vigil")
        t.list(7, .struct, count: columns.count)  // column_orders: TYPE_ORDER each
        for _ in columns {
            t.beginElement()
            t.begin(1)
            t.end()
            t.end()
        }
        t.end()
        return t.bytes
    }

    static func physical(_ k: ParquetColumn.Kind) -> Int32 {
        switch k {
        case .bool: 0
        case .int64, .timestamp: 2
        case .double: 5
        case .string: 6
        }
    }

    /// Appends `v` PLAIN-encoded; false when it is not of the column's kind.
    static func plain(_ v: Value, _ kind: ParquetColumn.Kind, into out: inout [UInt8]) -> Bool {
        switch (kind, v) {
        case (.int64, .int(let n)): withUnsafeBytes(of: n.littleEndian) { out += $0 }
        case (.timestamp, .timestamp(let ms)): withUnsafeBytes(of: (ms &* 1000).littleEndian) { out += $0 }
        case (.double, .double(let d)): withUnsafeBytes(of: d.bitPattern.littleEndian) { out += $0 }
        case (.double, .int(let n)): withUnsafeBytes(of: Double(n).bitPattern.littleEndian) { out += $0 }
        case (.bool, .bool(let b)): out.append(b ? 1 : 0)   // one byte each; the page packs them
        case (.string, .string(let s)):
            withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian) { out += $0 }
            out += s.utf8
        default: return false
        }
        return true
    }

    static func statBytes(_ v: Value, _ kind: ParquetColumn.Kind) -> [UInt8] {
        var out: [UInt8] = []
        if case .string(let s) = v { return Array(s.utf8) }
        _ = plain(v, kind, into: &out)
        return out
    }

    /// Order for statistics: numbers by value, strings by bytes (unsigned).
    static func less(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        case (.bool(let x), .bool(let y)): return !x && y
        default: return (ValueOps.compare(a, b) ?? 0) < 0
        }
    }

    /// The RLE / bit-packing hybrid with bit width 1, as RLE runs.
    static func rleBits(_ bits: [Bool]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bits.count {
            var j = i
            while j < bits.count && bits[j] == bits[i] { j += 1 }
            ThriftCompactWriter.varint(UInt64(j - i) << 1, into: &out)
            out.append(bits[i] ? 1 : 0)
            i = j
        }
        return out
    }

    static func zstd(_ input: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let n = out.withUnsafeMutableBytes { dst in
            input.withUnsafeBytes { src in ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, 3) }
        }
        out.removeSubrange(n...)
        return out
    }
}
