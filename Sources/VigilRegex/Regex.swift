import CPCRE2

/// A regular expression compiled (and, where the platform allows, JIT-compiled) by PCRE2.
///
/// Compile once at load; `matches(_:)` is then safe to call from one thread at a time
/// per instance (it reuses a match-data block).
public final class CompiledRegex: @unchecked Sendable {
    /// The pattern text as written between the slashes.
    public let pattern: String
    /// The flags as written after the closing slash.
    public let flags: String
    /// Whether PCRE2's JIT compiler accepted the pattern.
    public let isJITCompiled: Bool

    private let code: OpaquePointer
    private let matchData: OpaquePointer

    /// Why a pattern did not compile.
    public struct CompileError: Error, Equatable, Sendable {
        /// PCRE2's message, lowercase, without a trailing period.
        public let message: String
        /// The byte offset into the pattern where PCRE2 stopped, if it said.
        public let patternOffset: Int?
    }

    /// The flag letters Vigil accepts after a regex literal and what they mean.
    public static let supportedFlags: [Character: String] = [
        "i": "case-insensitive",
        "m": "multi-line (^ and $ match at line breaks)",
        "s": "dot matches newline",
        "x": "extended (whitespace and # comments ignored)",
    ]

    /// Compiles `pattern` with `flags` (letters from `supportedFlags`).
    ///
    /// - Complexity: PCRE2's compile and JIT time, roughly linear in the pattern.
    public init(pattern: String, flags: String = "") throws(CompileError) {
        var options: UInt32 = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF
        for flag in flags {
            switch flag {
            case "i": options |= PCRE2_CASELESS
            case "m": options |= PCRE2_MULTILINE
            case "s": options |= PCRE2_DOTALL
            case "x": options |= PCRE2_EXTENDED
            default: throw CompileError(message: "unknown regex flag `\(flag)`", patternOffset: nil)
            }
        }
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let bytes = Array(pattern.utf8)
        let compiled = bytes.withUnsafeBufferPointer { buf in
            pcre2_compile_8(buf.baseAddress, buf.count, options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw CompileError(message: Self.message(for: errorCode), patternOffset: errorOffset)
        }
        self.code = compiled
        self.isJITCompiled = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0
        self.matchData = pcre2_match_data_create_from_pattern_8(compiled, nil)
        self.pattern = pattern
        self.flags = flags
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_code_free_8(code)
    }

    /// Whether the pattern matches anywhere in `subject`.
    ///
    /// - Complexity: PCRE2's match time; no allocation.
    public func matches(_ subject: String) -> Bool {
        var subject = subject
        return subject.withUTF8 { matches(utf8: $0) }
    }

    /// Whether the pattern matches anywhere in the UTF-8 bytes of `utf8`.
    public func matches(utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        let rc: Int32
        // An empty buffer may have a nil base address; PCRE2 wants a valid pointer.
        if utf8.count == 0 {
            var empty: UInt8 = 0
            rc = isJITCompiled
                ? pcre2_jit_match_8(code, &empty, 0, 0, 0, matchData, nil)
                : pcre2_match_8(code, &empty, 0, 0, 0, matchData, nil)
        } else {
            rc = isJITCompiled
                ? pcre2_jit_match_8(code, utf8.baseAddress, utf8.count, 0, 0, matchData, nil)
                : pcre2_match_8(code, utf8.baseAddress, utf8.count, 0, 0, matchData, nil)
        }
        return rc >= 0
    }

    private static func message(for errorCode: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBufferPointer {
            pcre2_get_error_message_8(errorCode, $0.baseAddress, $0.count)
        }
        guard n > 0 else { return "invalid regular expression (PCRE2 error \(errorCode))" }
        var text = String(decoding: buffer[0..<Int(n)], as: UTF8.self)
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
