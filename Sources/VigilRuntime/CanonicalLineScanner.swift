import VigilText

/// The decoder's fastest path: a line that is byte for byte what an alert line writes
/// for its event (*canonical*, `FlatJSONScanner.scan(_:into:canonical:)`) is read as a
/// template: each field's `{"name":` or `,"name":` compared in two loads, then its value
/// read by its declared type, in declaration order, ending in `}`.
///
/// Anything else — a space, another order, a field left out, an escape, a number the
/// writer would write otherwise — answers `false` at the first byte that differs, and
/// `FlatJSONScanner`'s general scan reads the line. So this accepts exactly the
/// canonical lines (`DecoderDifferentialTests` holds it to that), with the values the
/// general scan gives them. Machine-written streams (and Vigil's own outputs) are
/// canonical line after line; for them, the general scan's per-field work — finding
/// each key's slot, skipping spaces, tracking whether the text is the writer's — was
/// most of what decoding cost.
struct CanonicalLineScanner: Sendable {
    private struct Field: Sendable {
        /// `{"name":` (the first field) or `,"name":`.
        var prefix: QuotedKey
        var type: FieldType
    }
    private let fields: [Field]
    /// The schema's, for `read`'s check (`EventAssembly.time`).
    private let keySlots: [Int]
    private let timeSlot: Int

    /// What `read` found.
    enum Read {
        /// Not canonical (the general scan reads the line).
        case refused
        /// Canonical, but a key field or the time is null: `EventAssembly.finish` says why
        /// the event is refused.
        case canonical
        /// Canonical, with every key field and the time: the event as
        /// `EventAssembly.finish` makes it, its time in `ts`.
        case complete
    }
    private let stringTag = ValueSlot.stringTag
    private let smallStrings = SmallASCII.isAvailable
    /// 10^0 through 10^22, exact in a double.
    private let powersOfTen: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }

    /// nil when the schema has no field, a field's `,"name":` is longer than 16 bytes, or
    /// a field is nested (the general scan reads those lines).
    init?(schema: StreamSchema) {
        // (A name with a quote, a backslash or a control character is never written as
        // itself: such a schema's lines take the general scan.)
        guard !schema.fields.isEmpty,
              !schema.fields.contains(where: { $0.name.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 } })
        else { return nil }
        var fields: [Field] = []
        for (f, field) in schema.fields.enumerated() {
            guard let prefix = QuotedKey(bytes: [UInt8(ascii: f == 0 ? "{" : ",")] + Array("\"\(field.name)\":".utf8)) else { return nil }
            fields.append(Field(prefix: prefix, type: field.type))
        }
        self.fields = fields
        keySlots = schema.keySlots
        timeSlot = schema.timeSlot
    }

    /// The string starting at `start` (after its opening quote) as `SmallASCII` words,
    /// when it is at most 15 plain ASCII bytes and closed: found and read in the same one
    /// or two loads (the words that end where the line does, for a string near its end).
    /// nil otherwise (the caller reads it byte by byte).
    @inline(__always) static func shortString(_ base: UnsafePointer<UInt8>, _ start: Int, _ n: Int) -> (low: UInt64, high: UInt64, count: Int)? {
        // The first byte that ends or breaks a plain string: a quote, a backslash, a
        // control character (the zeros past a short tail too), a byte beyond ASCII.
        @inline(__always) func special(_ v: UInt64) -> UInt64 { SmallASCII.escapeFlags(v) | (v & 0x8080_8080_8080_8080) }
        let raw = UnsafeRawPointer(base)
        let low: UInt64, high: UInt64
        if start + 16 <= n {
            low = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start, as: UInt64.self))
            high = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self))
        } else if n >= 16, start < n {
            // Fewer than 16 bytes are left: the 16 that end the line, shifted down.
            (low, high) = SmallASCII.lastBytes(raw, end: n, count: n - start)
        } else {
            return nil
        }
        let m0 = special(low)
        if m0 != 0 {
            let k = m0.trailingZeroBitCount >> 3
            guard start + k < n, base[start + k] == UInt8(ascii: "\"") else { return nil }
            return (k == 0 ? 0 : low & (~0 >> (64 - 8 * UInt64(k))), 0, k)
        }
        let m1 = special(high)
        guard m1 != 0 else { return nil }
        let k = m1.trailingZeroBitCount >> 3
        guard k < 8, start + 8 + k < n, base[start + 8 + k] == UInt8(ascii: "\"") else { return nil }
        return (low, k == 0 ? 0 : high & (~0 >> (64 - 8 * UInt64(k))), 8 + k)
    }

    /// Reads canonical `line` into `values` (one per field); false, with `values` left
    /// unspecified, when the line is not canonical.
    func scan(_ line: UnsafeBufferPointer<UInt8>, into values: UnsafeMutableBufferPointer<Value>) -> Bool {
        var ts: Int64 = 0
        return read(line, into: values, ts: &ts) != .refused
    }

    /// `scan(_:into:)`, also checking the event as `EventAssembly.finish` does, so that a
    /// complete event needs nothing more.
    func read(_ line: UnsafeBufferPointer<UInt8>, into values: UnsafeMutableBufferPointer<Value>, ts: inout Int64) -> Read {
        guard values.count == fields.count, let base = line.baseAddress else { return .refused }
        let n = line.count
        var i = 0
        // Bytes >= 0x80 seen in strings: the line's UTF-8 is checked once at the end.
        var high: UInt8 = 0
        let ok = fields.withUnsafeBufferPointer { fields -> Bool in
            for f in fields.indices {
                let field = fields[f]
                guard field.prefix.isNear(line, i) else { return false }
                i += field.prefix.count
                guard i < n else { return false }
                let slot = values.baseAddress! + f
                let c = base[i]
                if c == UInt8(ascii: "n") {
                    guard i + 4 <= n, base[i + 1] == UInt8(ascii: "u"), base[i + 2] == UInt8(ascii: "l"), base[i + 3] == UInt8(ascii: "l") else { return false }
                    i += 4
                    ValueSlot.setPlain(slot, .null, stringTag: stringTag)
                    continue
                }
                switch field.type {
                case .string:
                    guard c == UInt8(ascii: "\"") else { return false }
                    let start = i + 1
                    if let stringTag, let w = Self.shortString(base, start, n) {
                        ValueSlot.setSmallASCII(slot, low: w.low, high: w.high, count: w.count, stringTag: stringTag)
                        i = start + w.count + 1
                        continue
                    }
                    i = start
                    guard FlatJSONScanner.toClosingQuote(line, &i, &high) else { return false }
                    let count = i - start
                    if let stringTag, count <= 15, let w = SmallASCII.words(line, from: start, count: count) {
                        ValueSlot.setSmallASCII(slot, low: w.low, high: w.high, count: count, stringTag: stringTag)
                    } else if smallStrings, count <= 15, let s = SmallASCII.make(line, from: start, count: count) {
                        slot.pointee = .string(s)
                    } else {
                        slot.pointee = .string(String(decoding: UnsafeBufferPointer(start: base + start, count: count), as: UTF8.self))
                    }
                    i += 1
                case .int, .timestamp, .duration, .double:
                    let negative = c == UInt8(ascii: "-")
                    if negative { i += 1 }
                    let first = i
                    var v: UInt64 = 0
                    if i + 16 <= n {
                        let d = DecimalDigits.read(base, i)
                        v = d.value
                        i &+= d.count
                    }
                    // Near the line's end, or past 16 digits: a byte at a time.
                    if i == first || i - first == 16 {
                        while i < n, base[i] &- 48 < 10 {
                            v = v &* 10 &+ UInt64(base[i] &- 48)
                            i &+= 1
                        }
                    }
                    let digits = i - first
                    // The writer's numbers have no leading zero (and no -0: below).
                    guard digits > 0, digits == 1 || base[first] != UInt8(ascii: "0") else { return false }
                    guard field.type == .double else {
                        // Its integers: no fraction or exponent.
                        guard digits <= 18, !(negative && v == 0) else { return false }
                        if i < n, base[i] == UInt8(ascii: ".") || base[i] | 0x20 == UInt8(ascii: "e") { return false }
                        let x = negative ? -Int64(v) : Int64(v)
                        ValueSlot.setPlain(slot, field.type == .int ? .int(x) : field.type == .timestamp ? .timestamp(x) : .duration(x), stringTag: stringTag)
                        continue
                    }
                    // Its doubles (`JSONWriter.double`): below 1e13, with one decimal or
                    // two not ending in 0.
                    guard digits <= 13, i + 1 < n, base[i] == UInt8(ascii: "."), base[i + 1] &- 48 < 10 else { return false }
                    v = v &* 10 &+ UInt64(base[i + 1] &- 48)
                    i += 2
                    var fraction = 1
                    if i < n, base[i] &- 48 < 10 {
                        guard base[i] != UInt8(ascii: "0") else { return false }
                        v = v &* 10 &+ UInt64(base[i] &- 48)
                        i += 1
                        fraction = 2
                    }
                    guard !(negative && v == 0) else { return false }
                    if i < n, base[i] &- 48 < 10 || base[i] | 0x20 == UInt8(ascii: "e") { return false }
                    let d = Double(v) / powersOfTen[fraction]
                    ValueSlot.setPlain(slot, .double(negative ? -d : d), stringTag: stringTag)
                case .bool:
                    if c == UInt8(ascii: "t"), i + 4 <= n, base[i + 1] == UInt8(ascii: "r"), base[i + 2] == UInt8(ascii: "u"), base[i + 3] == UInt8(ascii: "e") {
                        ValueSlot.setPlain(slot, .bool(true), stringTag: stringTag)
                        i += 4
                    } else if c == UInt8(ascii: "f"), i + 5 <= n, base[i + 1] == UInt8(ascii: "a"), base[i + 2] == UInt8(ascii: "l"),
                              base[i + 3] == UInt8(ascii: "s"), base[i + 4] == UInt8(ascii: "e") {
                        ValueSlot.setPlain(slot, .bool(false), stringTag: stringTag)
                        i += 5
                    } else {
                        return false
                    }
                }
            }
            return true
        }
        guard ok, i + 1 == n, base[i] == UInt8(ascii: "}"), high < 0x80 || firstInvalidUTF8(line) == nil else { return .refused }
        // `EventAssembly.finish`'s checks, on the values just written.
        guard let t = EventAssembly.time(UnsafeBufferPointer(values), keySlots: keySlots, timeSlot: timeSlot) else { return .canonical }
        ts = t
        return .complete
    }
}
