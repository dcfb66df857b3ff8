import CSnappy
import CZstd

/// Page compression: ZSTD (Debian's libzstd-dev, level 3), SNAPPY (libsnappy-dev, raw
/// blocks as Parquet specifies) or none.
public enum ParquetCodec: String, Sendable, CaseIterable {
    case uncompressed, snappy, zstd

    /// `CompressionCodec` in parquet.thrift.
    var thrift: Int32 {
        switch self {
        case .uncompressed: 0
        case .snappy: 1
        case .zstd: 6
        }
    }

    init?(thrift: Int) {
        guard let c = Self.allCases.first(where: { Int($0.thrift) == thrift }) else { return nil }
        self = c
    }

    /// The data files' name infix (`part-…-c000.zstd.parquet`), as Spark names them.
    var fileInfix: String {
        switch self {
        case .uncompressed: ""
        case .snappy: "snappy."
        case .zstd: "zstd."
        }
    }

    func compress(_ input: [UInt8]) -> [UInt8] {
        switch self {
        case .uncompressed:
            return input
        case .zstd:
            var out = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
            let n = out.withUnsafeMutableBytes { dst in
                input.withUnsafeBytes { src in ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, 3) }
            }
            out.removeSubrange(n...)
            return out
        case .snappy:
            var length = snappy_max_compressed_length(input.count)
            var out = [UInt8](repeating: 0, count: length)
            _ = out.withUnsafeMutableBytes { dst in
                input.withUnsafeBytes { src in
                    snappy_compress(src.baseAddress?.assumingMemoryBound(to: CChar.self), src.count,
                                    dst.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
                }
            }
            out.removeSubrange(length...)
            return out
        }
    }

    /// `size`: the page's uncompressed size from its header.
    func decompress(_ input: [UInt8], size: Int) -> [UInt8]? {
        switch self {
        case .uncompressed:
            return input.count == size ? input : nil
        case .zstd:
            var out = [UInt8](repeating: 0, count: size)
            let n = out.withUnsafeMutableBytes { dst in input.withUnsafeBytes { ZSTD_decompress(dst.baseAddress, dst.count, $0.baseAddress, $0.count) } }
            return ZSTD_isError(n) == 0 && n == size ? out : nil
        case .snappy:
            var length = size
            var out = [UInt8](repeating: 0, count: size)
            let status = out.withUnsafeMutableBytes { dst in
                input.withUnsafeBytes { src in
                    snappy_uncompress(src.baseAddress?.assumingMemoryBound(to: CChar.self), src.count,
                                      dst.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
                }
            }
            return status == SNAPPY_OK && length == size ? out : nil
        }
    }
}
