/// Short ASCII strings made and read as the two words Swift keeps them in.
///
/// A string of at most 15 bytes is stored in place, in the two words of the `String`
/// itself: its bytes, then a last byte holding flags and its length (`0xE0 | count` for
/// ASCII). Building one with `String(decoding:as:)` validated and copied it through
/// the standard library's general path, about 130 instructions per field, a tenth of
/// the cost of decoding an event; writing one went through `withUTF8`, a retain and a
/// release. Here both are a few word operations.
///
/// The layout is the standard library's, not a promise of the language: `isAvailable`
/// checks it once, with strings built the ordinary way, and every caller takes the
/// ordinary path when it does not hold.
public enum SmallASCII {
    /// Whether this standard library lays out short ASCII strings as described.
    public static let isAvailable: Bool = {
        for sample in ["", "a", "u227", "merchant", "abcdefghijklmno"] {
            var s = sample
            s.append("")
            let bits = unsafeBitCast(s, to: (UInt64, UInt64).self)
            let count = sample.utf8.count
            var low: UInt64 = 0, high: UInt64 = 0
            for (k, b) in sample.utf8.enumerated() {
                if k < 8 { low |= UInt64(b) << (8 * UInt64(k)) } else { high |= UInt64(b) << (8 * UInt64(k - 8)) }
            }
            guard bits.0 == low, bits.1 == high | (0xE0 | UInt64(count)) << 56 else { return false }
            let made = unsafeBitCast((low, high | (0xE0 | UInt64(count)) << 56), to: String.self)
            guard made == sample, made.hashValue == sample.hashValue, made.utf8.count == count,
                  Array(made.utf8) == Array(sample.utf8) else { return false }
        }
        return true
    }()

    /// The bytes of each word that are ASCII: the high bit of a byte set means not.
    @inline(__always) static func isASCII(_ low: UInt64, _ high: UInt64) -> Bool {
        (low | high) & 0x8080_8080_8080_8080 == 0
    }

    /// Bytes `start..<start + count` of `p` (`count` at most 15) as a string, or nil
    /// when one is not ASCII or the 16 bytes it reads are not all in `p` (from `start`,
    /// or, for a string near the end of a line, up to its end). Only when `isAvailable`.
    @inline(__always) static func make(_ p: UnsafeBufferPointer<UInt8>, from start: Int, count: Int) -> String? {
        guard let (low, high) = words(p, from: start, count: count) else { return nil }
        return unsafeBitCast((low, high | (0xE0 | UInt64(count)) << 56), to: String.self)
    }

    /// The `count` bytes (at most 16) that end at `end` (16 or more bytes into `raw`) as
    /// two little-endian words, zeros past them: the 16 bytes that end there, loaded
    /// as two words and shifted down.
    @inline(__always) static func lastBytes(_ raw: UnsafeRawPointer, end: Int, count: Int) -> (low: UInt64, high: UInt64) {
        let window = UInt128(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self))) << 64
            | UInt128(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: end - 16, as: UInt64.self)))
        let bytes = count == 0 ? 0 : window >> (8 * UInt128(16 - count))
        return (UInt64(truncatingIfNeeded: bytes), UInt64(truncatingIfNeeded: bytes >> 64))
    }

    /// `make`'s string as its two words, without the flags (as `words(_:)` gives them).
    @inline(__always) static func words(_ p: UnsafeBufferPointer<UInt8>, from start: Int, count: Int) -> (low: UInt64, high: UInt64)? {
        let raw = UnsafeRawPointer(p.baseAddress!)
        let low: UInt64, high: UInt64
        if start + 16 <= p.count {
            // Shifting by 64 is not a mask of nothing: the counts 0 and 8 are kept apart.
            let lowMask: UInt64 = count >= 8 ? ~0 : (1 << (8 * UInt64(count))) &- 1
            let highMask: UInt64 = count <= 8 ? 0 : (1 << (8 * UInt64(count - 8))) &- 1
            low = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start, as: UInt64.self)) & lowMask
            high = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self)) & highMask
        } else if start + count >= 16 {
            // The 16 bytes that end where the string does, shifted down to it.
            (low, high) = lastBytes(raw, end: start + count, count: count)
        } else {
            return nil
        }
        guard isASCII(low, high) else { return nil }
        return (low, high)
    }

    /// `s`'s bytes and count when it is a short ASCII string kept in place; nil otherwise
    /// (longer, not ASCII, or kept elsewhere). Only when `isAvailable`.
    @inline(__always) static func words(_ s: String) -> (low: UInt64, high: UInt64, count: Int)? {
        let bits = unsafeBitCast(s, to: (UInt64, UInt64).self)
        let flags = bits.1 >> 56
        guard flags & 0xF0 == 0xE0 else { return nil }
        return (bits.0, bits.1 & 0x00FF_FFFF_FFFF_FFFF, Int(flags & 0x0F))
    }
}

extension SmallASCII {
    /// Whether the first `count` bytes of the words need no escaping in a JSON string
    /// (no quote, backslash or control character). The classic zero-byte test: each
    /// word's lowest flagged byte is exact, and bytes past `count` (zeros) only flag
    /// themselves or higher ones.
    @inline(__always) static func isPlainJSON(_ low: UInt64, _ high: UInt64, count: Int) -> Bool {
        let l = escapeFlags(low)
        let first = l != 0 ? l.trailingZeroBitCount >> 3 : 8 + (escapeFlags(high) | 1 << 63).trailingZeroBitCount >> 3
        return first >= count
    }

    /// The high bit of each byte of `v` that a JSON string must escape (a quote, a
    /// backslash, a control character), by the classic zero-byte test: the lowest flag is
    /// exact, those above it may not be. (`FlatJSONScanner` adds bytes of multi-byte
    /// characters to find where a plain string ends.)
    @inline(__always) static func escapeFlags(_ v: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = v ^ (ones &* 0x22), backslash = v ^ (ones &* 0x5C)
        return (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((v &- ones &* 0x20) & ~v)) & (ones &* 0x80)
    }

    /// Writes `s` as a JSON string at `to` (`"`, its bytes, `"`) when it is a short
    /// ASCII string that needs no escaping, and returns the bytes written (at most 17, and
    /// 17 must be writable); nil, writing nothing that counts, otherwise.
    @inline(__always) static func writeQuoted(_ s: String, to: UnsafeMutablePointer<UInt8>) -> Int? {
        guard let w = words(s), isPlainJSON(w.low, w.high, count: w.count) else { return nil }
        return writeQuoted(w, to: to)
    }

    /// `writeQuoted` without the quotes: the bytes written (at most 15; 16 must be
    /// writable), or nil.
    @inline(__always) static func writeText(_ s: String, to: UnsafeMutablePointer<UInt8>) -> Int? {
        guard let w = words(s), isPlainJSON(w.low, w.high, count: w.count) else { return nil }
        return writeText(w, to: to)
    }

    /// Writes the string of words `w` (one that `isPlainJSON`) quoted at `to` (17 bytes
    /// writable); the bytes written.
    @inline(__always) static func writeQuoted(_ w: (low: UInt64, high: UInt64, count: Int), to: UnsafeMutablePointer<UInt8>) -> Int {
        to[0] = UInt8(ascii: "\"")
        _ = writeText(w, to: to + 1)
        to[w.count + 1] = UInt8(ascii: "\"")
        return w.count + 2
    }

    /// `writeQuoted` without the quotes (16 bytes writable).
    @inline(__always) static func writeText(_ w: (low: UInt64, high: UInt64, count: Int), to: UnsafeMutablePointer<UInt8>) -> Int {
        UnsafeMutableRawPointer(to).storeBytes(of: w.low.littleEndian, as: UInt64.self)
        UnsafeMutableRawPointer(to + 8).storeBytes(of: w.high.littleEndian, as: UInt64.self)
        return w.count
    }
}

