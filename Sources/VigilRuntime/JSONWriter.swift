/// Appends JSON to a byte buffer without building intermediate strings: the alert and
/// dead-letter writers use it on the hot path (an alert per few events is common).
///
/// The bytes live in a buffer of the writer's own, written through a pointer: appending
/// to an array checked its uniqueness and called `memmove` for every few bytes, which
/// was a fifth of an alert line's cost. A copy of a writer shares the buffer until
/// either writes (copy on write, as an array).
public struct JSONWriter: @unchecked Sendable {
    @usableFromInline struct Header {
        @usableFromInline var count: Int
        @usableFromInline var capacity: Int
    }
    @usableFromInline var storage: ManagedBuffer<Header, UInt8>
    /// `SmallASCII.isAvailable`, read once per writer (a static's read is a `swift_once`
    /// call, and strings are written several times per alert).
    @usableFromInline let smallStrings = SmallASCII.isAvailable
    /// `ValueSlot.stringTag`, likewise.
    @usableFromInline let stringTag = ValueSlot.stringTag

    public init(capacity: Int = 512) {
        storage = Self.allocate(max(capacity, 16))
    }

    @usableFromInline static func allocate(_ capacity: Int) -> ManagedBuffer<Header, UInt8> {
        ManagedBuffer<Header, UInt8>.create(minimumCapacity: capacity) { _ in Header(count: 0, capacity: capacity) }
    }

    /// Bytes written.
    public var count: Int { storage.header.count }

    /// The bytes written, as an array (a copy).
    public var bytes: [UInt8] {
        withBytes { Array($0) }
    }

    /// Reads the bytes written in place.
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutablePointers { h, e in try body(UnsafeBufferPointer(start: e, count: h.pointee.count)) }
    }

    /// Forgets the bytes written, keeping the buffer.
    public mutating func removeAll() {
        if !isKnownUniquelyReferenced(&storage) { storage = Self.allocate(storage.header.capacity) }
        storage.header.count = 0
    }

    /// Forgets the bytes written from `offset` on.
    public mutating func truncate(to offset: Int) {
        precondition(offset >= 0 && offset <= count, "JSONWriter.truncate past its bytes")
        if !isKnownUniquelyReferenced(&storage) { grow(0) }
        storage.header.count = offset
    }

    /// Where the next `n` bytes go: call `commit(n)` (or less) once they are written.
    @inlinable @inline(__always) mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if !isKnownUniquelyReferenced(&storage) || storage.header.count + n > storage.header.capacity { grow(n) }
        return storage.withUnsafeMutablePointers { h, e in e + h.pointee.count }
    }

    @inlinable @inline(__always) mutating func commit(_ n: Int) { storage.header.count += n }

    /// A buffer of its own with room for `n` more bytes.
    @usableFromInline mutating func grow(_ n: Int) {
        let count = storage.header.count
        let needed = count + n
        let capacity = needed > storage.header.capacity ? max(needed, 2 * storage.header.capacity) : storage.header.capacity
        let new = Self.allocate(capacity)
        storage.withUnsafeMutablePointerToElements { old in
            new.withUnsafeMutablePointerToElements { $0.update(from: old, count: count) }
        }
        new.header.count = count
        storage = new
    }

    /// Appends `n` bytes from `p`.
    @inlinable @inline(__always) public mutating func append(_ p: UnsafePointer<UInt8>, count n: Int) {
        Self.copy(p, to: reserve(n), count: n)
        commit(n)
    }

    /// Most pieces are a few bytes: two overlapping word copies (reading nothing past
    /// the piece), not a byte loop or a call to memmove.
    @inlinable @inline(__always) static func copy(_ p: UnsafePointer<UInt8>, to: UnsafeMutablePointer<UInt8>, count n: Int) {
        let from = UnsafeRawPointer(p), dest = UnsafeMutableRawPointer(to)
        if n >= 8 && n <= 16 {
            let head = from.loadUnaligned(as: UInt64.self), tail = from.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            dest.storeBytes(of: head, as: UInt64.self)
            dest.storeBytes(of: tail, toByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            let head = from.loadUnaligned(as: UInt32.self), tail = from.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
            dest.storeBytes(of: head, as: UInt32.self)
            dest.storeBytes(of: tail, toByteOffset: n - 4, as: UInt32.self)
        } else if n < 4 {
            for i in 0..<n { to[i] = p[i] }
        } else {
            to.update(from: p, count: n)
        }
    }

    /// Appends `bytes`.
    @inlinable public mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        append(base, count: bytes.count)
    }

    /// Appends what `other` wrote.
    public mutating func append(_ other: JSONWriter) {
        other.withBytes { append($0) }
    }

    /// Appends `bytes`.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    @inlinable @inline(__always) public mutating func raw(_ s: StaticString) {
        append(s.utf8Start, count: s.utf8CodeUnitCount)
    }

    @inlinable public mutating func byte(_ b: UInt8) {
        reserve(1).pointee = b
        commit(1)
    }

    /// A JSON string literal.
    public mutating func string(_ s: String) {
        if smallStrings, let n = SmallASCII.writeQuoted(s, to: reserve(17)) {
            commit(n)
            return
        }
        var s = s
        s.withUTF8 { utf8 in
            if Self.isPlain(utf8) {
                // The usual case: quote, text, quote, written in place.
                let to = reserve(utf8.count + 2)
                to[0] = UInt8(ascii: "\"")
                if let base = utf8.baseAddress { (to + 1).update(from: base, count: utf8.count) }
                to[utf8.count + 1] = UInt8(ascii: "\"")
                commit(utf8.count + 2)
            } else {
                escaped(utf8)
            }
        }
    }

    /// Whether byte `c` of a string must be escaped in JSON (a quote, a backslash, a
    /// control character).
    @inline(__always) static func needsEscape(_ c: UInt8) -> Bool {
        c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\")
    }

    /// Whether a string's UTF-8 goes into JSON as it is, between quotes.
    @inline(__always) static func isPlain(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        !utf8.contains(where: needsEscape)
    }

    /// Part of a JSON string literal's text, escaped: a literal written in parts is
    /// `byte(quote)`, its parts, `byte(quote)`.
    public mutating func stringPart(_ s: String) {
        if smallStrings, let n = SmallASCII.writeText(s, to: reserve(16)) {
            commit(n)
            return
        }
        var s = s
        s.withUTF8 { utf8 in
            if Self.isPlain(utf8) {
                append(utf8)
            } else {
                escapedText(utf8)
            }
        }
    }

    /// `stringPart` of the string value at `p`, when it is a short ASCII string kept in
    /// place that needs no escaping: read there, not copied out (a count and its
    /// release). False, writing nothing, otherwise.
    mutating func stringPart(at p: UnsafePointer<Value>) -> Bool {
        guard let w = plainSmallASCII(at: p) else { return false }
        commit(SmallASCII.writeText(w, to: reserve(16)))
        return true
    }

    /// `value` of the value at `p` when `stringPart(at:)` takes it: the string, quoted.
    mutating func smallString(at p: UnsafePointer<Value>) -> Bool {
        guard let w = plainSmallASCII(at: p) else { return false }
        commit(SmallASCII.writeQuoted(w, to: reserve(17)))
        return true
    }

    /// The words of the value at `p` when it is a short ASCII string kept in place that
    /// needs no escaping.
    @inline(__always) private func plainSmallASCII(at p: UnsafePointer<Value>) -> (low: UInt64, high: UInt64, count: Int)? {
        guard let stringTag, let w = ValueSlot.smallASCII(at: p, stringTag: stringTag),
              SmallASCII.isPlainJSON(w.low, w.high, count: w.count) else { return nil }
        return w
    }

    private mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        byte(UInt8(ascii: "\""))
        escapedText(utf8)
        byte(UInt8(ascii: "\""))
    }

    private mutating func escapedText(_ utf8: UnsafeBufferPointer<UInt8>) {
        var start = 0
        for (i, c) in utf8.enumerated() where Self.needsEscape(c) {
            append(UnsafeBufferPointer(rebasing: utf8[start..<i]))
            switch c {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 10: raw("\\n")
            case 13: raw("\\r")
            case 9: raw("\\t")
            default:
                raw("\\u00")
                let hex: StaticString = "0123456789abcdef"
                byte(hex.utf8Start[Int(c >> 4)])
                byte(hex.utf8Start[Int(c & 15)])
            }
            start = i + 1
        }
        append(UnsafeBufferPointer(rebasing: utf8[start...]))
    }

    /// A decimal integer.
    public mutating func int(_ n: Int64) {
        var out = Cursor(buf: UnsafeMutableBufferPointer(start: reserve(20), count: 20), smallStrings: smallStrings)
        out.put(n)
        commit(out.count)
    }

    /// A value as JSON (timestamps and durations as milliseconds).
    public mutating func value(_ v: Value) {
        switch v {
        case .null: raw("null")
        case .int(let n), .timestamp(let n), .duration(let n): int(n)
        case .double(let d): double(d)
        case .bool(let b): b ? raw("true") : raw("false")
        case .string(let s): string(s)
        }
    }

    /// A double as `formatDouble` writes it (non-finite: null). Amounts — at most two
    /// decimals — and integral values are written digit by digit (`Cursor`), building
    /// no String; the rest go through `formatDouble`.
    public mutating func double(_ d: Double) {
        var out = Cursor(buf: UnsafeMutableBufferPointer(start: reserve(48), count: 48), smallStrings: smallStrings)
        if out.put(.double(d)) {
            commit(out.count)
        } else {
            append(Array(formatDouble(d).utf8))
        }
    }

    /// `v` as a JSON string of 16 lowercase hex digits (what `FNV1a.hex` gives).
    public mutating func quotedHex(_ v: UInt64) {
        let buf = UnsafeMutableRawPointer(reserve(18))
        buf.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        buf.storeBytes(of: Self.hex(UInt32(truncatingIfNeeded: v >> 32)), toByteOffset: 1, as: UInt64.self)
        buf.storeBytes(of: Self.hex(UInt32(truncatingIfNeeded: v)), toByteOffset: 9, as: UInt64.self)
        buf.storeBytes(of: UInt8(ascii: "\""), toByteOffset: 17, as: UInt8.self)
        commit(18)
    }

    /// The 8 lowercase hex digits of `x`, most significant first in memory: its nibbles
    /// spread one to a byte, then each made a digit at once (a table lookup per digit
    /// was most of what writing an alert's id cost).
    @inline(__always) static func hex(_ x: UInt32) -> UInt64 {
        var v = UInt64(x)
        v = (v | v << 16) & 0x0000_FFFF_0000_FFFF
        v = (v | v << 8) & 0x00FF_00FF_00FF_00FF
        v = (v | v << 4) & 0x0F0F_0F0F_0F0F_0F0F
        // Byte i holds nibble i (least significant first); 1 in each byte whose nibble is 10 or more.
        let letters = ((v &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        let digits = v &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
        return UInt64(littleEndian: digits.byteSwapped)
    }

    /// An event's fields as `"name":value` pairs, comma-separated, without braces;
    /// `keys[f]` is field f's `"name":` (`StreamSchema.jsonKeys`). Written at once into
    /// room reserved for it: appended field by field, the appends were most of what an
    /// alert line cost. A value the buffer does not take (a string to escape or
    /// too long, a double that is not a plain amount) sends the event the
    /// field-by-field way; the bytes are the same either way.
    public mutating func fields(_ values: [Value], keys: JSONKeys, omitNulls: Bool) {
        values.withUnsafeBufferPointer { fields($0, keys: keys, omitNulls: omitNulls) }
    }

    /// `fields`, over values in place.
    public mutating func fields(_ vals: UnsafeBufferPointer<Value>, keys: JSONKeys, omitNulls: Bool) {
        let n = min(keys.count, vals.count)
        let room = 1024
        let buf = UnsafeMutableBufferPointer(start: reserve(room), count: room)
        let written = keys.bytes.withUnsafeBufferPointer { kb in
            keys.ends.withUnsafeBufferPointer { ke in
                do {
                    var out = Cursor(buf: buf, smallStrings: smallStrings)
                    var first = true
                    var start = 0
                    for f in 0..<n {
                        let end = ke[f]
                        defer { start = end }
                        if omitNulls && vals[f].isNull { continue }
                        guard out.room >= end - start + 48 else { return false }
                        if !first { out.put(UInt8(ascii: ",")) }
                        first = false
                        out.putKey(kb.baseAddress! + start, count: end - start)
                        guard out.put(vals[f]) else { return false }
                    }
                    commit(out.count)
                    return true
                }
            }
        }
        guard !written else { return }
        var first = true
        for f in 0..<n where !(omitNulls && vals[f].isNull) {
            if !first { byte(UInt8(ascii: ",")) }
            first = false
            keys[f].withUnsafeBufferPointer { append($0) }
            value(vals[f])
        }
    }

    /// Writes into a fixed buffer; the caller checks `room` (48 bytes hold any number).
    private struct Cursor {
        let buf: UnsafeMutableBufferPointer<UInt8>
        var count = 0
        /// The writer's `smallStrings`.
        let smallStrings: Bool
        var room: Int { buf.count - count }

        mutating func put(_ b: UInt8) {
            buf[count] = b
            count += 1
        }

        mutating func put(_ p: UnsafeBufferPointer<UInt8>) {
            guard let base = p.baseAddress else { return }
            (buf.baseAddress! + count).update(from: base, count: p.count)
            count += p.count
        }

        mutating func put(_ s: StaticString) { s.withUTF8Buffer { put($0) } }

        /// A key of `JSONKeys` (16 bytes are readable from `p`, and the caller leaves
        /// room for 16): at most 16 bytes are two word copies, not a call to memmove.
        @inline(__always) mutating func putKey(_ p: UnsafePointer<UInt8>, count n: Int) {
            let to = buf.baseAddress! + count
            if n <= 16 {
                let from = UnsafeRawPointer(p)
                UnsafeMutableRawPointer(to).storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
                UnsafeMutableRawPointer(to + 8).storeBytes(of: from.loadUnaligned(fromByteOffset: 8, as: UInt64.self), as: UInt64.self)
            } else {
                to.update(from: p, count: n)
            }
            count += n
        }

        /// "00" to "99", two digits a pair.
        private static let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        private static let powersOfTen: [UInt64] = (0..<20).map { k in (0..<k).reduce(1) { acc, _ in acc &* 10 } }

        mutating func put(_ n: Int64) {
            if n < 0 { put(UInt8(ascii: "-")) }
            var v = n.magnitude
            // Digits: about log10 from the bit length, then one comparison.
            let bits = 64 - (v | 1).leadingZeroBitCount
            var digits = (bits * 1233) >> 12
            digits += Self.powersOfTen.withUnsafeBufferPointer { digits < 20 && v >= $0[digits] ? 1 : 0 }
            digits = max(digits, 1)
            var i = count + digits
            count = i
            let pairs = Self.pairs.utf8Start
            while v >= 100 {
                let r = Int(v % 100)
                v /= 100
                i -= 2
                buf[i] = pairs[2 * r]
                buf[i + 1] = pairs[2 * r + 1]
            }
            if v >= 10 {
                buf[i - 2] = pairs[2 * Int(v)]
                buf[i - 1] = pairs[2 * Int(v) + 1]
            } else {
                buf[i - 1] = UInt8(ascii: "0") + UInt8(v)
            }
        }

        /// False when the value is one it leaves to `JSONWriter.value`.
        mutating func put(_ v: Value) -> Bool {
            switch v {
            case .null: put("null")
            case .bool(let b): b ? put("true") : put("false")
            case .int(let n), .timestamp(let n), .duration(let n): put(n)
            case .double(let d):
                // The doubles whose `formatDouble` text is their digits: integral values
                // (written with `.0`), and amounts whose shortest round-trip text is
                // m = d × 100 with the decimal point put back.
                guard d.isFinite else { put("null"); return true }
                if d == d.rounded(), abs(d) < 1e15 {
                    put(Int64(d))
                    put(".0")
                    return true
                }
                let x = d * 100
                guard abs(x) < 1e15 else { return false }
                // Rounded half away from zero, as `rounded()` (a call into libm): below
                // 2^52, adding a half is exact.
                let n = Int64(x + (x < 0 ? -0.5 : 0.5))
                guard Double(n) / 100 == d else { return false }
                if n < 0 { put(UInt8(ascii: "-")) }
                put(Int64(n.magnitude / 100))
                put(UInt8(ascii: "."))
                let cents = Int(n.magnitude % 100)
                put(UInt8(ascii: "0") + UInt8(cents / 10))
                if cents % 10 != 0 { put(UInt8(ascii: "0") + UInt8(cents % 10)) }
            case .string(var s):
                let room = room
                if smallStrings, room >= 17, let n = SmallASCII.writeQuoted(s, to: buf.baseAddress! + count) {
                    count += n
                    return true
                }
                let ok = s.withUTF8 { utf8 -> Bool in
                    guard utf8.count + 2 <= room else { return false }
                    guard JSONWriter.isPlain(utf8) else { return false }
                    put(UInt8(ascii: "\""))
                    put(utf8)
                    put(UInt8(ascii: "\""))
                    return true
                }
                return ok
            }
            return true
        }
    }

    /// A matched event of an alert line: the line kept with it, when there is one and
    /// no nulls are to be omitted (it is these very bytes), else `{`, its fields, `}`.
    /// (The stream's keys are looked up only for the fields: taken out of `streams` up
    /// front, they were a retain and a release per event written.)
    @inline(__always) mutating func matchedEvent(_ values: UnsafeBufferPointer<Value>, of stream: Int, _ streams: [StreamSchema],
                                                 line: UnsafeBufferPointer<UInt8>?, omitNulls: Bool) {
        if let line, !omitNulls {
            append(line)
            return
        }
        byte(UInt8(ascii: "{"))
        fields(values, keys: streams[stream].jsonKeys, omitNulls: omitNulls)
        byte(UInt8(ascii: "}"))
    }

    /// `"name":` — a key with its colon.
    public mutating func key(_ name: String) {
        string(name)
        byte(UInt8(ascii: ":"))
    }
}

extension Alert {
    /// Appends the default alert line (see `json(streams:)`) to `w`, without a newline.
    /// `omitNulls`: matched events leave out null fields (for trimmed events).
    public func write(to w: inout JSONWriter, streams: [StreamSchema], omitNulls: Bool = false) {
        w.raw("{\"id\":")
        if let idHash { w.quotedHex(idHash) } else { w.string(id) }
        // Rule, severity, tags and the key's names: the rule's bytes, escaped once.
        let source = self.source
        w.append(source.lineHead)
        keyValues.withUnsafeBufferPointer { keys in
            for i in source.keyHeads.indices {
                if i > 0 { w.append(source.keyHeads[i]) }
                // A short plain string read in place (not copied out: a count and its release).
                if w.smallString(at: keys.baseAddress! + i) { continue }
                w.value(keys[i])
            }
        }
        w.raw("},\"message\":")
        writeMessage(to: &w)
        w.raw(",\"detected_at\":")
        w.int(detectedAt)
        w.raw(",\"matched\":")
        if !appendWrittenMatched(to: &w) {
            writeMatched(to: &w, streams: streams, omitNulls: omitNulls)
        }
        if let win = window {
            w.raw(",\"window\":{\"start\":")
            w.int(win.start)
            w.raw(",\"end\":")
            w.int(win.end)
            w.byte(UInt8(ascii: "}"))
        }
        if suppressed > 0 {
            w.raw(",\"suppressed\":")
            w.int(Int64(suppressed))
        }
        w.byte(UInt8(ascii: "}"))
    }

    /// The `matched` array of the alert's line.
    func writeMatched(to w: inout JSONWriter, streams: [StreamSchema], omitNulls: Bool) {
        if writeStoredMatched(to: &w, streams: streams, omitNulls: omitNulls) { return }
        w.byte(UInt8(ascii: "["))
        var steps = 0, events = 0
        visitMatchedRows(step: { name in
            if steps > 0 { w.raw("]},") }
            steps += 1
            events = 0
            w.raw("{\"step\":")
            w.string(name)
            w.raw(",\"events\":[")
        }, event: { stream, values, line in
            if events > 0 { w.byte(UInt8(ascii: ",")) }
            events += 1
            w.matchedEvent(values, of: Int(stream), streams, line: line, omitNulls: omitNulls)
        })
        if steps > 0 { w.raw("]}") }
        w.byte(UInt8(ascii: "]"))
    }
}
