import VigilRuntime

/// Reads flat Parquet files such as `ParquetWriter` writes: PLAIN values, RLE /
/// bit-packed definition levels, v1 data pages, ZSTD, SNAPPY or no compression. Used to
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
                // The dictionary page, when there is one, comes first.
                var at = Int(md[11]?.int ?? md[9]?.int ?? 0)
                var values: [Value] = []
                var dictionary: [Value]?
                guard let compression = ParquetCodec(thrift: Int(codec)) else { throw Failure(description: "codec \(codec) is not supported") }
                while values.count < count {
                    var r = ThriftCompactReader(bytes, at: at)
                    let header: ThriftCompactReader.Value
                    do { header = try r.readStruct() } catch { throw Failure(description: "malformed page header") }
                    let compressed = Int(header[3]?.int ?? 0), uncompressed = Int(header[2]?.int ?? 0)
                    guard compressed >= 0, r.at + compressed <= bytes.count else { throw Failure(description: "page past the end of the file") }
                    let raw = Array(bytes[r.at..<(r.at + compressed)])
                    at = r.at + compressed
                    guard let page = compression.decompress(raw, size: uncompressed) else { throw Failure(description: "corrupt \(compression.rawValue) page") }
                    if header[1]?.int == 2, let dh = header[7] {
                        var plain = columns[c]
                        plain.nullable = false
                        dictionary = try decode(page, n: Int(dh[1]?.int ?? 0), column: plain, micros: micros[c])
                        continue
                    }
                    guard header[1]?.int == 0, let dp = header[5] else { throw Failure(description: "only v1 data pages are supported") }
                    let n = Int(dp[1]?.int ?? 0)
                    switch dp[2]?.int ?? 0 {
                    case 0:
                        values += try decode(page, n: n, column: columns[c], micros: micros[c])
                    case 2, 8:
                        guard let dictionary else { throw Failure(description: "dictionary-encoded page without a dictionary") }
                        values += try decodeIndices(page, n: n, column: columns[c], dictionary: dictionary)
                    case let e:
                        throw Failure(description: "encoding \(e) is not supported")
                    }
                }
                columnValues.append(values)
            }
            let n = columnValues.first?.count ?? 0
            for i in 0..<n { rows.append(columnValues.map { $0[i] }) }
        }
        return (columns, rows)
    }

    /// The definition levels at the start of a v1 page (all defined for a required
    /// column), and where the values start.
    static func definitions(_ page: [UInt8], n: Int, column: ParquetColumn) throws(Failure) -> (defined: [Bool], at: Int) {
        guard column.nullable else { return ([Bool](repeating: true, count: n), 0) }
        guard page.count >= 4 else { throw Failure(description: "short page") }
        let len = Int(page[0]) | Int(page[1]) << 8 | Int(page[2]) << 16 | Int(page[3]) << 24
        guard 4 + len <= page.count else { throw Failure(description: "short definition levels") }
        return (try hybrid(Array(page[4..<(4 + len)]), bitWidth: 1, n: n).map { $0 != 0 }, 4 + len)
    }

    /// A dictionary-encoded page: levels, the indices' bit width, then the indices.
    static func decodeIndices(_ page: [UInt8], n: Int, column: ParquetColumn, dictionary: [Value]) throws(Failure) -> [Value] {
        let (defined, at) = try definitions(page, n: n, column: column)
        guard at < page.count || !defined.contains(true) else { throw Failure(description: "short values") }
        let count = defined.filter { $0 }.count
        let indices = count == 0 ? [] : try hybrid(Array(page[(at + 1)...]), bitWidth: Int(page[at]), n: count)
        var out: [Value] = []
        out.reserveCapacity(n)
        var next = 0
        for d in defined {
            guard d else { out.append(.null); continue }
            let i = indices[next]
            next += 1
            guard i < dictionary.count else { throw Failure(description: "dictionary index \(i) out of range") }
            out.append(dictionary[i])
        }
        return out
    }

    static func decode(_ page: [UInt8], n: Int, column: ParquetColumn, micros: Bool) throws(Failure) -> [Value] {
        let (defined, start) = try definitions(page, n: n, column: column)
        var at = start
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

    /// The RLE / bit-packing hybrid: `n` values of `bitWidth` bits.
    static func hybrid(_ data: [UInt8], bitWidth: Int, n: Int) throws(Failure) -> [Int] {
        guard (0...32).contains(bitWidth) else { throw Failure(description: "bit width \(bitWidth) is not valid") }
        var r = ThriftCompactReader(data)
        var out: [Int] = []
        out.reserveCapacity(n)
        let bad = Failure(description: "malformed RLE / bit-packed values")
        while out.count < n {
            let header: UInt64
            do { header = try r.varint() } catch { throw bad }
            if header & 1 == 0 {
                var value = 0
                for k in 0..<((bitWidth + 7) / 8) {
                    do { value |= Int(try r.byte()) << (8 * k) } catch { throw bad }
                }
                guard header >> 1 <= UInt64(n - out.count) else { throw bad }
                out += [Int](repeating: value, count: Int(header >> 1))
            } else {
                let groups = Int(min(header >> 1, UInt64(n)))
                var bytes: [UInt8] = []
                for _ in 0..<(groups * bitWidth) {
                    do { bytes.append(try r.byte()) } catch { throw bad }
                }
                for v in 0..<(groups * 8) {
                    var value = 0
                    for b in 0..<bitWidth {
                        let bit = v * bitWidth + b
                        if bytes[bit / 8] & (1 << UInt8(bit % 8)) != 0 { value |= 1 << b }
                    }
                    out.append(value)
                }
            }
        }
        return Array(out.prefix(n))
    }
}
