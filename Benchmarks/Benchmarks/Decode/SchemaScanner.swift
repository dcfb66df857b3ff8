/// A prototype for issue 8's decoder choice: a hand-tuned scanner over the declared
/// schema that yields what the matcher needs without building `String`s or a
/// `[Value]`: each field as a byte range of the line (strings) or a parsed number.
/// Measured against `JSONLineDecoder` and simdjson (Benchmarks/probes); not used by
/// Vigil yet.
struct SchemaScanner {
    /// Field names as bytes, in slot order.
    let names: [[UInt8]]
    let numeric: [Bool]

    init(fields: [(name: String, numeric: Bool)]) {
        names = fields.map { Array($0.name.utf8) }
        numeric = fields.map(\.numeric)
    }

    /// Per slot: a string's bytes (start, end), or a number's value; -1 start: absent.
    struct Fields {
        var starts: [Int32]
        var ends: [Int32]
        var numbers: [Double]
        var integers: [Int64]
    }

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 }

    /// Scans one flat JSON object; false when the line is not one (the caller then
    /// falls back to the full decoder for the error message).
    func scan(_ p: UnsafeBufferPointer<UInt8>, into f: inout Fields) -> Bool {
        for i in 0..<names.count { f.starts[i] = -1 }
        var i = 0
        let n = p.count
        while i < n && Self.isSpace(p[i]) { i += 1 }
        guard i < n, p[i] == UInt8(ascii: "{") else { return false }
        i += 1
        while true {
            while i < n && Self.isSpace(p[i]) { i += 1 }
            guard i < n else { return false }
            if p[i] == UInt8(ascii: "}") { return true }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            guard p[i] == UInt8(ascii: "\"") else { return false }
            let keyStart = i + 1
            i = keyStart
            while i < n && p[i] != UInt8(ascii: "\"") {
                if p[i] == UInt8(ascii: "\\") { return false }   // escaped keys: the full decoder
                i += 1
            }
            guard i < n else { return false }
            let keyEnd = i
            i += 1
            while i < n && (Self.isSpace(p[i]) || p[i] == UInt8(ascii: ":")) { i += 1 }
            guard i < n else { return false }
            var slot = -1
            let len = keyEnd - keyStart
            for (s, name) in names.enumerated() where name.count == len {
                var same = true
                for k in 0..<len where name[k] != p[keyStart + k] { same = false; break }
                if same { slot = s; break }
            }
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                let start = i + 1
                i = start
                while i < n && p[i] != UInt8(ascii: "\"") {
                    if p[i] == UInt8(ascii: "\\") { return false }   // escapes: the full decoder
                    i += 1
                }
                guard i < n else { return false }
                if slot >= 0 { f.starts[slot] = Int32(start); f.ends[slot] = Int32(i) }
                i += 1
            } else if c == UInt8(ascii: "-") || (c >= 48 && c <= 57) {
                var negative = false
                if c == UInt8(ascii: "-") { negative = true; i += 1 }
                var mantissa: UInt64 = 0, digits = 0, exponent = 0
                while i < n, p[i] >= 48, p[i] <= 57 { mantissa = mantissa &* 10 &+ UInt64(p[i] - 48); digits += 1; i += 1 }
                if i < n && p[i] == UInt8(ascii: ".") {
                    i += 1
                    while i < n, p[i] >= 48, p[i] <= 57 { mantissa = mantissa &* 10 &+ UInt64(p[i] - 48); digits += 1; exponent -= 1; i += 1 }
                }
                guard digits > 0, digits <= 15, i >= n || (p[i] != UInt8(ascii: "e") && p[i] != UInt8(ascii: "E")) else { return false }
                if slot >= 0 {
                    // Clinger's fast path: exact when the mantissa and 10^-exponent are exact doubles.
                    var d = Double(mantissa)
                    if exponent < 0 { d /= Self.powers[-exponent] }
                    f.numbers[slot] = negative ? -d : d
                    f.integers[slot] = exponent == 0 ? (negative ? -Int64(mantissa) : Int64(mantissa)) : 0
                    f.starts[slot] = 0
                }
            } else {
                return false   // nested objects, literals: the full decoder
            }
        }
    }

    static let powers: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }
}
