/// A minimal JSON reader over UTF-8 bytes: strings, numbers, literals, and skipping
/// whole values. Enough for event records; it never builds a document tree.
struct JSONCursor {
    struct SyntaxError: Error {
        var message: String
        var offset: Int
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// Deepest nesting skipped before the record is refused (no recursion limit attack).
    static let maxDepth = 64

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    var atEnd: Bool { index >= bytes.count }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipSpace() {
        while index < bytes.count {
            let c = bytes[index]
            guard c == 32 || c == 9 || c == 13 || c == 10 else { return }
            index += 1
        }
    }

    mutating func expect(_ c: UInt8) throws {
        guard index < bytes.count else { throw SyntaxError(message: "unexpected end of line, expected `\(Character(Unicode.Scalar(c)))`", offset: index) }
        guard bytes[index] == c else {
            throw SyntaxError(message: "expected `\(Character(Unicode.Scalar(c)))`, found `\(Character(Unicode.Scalar(bytes[index])))`", offset: index)
        }
        index += 1
    }

    mutating func readLiteral(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        let start = index
        guard index + n <= bytes.count else { throw SyntaxError(message: "invalid literal", offset: start) }
        for k in 0..<n where bytes[index + k] != word.utf8Start[k] {
            throw SyntaxError(message: "invalid literal", offset: start)
        }
        index += n
    }

    /// A short description of the value at the cursor, for type errors.
    func describeValue() -> String {
        switch peek() {
        case UInt8(ascii: "\"")?: "a string"
        case UInt8(ascii: "{")?: "an object"
        case UInt8(ascii: "[")?: "an array"
        case UInt8(ascii: "t")?, UInt8(ascii: "f")?: "a boolean"
        case UInt8(ascii: "n")?: "null"
        default: "a number"
        }
    }

    /// Reads a string, decoding escapes (including surrogate pairs).
    mutating func readString() throws -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw SyntaxError(message: "control character in string", offset: index) }
            index += 1
        }
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 { throw SyntaxError(message: "control character in string", offset: index) }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { break }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "u"):
                var scalar = try readHex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw SyntaxError(message: "unpaired surrogate", offset: index)
                    }
                    index += 2
                    let low = try readHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw SyntaxError(message: "unpaired surrogate", offset: index) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw SyntaxError(message: "invalid \\u escape", offset: index) }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw SyntaxError(message: "invalid escape", offset: index - 1)
            }
        }
        throw SyntaxError(message: "unterminated string", offset: start - 1)
    }

    private mutating func readHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw SyntaxError(message: "invalid \\u escape", offset: index) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 65...70: d = UInt32(c - 55)
            case 97...102: d = UInt32(c - 87)
            default: throw SyntaxError(message: "invalid \\u escape", offset: index)
            }
            v = v * 16 + d
            index += 1
        }
        return v
    }

    /// Reads a JSON number; returns its text and whether it has no fraction or exponent.
    mutating func readNumber() throws -> (String, Bool) {
        let start = index
        var isInteger = true
        if peek() == UInt8(ascii: "-") { index += 1 }
        var digits = 0
        while let c = peek(), c >= 48 && c <= 57 { index += 1; digits += 1 }
        guard digits > 0 else { throw SyntaxError(message: "invalid number", offset: start) }
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            var frac = 0
            while let c = peek(), c >= 48 && c <= 57 { index += 1; frac += 1 }
            guard frac > 0 else { throw SyntaxError(message: "invalid number", offset: start) }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { index += 1 }
            var exp = 0
            while let c = peek(), c >= 48 && c <= 57 { index += 1; exp += 1 }
            guard exp > 0 else { throw SyntaxError(message: "invalid number", offset: start) }
        }
        return (String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self), isInteger)
    }

    /// Skips any JSON value.
    mutating func skipValue(depth: Int = 0) throws {
        guard depth < Self.maxDepth else { throw SyntaxError(message: "nesting deeper than \(Self.maxDepth)", offset: index) }
        guard let c = peek() else { throw SyntaxError(message: "expected a value", offset: index) }
        switch c {
        case UInt8(ascii: "\""): _ = try readString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = c == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            skipSpace()
            if peek() == close { index += 1; return }
            while true {
                skipSpace()
                if c == UInt8(ascii: "{") {
                    _ = try readString()
                    skipSpace()
                    try expect(UInt8(ascii: ":"))
                    skipSpace()
                }
                try skipValue(depth: depth + 1)
                skipSpace()
                if peek() == UInt8(ascii: ",") { index += 1; continue }
                try expect(close)
                return
            }
        case UInt8(ascii: "t"): try readLiteral("true")
        case UInt8(ascii: "f"): try readLiteral("false")
        case UInt8(ascii: "n"): try readLiteral("null")
        default: _ = try readNumber()
        }
    }
}
