import Glibc
import VigilRuntime

/// A column of a flat Parquet schema.
public struct ParquetColumn: Sendable, Hashable, CustomStringConvertible {
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

    /// `name kind` (`?` when nullable).
    public var description: String { "\(name) \(kind.rawValue)\(nullable ? "?" : "")" }
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
        /// The dictionary page's size when the chunk starts with one.
        var dictionaryPage: Int64?
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
        var levelBytes: [UInt8] = []
        if column.nullable {
            let encoded = Self.rleBits(levels)
            withUnsafeBytes(of: UInt32(encoded.count).littleEndian) { levelBytes += $0 }
            levelBytes += encoded
        }
        var pages: [(bytes: [UInt8], uncompressed: Int)] = []
        if column.kind == .string, let (dictionary, count, indices) = Self.dictionary(values) {
            // Dictionary encoding pays: the distinct strings once (PLAIN), then each
            // value as a bit-packed index.
            pages.append(page(type: 2, dictionary, values: count, encoding: 0))
            pages.append(page(type: 0, levelBytes + indices, values: range.count, encoding: 8))
        } else {
            pages.append(page(type: 0, levelBytes + values, values: range.count, encoding: 0))
        }
        let meta = ChunkMeta(offset: offset, values: Int64(range.count), nulls: nulls,
                             uncompressed: Int64(pages.reduce(0) { $0 + $1.uncompressed }),
                             compressed: Int64(pages.reduce(0) { $0 + $1.bytes.count }), min: lo, max: hi,
                             dictionaryPage: pages.count > 1 ? Int64(pages[0].bytes.count) : nil)
        return (pages.flatMap(\.bytes), meta)
    }

    /// One page: header, then the (compressed) body. `type` 0 is a v1 data page (levels
    /// RLE), 2 a dictionary page; `encoding` 0 PLAIN, 8 RLE_DICTIONARY.
    private func page(type: Int32, _ body: [UInt8], values: Int, encoding: Int32) -> (bytes: [UInt8], uncompressed: Int) {
        let compressed = codec.compress(body)
        var h = ThriftCompactWriter()
        h.i32(1, type)
        h.i32(2, Int32(body.count))               // uncompressed_page_size
        h.i32(3, Int32(compressed.count))         // compressed_page_size
        if type == 2 {
            h.begin(7)                            // dictionary_page_header
            h.i32(1, Int32(values))
            h.i32(2, encoding)
            h.end()
        } else {
            h.begin(5)                            // data_page_header
            h.i32(1, Int32(values))               // num_values (nulls included)
            h.i32(2, encoding)
            h.i32(3, 3)                           // definition_level_encoding: RLE
            h.i32(4, 3)                           // repetition_level_encoding: RLE
            h.end()
        }
        h.end()
        return (h.bytes + compressed, h.bytes.count + body.count)
    }

    /// For a string column's PLAIN values: the dictionary page body, its size, and the
    /// indices (bit width byte, then one bit-packed run) — when that is at most 3/4 of
    /// the PLAIN bytes; nil otherwise.
    static func dictionary(_ plain: [UInt8]) -> (page: [UInt8], count: Int, indices: [UInt8])? {
        // An open-addressing table of FNV-1a hashes over the PLAIN bytes: several times
        // cheaper than a Dictionary of slices on the write path.
        var slots = [Int32](repeating: -1, count: 1024)
        var starts: [Int] = []          // per dictionary entry: where its PLAIN bytes start
        var hashes: [UInt64] = []
        var dictionary: [UInt8] = []
        var indices: [Int] = []
        indices.reserveCapacity(plain.count / 8)
        var at = 0
        plain.withUnsafeBufferPointer { p in
            while at + 4 <= p.count {
                let len = Int(p[at]) | Int(p[at + 1]) << 8 | Int(p[at + 2]) << 16 | Int(p[at + 3]) << 24
                let end = at + 4 + len
                var h: UInt64 = 0xcbf2_9ce4_8422_2325
                for k in at..<end { h = (h ^ UInt64(p[k])) &* 0x0000_0100_0000_01B3 }
                var slot = Int(truncatingIfNeeded: h) & (slots.count - 1)
                var found = -1
                while slots[slot] >= 0 {
                    let id = Int(slots[slot])
                    if hashes[id] == h {
                        let s = starts[id]
                        if memcmp(p.baseAddress! + s, p.baseAddress! + at, 4 + len) == 0 { found = id; break }
                    }
                    slot = (slot + 1) & (slots.count - 1)
                }
                if found < 0 {
                    found = starts.count
                    starts.append(at)
                    hashes.append(h)
                    dictionary += p[at..<end]
                    // Mostly distinct values: PLAIN it is.
                    if dictionary.count > p.count / 2 { indices = []; return }
                    slots[slot] = Int32(found)
                    if starts.count * 2 > slots.count {
                        slots = [Int32](repeating: -1, count: slots.count * 2)
                        for (id, h) in hashes.enumerated() {
                            var s = Int(truncatingIfNeeded: h) & (slots.count - 1)
                            while slots[s] >= 0 { s = (s + 1) & (slots.count - 1) }
                            slots[s] = Int32(id)
                        }
                    }
                }
                indices.append(found)
                at = end
            }
        }
        guard !indices.isEmpty else { return nil }
        let count = starts.count
        let width = max(1, Int.bitWidth - (count - 1).leadingZeroBitCount)
        guard dictionary.count + indices.count * width / 8 <= plain.count * 3 / 4 else { return nil }
        return (dictionary, count, [UInt8(width)] + bitPacked(indices, width: width))
    }

    /// One bit-packed run of the RLE / bit-packing hybrid (values padded to a multiple
    /// of 8), least significant bit first.
    static func bitPacked(_ values: [Int], width: Int) -> [UInt8] {
        let groups = (values.count + 7) / 8
        var out: [UInt8] = []
        ThriftCompactWriter.varint(UInt64(groups) << 1 | 1, into: &out)
        var packed = [UInt8](repeating: 0, count: groups * width)
        for (i, v) in values.enumerated() {
            for b in 0..<width where v & (1 << b) != 0 {
                let bit = i * width + b
                packed[bit / 8] |= 1 << UInt8(bit % 8)
            }
        }
        return out + packed
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
                t.list(2, .i32, count: m.dictionaryPage == nil ? 2 : 3)
                t.i32Element(0)                   // PLAIN
                t.i32Element(3)                   // RLE
                if m.dictionaryPage != nil { t.i32Element(8) }   // RLE_DICTIONARY
                t.list(3, .binary, count: 1)
                t.binaryElement(Array(columns[c].name.utf8))
                t.i32(4, codec.thrift)
                t.i64(5, m.values)
                t.i64(6, m.uncompressed)
                t.i64(7, m.compressed)
                t.i64(9, m.offset + (m.dictionaryPage ?? 0))   // data_page_offset
                if m.dictionaryPage != nil { t.i64(11, m.offset) }   // dictionary_page_offset
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
}
