/// A member's key as a JSON line spells it, `"name":` (or any text up to 16 bytes), as
/// two little-endian words and masks: whether it is at a place in a line takes two loads, where scanning a key and
/// looking it up byte by byte was most of a line's cost (`FlatJSONScanner`,
/// `ShardRouter`).
struct QuotedKey: Sendable {
    private var low: UInt64 = 0, high: UInt64 = 0, lowMask: UInt64 = 0, highMask: UInt64 = 0
    /// Its bytes (a key's: the name's and three more).
    let count: Int

    /// nil when `"name":` is longer than 16 bytes.
    init?(_ name: String) {
        self.init(bytes: [UInt8(ascii: "\"")] + Array(name.utf8) + Array("\":".utf8))
    }

    /// Any text of at most 16 bytes (nil when longer).
    init?(bytes: [UInt8]) {
        guard bytes.count <= 16 else { return nil }
        count = bytes.count
        for (k, b) in bytes.enumerated() {
            if k < 8 {
                low |= UInt64(b) << (8 * UInt64(k))
                lowMask |= 0xFF << (8 * UInt64(k))
            } else {
                high |= UInt64(b) << (8 * UInt64(k - 8))
                highMask |= 0xFF << (8 * UInt64(k - 8))
            }
        }
    }

    @inline(__always) static func word(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p.baseAddress! + i).loadUnaligned(as: UInt64.self))
    }

    /// Whether it is at `i` in `p`, from which 16 bytes are readable.
    @inline(__always) func isAt(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Bool {
        Self.word(p, i) & lowMask == low && Self.word(p, i + 8) & highMask == high
    }

    /// Whether it is at `i` in `p`, however near its end.
    @inline(__always) func isNear(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Bool {
        if i + 16 <= p.count { return isAt(p, i) }
        guard i + count <= p.count else { return false }
        for k in 0..<count where p[i + k] != UInt8(truncatingIfNeeded: k < 8 ? low >> (8 * UInt64(k)) : high >> (8 * UInt64(k - 8))) {
            return false
        }
        return true
    }
}
