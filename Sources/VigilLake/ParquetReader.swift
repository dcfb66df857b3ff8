import CZstd
import VigilRuntime

/// Reads flat Parquet files such as `ParquetWriter` writes: PLAIN values, RLE /
/// bit-packed definition levels, v1 data pages, no compression or ZSTD. Used to
/// rewrite files in merges. Anything else (dictionary pages, nesting) is a clear error.
public enum ParquetReader {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func read(_ bytes: [UInt8]) throws(Failure) -> (columns: [ParquetColumn], rows: [[Value]]) {
        let magic = Array("PAR1".utf8)
        guard bytes.count >= 12, Array(bytes[0..<4]) == magic, Array(bytes[(bytes.count - 4)...]) == magic else {
            throw Failure(description: "not a Parquet file")
        }
        let len = Int(bytes[bytes.count - 8]) | Int(bytes[bytes.count - 7]) << 8 | Int(bytes[bytes.count - 6]) << 16 | Int(bytes[bytes.count - 5]) << 24
        guard len > 0, len <= bytes.count - 12 else { throw Failure(description: "bad footer length") }
        var footer = ThriftCompactReader(bytes, at: bytes.count - 8 - len)
        let meta: ThriftCompactReader.Value
        do { meta = try footer.readStruct() } catch { throw Failure(description: "malformed footer") }
        let schema = meta[2]?.list ?? []
        guard schema.count >= 1 else { throw Failure(description: "no schema") }
        var columns: [ParquetColumn] = []
        var micros: [Bool] = []
        for e in schema.dropFirst() {
            guard let name = e[4]?.binary.map({ String(decoding: $0, as: UTF8.self) }), let type = e[1]?.int else {
                throw Failure(description: "nested schemas are not supported")
            }
            let nullable = (e[3]?.int ?? 0) == 1
            let timestamp = e[6]?.int == 10 || e[6]?.int == 9 || e[10]?[8] != nil
            let unit = e[10]?[8]?[2]
            micros.append(e[6]?.int == 10 || unit?[2] != nil)
            let kind: ParquetColumn.Kind
            switch type {
            case 0: kind = .bool
            case 1, 2: kind = timestamp ? .timestamp : .int64
            case 5: kind = .double
            case 6: kind = .string
            default: throw Failure(description: "column `\(name)`: physical type \(type) is not supported")
            }
            columns.append(ParquetColumn(name: name, kind: kind, nullable: nullable))
        }
        var rows: [[Value]] = []
        for group in meta[4]?.list ?? [] {
            let chunks = group[1]?.list ?? []
            guard chunks.count == columns.count else { throw Failure(description: "row group does not match the schema") }
            var columnValues: [[Value]] = []
            for (c, chunk) in chunks.enumerated() {
                guard let md = chunk[3] else { throw Failure(description: "column chunk without metadata") }
                let codec = md[4]?.int ?? 0
                let count = Int(md[5]?.int ?? 0)
                var at = Int(md[9]?.int ?? 0)
                var values: [Value] = []
                while values.count < count {
                    var r = ThriftCompactReader(bytes, at: at)
                    let header: ThriftCompactReader.Value
                    do { header = try r.readStruct() } catch { throw Failure(description: "malformed page header") }
                    guard header[1]?.int == 0, let dp = header[5] else { throw Failure(description: "only v1 data pages are supported") }
                    let compressed = Int(header[3]?.int ?? 0), uncompressed = Int(header[2]?.int ?? 0)
                    guard r.at + compressed <= bytes.count else { throw Failure(description: "page past the end of the file") }
                    let raw = Array(bytes[r.at..<(r.at + compressed)])
                    at = r.at + compressed
                    let page = codec == 6 ? try unzstd(raw, uncompressed) : raw
                    guard codec == 0 || codec == 6 else { throw Failure(description: "codec \(codec) is not supported") }
                    guard (dp[2]?.int ?? 0) == 0 else { throw Failure(description: "only PLAIN values are supported") }
                    values += try decode(page, n: Int(dp[1]?.int ?? 0), column: columns[c], micros: micros[c])
                }
                columnValues.append(values)
            }
            let n = columnValues.first?.count ?? 0
            for i in 0..<n { rows.append(columnValues.map { $0[i] }) }
        }
        return (columns, rows)
    }

    static func unzstd(_ input: [UInt8], _ size: Int) throws(Failure) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        let n = out.withUnsafeMutableBytes { dst in input.withUnsafeBytes { ZSTD_decompress(dst.baseAddress, dst.count, $0.baseAddress, $0.count) } }
        guard ZSTD_isError(n) == 0, n == size else { throw Failure(description: "corrupt ZSTD page") }
        return out
    }

    static func decode(_ page: [UInt8], n: Int, column: ParquetColumn, micros: Bool) throws(Failure) -> [Value] {
        var at = 0
        var defined = [Bool](repeating: true, count: n)
        if column.nullable {
            guard page.count >= 4 else { throw Failure(description: "short page") }
            let len = Int(page[0]) | Int(page[1]) << 8 | Int(page[2]) << 16 | Int(page[3]) << 24
            guard 4 + len <= page.count else { throw Failure(description: "short definition levels") }
            defined = try levels(Array(page[4..<(4 + len)]), n: n)
            at = 4 + len
        }
        var out: [Value] = []
        out.reserveCapacity(n)
        var boolIndex = 0
        func u64() throws(Failure) -> UInt64 {
            guard at + 8 <= page.count else { throw Failure(description: "short values") }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(page[at + i]) << (8 * UInt64(i)) }
            at += 8
            return v
        }
        for d in defined {
            guard d else { out.append(.null); continue }
            switch column.kind {
            case .int64: out.append(.int(Int64(bitPattern: try u64())))
            case .timestamp:
                let v = Int64(bitPattern: try u64())
                out.append(.timestamp(micros ? (v >= 0 ? v / 1000 : (v - 999) / 1000) : v))
            case .double: out.append(.double(Double(bitPattern: try u64())))
            case .bool:
                guard at + boolIndex / 8 < page.count else { throw Failure(description: "short values") }
                out.append(.bool(page[at + boolIndex / 8] & (1 << UInt8(boolIndex % 8)) != 0))
                boolIndex += 1
            case .string:
                guard at + 4 <= page.count else { throw Failure(description: "short values") }
                let len = Int(page[at]) | Int(page[at + 1]) << 8 | Int(page[at + 2]) << 16 | Int(page[at + 3]) << 24
                guard at + 4 + len <= page.count else { throw Failure(description: "short values") }
                out.append(.string(String(decoding: page[(at + 4)..<(at + 4 + len)], as: UTF8.self)))
                at += 4 + len
            }
        }
        return out
    }

    /// The RLE / bit-packing hybrid at bit width 1.
    static func levels(_ data: [UInt8], n: Int) throws(Failure) -> [Bool] {
        var r = ThriftCompactReader(data)
        var out: [Bool] = []
        out.reserveCapacity(n)
        while out.count < n {
            let header: UInt64
            do { header = try r.varint() } catch { throw Failure(description: "malformed definition levels") }
            if header & 1 == 0 {
                let count = Int(header >> 1)
                let value: UInt8
                do { value = try r.byte() } catch { throw Failure(description: "malformed definition levels") }
                out += [Bool](repeating: value != 0, count: count)
            } else {
                let groups = Int(header >> 1)
                for _ in 0..<groups {
                    let b: UInt8
                    do { b = try r.byte() } catch { throw Failure(description: "malformed definition levels") }
                    for bit in 0..<8 { out.append(b & (1 << UInt8(bit)) != 0) }
                }
            }
        }
        return Array(out.prefix(n))
    }
}
