/// A run of ASCII decimal digits read eight at a time (SWAR): where a line's timestamps
/// (13 digits) were read a byte per iteration, and that loop was a sixth of the template
/// scan's cost.
enum DecimalDigits {
    /// A byte with its high bit set for each byte of `v` that is not `0`–`9`.
    @inline(__always) static func nonDigits(_ v: UInt64) -> UInt64 {
        // High nibble not 3, or low nibble above 9 (adding 6 carries it into the high
        // nibble; no byte's sum passes 0xFF, so nothing carries between bytes).
        let x = ((v & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030) | (((v & 0x0F0F_0F0F_0F0F_0F0F) &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0)
        // Nonzero bytes to their high bit, again without a carry between bytes.
        return (((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | x) & 0x8080_8080_8080_8080
    }

    /// The value of the first `count` (1...8) bytes of `v`, digits, the first the most
    /// significant.
    @inline(__always) static func value(_ v: UInt64, count: Int) -> UInt64 {
        // The digits moved to the word's top: the bytes below read as leading zeros.
        var x = (v << (64 &- 8 &* UInt64(truncatingIfNeeded: count))) & 0x0F0F_0F0F_0F0F_0F0F
        x = (x &* 2561) >> 8
        x = ((x & 0x00FF_00FF_00FF_00FF) &* 6_553_601) >> 16
        return ((x & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) >> 32
    }

    /// 10^k for k in 0...8.
    @inline(__always) static func power(_ k: Int) -> UInt64 {
        // A switch of constants: a table lookup, with no global to initialize.
        switch k {
        case 0: 1
        case 1: 10
        case 2: 100
        case 3: 1_000
        case 4: 10_000
        case 5: 100_000
        case 6: 1_000_000
        case 7: 10_000_000
        default: 100_000_000
        }
    }

    /// The digits that start at `start` in `base` (16 bytes from there readable): their
    /// value and how many there are, up to 16. A count of 16 means the run may go on
    /// (the caller reads the rest another way).
    @inline(__always) static func read(_ base: UnsafePointer<UInt8>, _ start: Int) -> (value: UInt64, count: Int) {
        let raw = UnsafeRawPointer(base + start)
        let low = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        let m0 = nonDigits(low)
        if m0 != 0 {
            let k = m0.trailingZeroBitCount >> 3
            return (k == 0 ? 0 : value(low, count: k), k)
        }
        let high = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let m1 = nonDigits(high)
        let k = m1 == 0 ? 8 : m1.trailingZeroBitCount >> 3
        let first = value(low, count: 8)
        return (k == 0 ? first : first &* power(k) &+ value(high, count: k), 8 &+ k)
    }
}
