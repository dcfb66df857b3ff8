import VigilText

/// The JSON Lines decoder's fast path, for streams whose fields are all top-level: one
/// pass over the line that reads declared fields straight into values, with no key
/// strings, no number text and no tree lookups.
///
/// It takes only the common shape — a flat object whose keys and strings have no
/// escapes, numbers without exponents that convert exactly, literals — and answers
/// `false` for anything else (escapes, nested values, a type mismatch, any syntax
/// error, invalid UTF-8). The caller then runs the full decoder, which accepts the same
/// lines with the same values and words every rejection, so the fast path changes
/// speed only. `DecoderDifferentialTests` holds it to that.
struct FlatJSONScanner: Sendable {
    /// Field names as bytes, all in one array (field s's are `nameBytes[nameEnds[s-1]..<nameEnds[s]]`:
    /// an array per name was a retain per comparison), and types, in slot order.
    private let nameBytes: [UInt8]
    private let nameEnds: [Int]
    private let types: [FieldType]
    /// Per field: its key as a line spells it (nil when longer than 16 bytes): the key
    /// expected next is compared in two loads.
    private let quotedKeys: [QuotedKey?]
    /// Short ASCII strings are made as the words Swift keeps them in (`SmallASCII`).
    private let smallStrings = SmallASCII.isAvailable
    /// Values are written over without reference counting when this is not nil (`ValueSlot`).
    private let stringTag = ValueSlot.stringTag
    /// Canonical lines are read as a template first (nil: a schema it does not take).
    private let template: CanonicalLineScanner?

    /// nil when a field is nested (`a.b`): those lines need the full decoder's tree.
    /// `template: false` reads every line with the general scan (for tests).
    init?(schema: StreamSchema, template: Bool = true) {
        guard !schema.fields.contains(where: { $0.name.utf8.contains(UInt8(ascii: ".")) }) else { return nil }
        nameBytes = schema.fields.flatMap { Array($0.name.utf8) }
        var end = 0
        nameEnds = schema.fields.map { end += $0.name.utf8.count; return end }
        types = schema.fields.map(\.type)
        quotedKeys = schema.fields.map { QuotedKey($0.name) }
        self.template = template ? CanonicalLineScanner(schema: schema) : nil
    }

    @inline(__always) private static func word(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt64 { QuotedKey.word(p, i) }

    /// Whether field `f`'s `"name":` starts at `i` (16 bytes are readable from `i`).
    @inline(__always) private func isKey(_ f: Int, _ p: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        guard let k = quotedKeys[f], k.isAt(p, i) else { return nil }
        return k.count
    }

    /// The offset in word `v` (8 bytes, little-endian) of its first byte that ends or
    /// breaks a plain string: a quote, a backslash, a control character, or any byte of
    /// a multi-byte character; 8 when there is none. (The classic zero-byte test: each
    /// test's lowest flagged byte is exact, so the lowest of all is.)
    @inline(__always) private static func firstSpecial(_ v: UInt64) -> Int {
        let m = SmallASCII.escapeFlags(v) | (v & 0x8080_8080_8080_8080)
        return m == 0 ? 8 : m.trailingZeroBitCount >> 3
    }

    /// Moves `i` (inside a string) to its closing quote: false at a backslash, a control
    /// character or the end of the line. Bytes of multi-byte characters go into `high`.
    @inline(__always) static func toClosingQuote(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ high: inout UInt8) -> Bool {
        let n = p.count
        while true {
            if i + 8 <= n {
                let k = firstSpecial(word(p, i))
                i += k
                if k == 8 { continue }
            }
            guard i < n else { return false }
            let c = p[i]
            if c == UInt8(ascii: "\"") { return true }
            if c == UInt8(ascii: "\\") || c < 0x20 { return false }
            high |= c
            i += 1
        }
    }

    @inline(__always) private static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }

    /// Reads `line` into `values` (one per field, holding anything on entry: a field the
    /// line lacks is set to null); false when the full decoder must decide, with `values`
    /// left unspecified. (The run loop's event holds the values of an earlier event: the
    /// store swaps them for the new ones. Setting them all to null first, then to the
    /// line's, released each twice.)
    func scan(_ p: UnsafeBufferPointer<UInt8>, into values: inout [Value]) -> Bool {
        var canonical = false
        return scan(p, into: &values, canonical: &canonical)
    }

    /// `scan`, also saying whether the line is *canonical*: byte for byte the event as an
    /// alert line writes it (`{` and `JSONWriter.fields` of every field, then `}`). That
    /// is: no space anywhere outside strings; every declared field, once, in declaration
    /// order, its key as the field is named (no escape), and nothing else; numbers
    /// as the writer writes them (no leading zero, no `-0`; a double with one decimal, or
    /// two not ending in 0). Strings are always written as the line has them (the fast
    /// path takes none with an escape).
    func scan(_ p: UnsafeBufferPointer<UInt8>, into values: inout [Value], canonical: inout Bool) -> Bool {
        var ts: Int64 = 0
        return scan(p, into: &values, canonical: &canonical, ts: &ts) != .failed
    }

    /// What `scan(_:into:canonical:ts:)` did.
    enum Scanned {
        /// The full decoder must decide.
        case failed
        /// Values read: the caller makes the event of them (`EventAssembly.finish`).
        case values
        /// Values read, and the event checked as `EventAssembly.finish` checks it (the
        /// template, `CanonicalLineScanner.Read.complete`): its time is `ts`.
        case event
    }

    /// `scan(_:into:canonical:)`, also reading the event's time when the template reads
    /// the line (`.event`): the run loop's lines then need no further step.
    func scan(_ p: UnsafeBufferPointer<UInt8>, into values: inout [Value], canonical: inout Bool, ts: inout Int64) -> Scanned {
        // In place: assigning through the array checked its uniqueness per field.
        values.withUnsafeMutableBufferPointer { v in
            if let template {
                switch template.read(p, into: v, ts: &ts) {
                case .complete:
                    canonical = true
                    return .event
                case .canonical:
                    canonical = true
                    return .values
                case .refused: break
                }
            }
            let count = v.count
            if count > 64 { for s in 0..<count { v[s] = .null } }
            var written: UInt64 = 0
            guard scan(p, into: v, written: &written, canonical: &canonical) else { return .failed }
            if count <= 64 {
                let all: UInt64 = count == 64 ? ~0 : (1 << UInt64(count)) &- 1
                if written != all {
                    for s in 0..<count where written & (1 << UInt64(s)) == 0 { v[s] = .null }
                }
            }
            return .values
        }
    }

    /// `written`: bit s set for each slot s below 64 the line gave a value.
    private func scan(_ p: UnsafeBufferPointer<UInt8>, into values: UnsafeMutableBufferPointer<Value>, written: inout UInt64,
                      canonical: inout Bool) -> Bool {
        let n = p.count
        var previous = -1
        var i = 0
        // Bytes >= 0x80 seen in strings: the line's UTF-8 is checked once at the end.
        var high: UInt8 = 0
        // Canonical so far (see `scan(_:into:canonical:)`), and keys read.
        var plain = true
        var keys = 0
        @inline(__always) func skipSpace() {
            while i < n && Self.isSpace(p[i]) {
                i += 1
                plain = false
            }
        }
        skipSpace()
        guard i < n, p[i] == UInt8(ascii: "{") else { return false }
        i += 1
        skipSpace()
        guard i < n else { return false }
        if p[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            let count = types.count
            while true {
                guard i < n, p[i] == UInt8(ascii: "\"") else { return false }
                let slot: Int
                // Lines usually list the fields in declaration order.
                let expected = previous + 1 < count ? previous + 1 : 0
                if count > 0, i + 16 <= n, let length = isKey(expected, p, at: i) {
                    slot = expected
                    previous = slot
                    i += length
                    if slot != keys { plain = false }
                } else {
                    let keyStart = i + 1
                    i = keyStart
                    // (A key with an escape is the full decoder's.)
                    guard Self.toClosingQuote(p, &i, &high) else { return false }
                    slot = self.slot(p, keyStart, i, after: previous)
                    if slot != keys { plain = false }
                    if slot >= 0 { previous = slot }
                    i += 1
                    skipSpace()
                    guard i < n, p[i] == UInt8(ascii: ":") else { return false }
                    i += 1
                }
                skipSpace()
                guard i < n else { return false }
                guard readValue(p, &i, slot, &high, values, &plain) else { return false }
                if slot >= 0 && slot < 64 { written |= 1 << UInt64(slot) }
                keys += 1
                skipSpace()
                guard i < n else { return false }
                if p[i] == UInt8(ascii: ",") {
                    i += 1
                    skipSpace()
                    continue
                }
                guard p[i] == UInt8(ascii: "}") else { return false }
                i += 1
                break
            }
        }
        skipSpace()
        guard i == n else { return false }
        guard high < 0x80 || firstInvalidUTF8(p) == nil else { return false }
        canonical = plain && keys == types.count
        return true
    }

    /// The declared slot named by bytes `start..<end`, or -1. Lines usually list the
    /// fields in declaration order, so the slot after `previous` is tried first.
    @inline(__always) private func slot(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, after previous: Int) -> Int {
        let len = end - start
        let count = nameEnds.count
        return nameBytes.withUnsafeBufferPointer { names in
            nameEnds.withUnsafeBufferPointer { ends in
                var s = previous + 1 < count ? previous + 1 : 0
                for _ in 0..<count {
                    let from = s == 0 ? 0 : ends[s - 1]
                    if ends[s] - from == len {
                        // Names are short: a loop beats a call to memcmp.
                        var k = 0
                        while k < len && names[from + k] == p[start + k] { k += 1 }
                        if k == len { return s }
                    }
                    s = s + 1 == count ? 0 : s + 1
                }
                return -1
            }
        }
    }

    /// One value at `i`: stored under `slot` when declared (and of the declared type),
    /// skipped when not declared. `plain` is cleared when the value's text is not the
    /// writer's (see `scan(_:into:canonical:)`).
    @inline(__always)
    private func readValue(_ p: UnsafeBufferPointer<UInt8>, _ at: inout Int, _ slot: Int, _ high: inout UInt8, _ values: UnsafeMutableBufferPointer<Value>,
                           _ plain: inout Bool) -> Bool {
        // A local, written back once: through `at` the digit loops stored it per byte.
        var i = at
        defer { at = i }
        let n = p.count
        let c = p[i]
        let type: FieldType? = slot >= 0 ? types[slot] : nil
        if c == UInt8(ascii: "\"") {
            guard type == nil || type == .string else { return false }   // RFC 3339 text: the full decoder
            let start = i + 1
            i = start
            guard Self.toClosingQuote(p, &i, &high) else { return false }
            if type != nil {
                let count = i - start
                if let stringTag, count <= 15, let w = SmallASCII.words(p, from: start, count: count) {
                    ValueSlot.setSmallASCII(values.baseAddress! + slot, low: w.low, high: w.high, count: count, stringTag: stringTag)
                } else if smallStrings, count <= 15, let s = SmallASCII.make(p, from: start, count: count) {
                    values[slot] = .string(s)
                } else {
                    values[slot] = .string(String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self))
                }
            }
            i += 1
            return true
        }
        if c == UInt8(ascii: "-") || (c >= 48 && c <= 57) {
            let negative = c == UInt8(ascii: "-")
            if negative { i += 1 }
            let first = i
            var mantissa: UInt64 = 0, digits = 0, fraction = 0
            while i < n, p[i] &- 48 < 10 {
                mantissa = mantissa &* 10 &+ UInt64(p[i] &- 48)
                digits &+= 1
                i &+= 1
            }
            guard digits > 0 else { return false }
            if i < n && p[i] == UInt8(ascii: ".") {
                i += 1
                while i < n, p[i] &- 48 < 10 {
                    mantissa = mantissa &* 10 &+ UInt64(p[i] &- 48)
                    fraction &+= 1
                    i &+= 1
                }
                guard fraction > 0 else { return false }
            }
            if i < n && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) { return false }
            // The writer writes no leading zero and no -0.
            if (digits > 1 && p[first] == UInt8(ascii: "0")) || (negative && mantissa == 0) { plain = false }
            guard let type else { return true }
            switch type {
            case .int, .duration, .timestamp:
                guard fraction == 0, digits <= 18 else { return false }
                let v = negative ? -Int64(mantissa) : Int64(mantissa)
                ValueSlot.setPlain(values.baseAddress! + slot, type == .int ? .int(v) : type == .duration ? .duration(v) : .timestamp(v),
                                   stringTag: stringTag)
            case .double:
                // Exact (hence equal to the full decoder's `Double(text)`) while the digits
                // fit a double's mantissa and the divisor is an exact power of ten.
                guard digits + fraction <= 15 else { return false }
                var d = Double(mantissa)
                if fraction > 0 { d /= powersOfTen[fraction] }
                ValueSlot.setPlain(values.baseAddress! + slot, .double(negative ? -d : d), stringTag: stringTag)
                // The writer's doubles (`JSONWriter.double`), digit for digit: below 1e13,
                // with one decimal, or two not ending in 0.
                if digits > 13 || !(fraction == 1 || (fraction == 2 && p[i - 1] != UInt8(ascii: "0"))) { plain = false }
            case .string, .bool:
                return false
            }
            return true
        }
        if c == UInt8(ascii: "t") || c == UInt8(ascii: "f") || c == UInt8(ascii: "n") {
            let word: StaticString = c == UInt8(ascii: "t") ? "true" : c == UInt8(ascii: "f") ? "false" : "null"
            let len = word.utf8CodeUnitCount
            guard i + len <= n else { return false }
            for k in 0..<len where p[i + k] != word.utf8Start[k] { return false }
            i += len
            guard let type else { return true }
            if c == UInt8(ascii: "n") { values[slot] = .null; return true }
            guard type == .bool else { return false }
            values[slot] = .bool(c == UInt8(ascii: "t"))
            return true
        }
        return false   // objects, arrays: the full decoder
    }

    /// 10^0 through 10^22, exact in a double (a stored property: a static one was a
    /// `swift_once` check per number).
    private let powersOfTen: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }
}
