/// Writes into a row of values in place without the reference counting an assignment
/// does, when neither the old value nor the new one holds a reference.
///
/// Assigning a `Value` destroys the old one through an outlined function (the compiler
/// cannot tell which case it holds), and storing a string made from its words retains
/// it (a call, even for a string kept in place). The scanner writes six values per
/// event, so those calls were about a tenth of what decoding an event cost. Here the old
/// value's case is read from its tag byte: anything but a string, or a short ASCII
/// string kept in place (`SmallASCII`), holds no reference and is written over.
///
/// Like `SmallASCII`, this rests on the standard library's layout, not a promise of the
/// language: `stringTag` checks it once, with values built the ordinary way, and every
/// caller takes the ordinary path when it does not hold.
enum ValueSlot {
    /// The tag byte of `Value.string`, when `Value` is a string's two words then one tag
    /// byte that tells every case apart, and short ASCII strings are `SmallASCII`'s; nil
    /// otherwise.
    static let stringTag: UInt8? = {
        guard SmallASCII.isAvailable, MemoryLayout<Value>.size == 17 else { return nil }
        func bytes(_ v: Value) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
        var tag: UInt8?
        for sample in ["", "u227", "abcdefghijklmno"] {
            var s = sample
            s.append("")
            let words = withUnsafeBytes(of: unsafeBitCast(s, to: (UInt64, UInt64).self)) { Array($0) }
            let b = bytes(.string(s))
            guard Array(b[0..<16]) == words, tag == nil || tag == b[16] else { return nil }
            tag = b[16]
        }
        guard let tag else { return nil }
        let others: [Value] = [.null, .int(0), .int(-1), .double(0), .double(-1.5), .bool(false), .bool(true), .timestamp(7), .duration(7)]
        guard others.allSatisfy({ bytes($0)[16] != tag }) else { return nil }
        // Written as words, a string reads back as the one made the ordinary way.
        var row: [Value] = [.int(1)]
        let ok = row.withUnsafeMutableBufferPointer { p -> Bool in
            guard let words = SmallASCII.words("u227") else { return false }
            setSmallASCII(p.baseAddress!, low: words.low, high: words.high, count: words.count, stringTag: tag)
            return p[0] == .string("u227")
        }
        return ok ? tag : nil
    }()

    /// Whether the value at `p` holds no reference.
    @inline(__always) static func holdsNoReference(_ p: UnsafeMutablePointer<Value>, stringTag: UInt8) -> Bool {
        let raw = UnsafeRawPointer(p)
        guard raw.load(fromByteOffset: 16, as: UInt8.self) == stringTag else { return true }
        return raw.load(fromByteOffset: 8, as: UInt64.self) >> 60 == 0xE
    }

    /// The words and count of the value at `p` when it is a short ASCII string kept in
    /// place (as `SmallASCII.words` gives them), read without copying the value.
    @inline(__always) static func smallASCII(at p: UnsafePointer<Value>, stringTag: UInt8) -> (low: UInt64, high: UInt64, count: Int)? {
        guard let (low, high) = smallASCIIBits(at: p, stringTag: stringTag) else { return nil }
        return (low, high & 0x00FF_FFFF_FFFF_FFFF, Int((high >> 56) & 0x0F))
    }

    /// The two words of the value at `p`, flags included, when it is a short ASCII
    /// string kept in place: two such strings are equal exactly when these are.
    @inline(__always) static func smallASCIIBits(at p: UnsafePointer<Value>, stringTag: UInt8) -> (low: UInt64, high: UInt64)? {
        let raw = UnsafeRawPointer(p)
        guard raw.load(fromByteOffset: 16, as: UInt8.self) == stringTag else { return nil }
        let high = raw.load(fromByteOffset: 8, as: UInt64.self)
        guard high >> 60 == 0xE else { return nil }
        return (raw.load(as: UInt64.self), high)
    }

    /// Writes `v`, a value that holds no reference (not a string), at `p` (initialized).
    @inline(__always) static func setPlain(_ p: UnsafeMutablePointer<Value>, _ v: Value, stringTag: UInt8?) {
        if let stringTag, holdsNoReference(p, stringTag: stringTag) {
            p.initialize(to: v)
        } else {
            p.pointee = v
        }
    }

    /// Writes the short ASCII string of words `low`, `high` (`SmallASCII.words`, without
    /// flags) and `count` bytes at `p` (initialized). Only when `stringTag` is not nil.
    @inline(__always) static func setSmallASCII(_ p: UnsafeMutablePointer<Value>, low: UInt64, high: UInt64, count: Int, stringTag: UInt8) {
        let flagged = high | (0xE0 | UInt64(count)) << 56
        if holdsNoReference(p, stringTag: stringTag) {
            let raw = UnsafeMutableRawPointer(p)
            raw.storeBytes(of: low, as: UInt64.self)
            raw.storeBytes(of: flagged, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: stringTag, toByteOffset: 16, as: UInt8.self)
        } else {
            p.pointee = .string(unsafeBitCast((low, flagged), to: String.self))
        }
    }
}
