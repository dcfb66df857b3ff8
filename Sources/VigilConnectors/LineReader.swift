#if canImport(Glibc)
import Glibc
#endif

/// Reads a file or stdin line by line in large chunks. Lines are handed out as byte
/// buffers without their line break (`\n` or `\r\n`), with 1-based line numbers.
public final class LineReader {
    /// Lines longer than this are cut and reported as oversized.
    public static let maxLineBytes = 1 << 20

    public enum Line {
        case text(UnsafeBufferPointer<UInt8>, number: Int64)
        /// A line over `maxLineBytes`: its first bytes, for the dead-letter record.
        case oversized(prefix: [UInt8], number: Int64)
    }

    private let fd: Int32
    private let ownsFD: Bool
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var eof = false
    private var lineNumber: Int64 = 0
    private var skippingOversized = false

    /// Opens `path` (`-` for stdin).
    public init(path: String) throws(IOError) {
        if path == "-" {
            fd = 0
            ownsFD = false
        } else {
            fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw IOError(path: path, errno: errno) }
            ownsFD = true
        }
        buffer = [UInt8](repeating: 0, count: 1 << 20)
    }

    deinit {
        if ownsFD { close(fd) }
    }

    /// Calls `body` for every line, in order.
    public func forEachLine(_ body: (Line) throws -> Void) throws {
        while true {
            // Every whole line buffered, found and handed out through one pointer (taking
            // one per line retained and released the buffer twice).
            try buffer.withUnsafeBufferPointer { b in
                let base = b.baseAddress!
                while start < end, let p = memchr(base + start, 10, end - start) {
                    let found = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
                    try emit(base, upTo: found, consumed: found + 1, body)
                }
            }
            if eof {
                if start < end { try buffer.withUnsafeBufferPointer { try emit($0.baseAddress!, upTo: end, consumed: end, body) } }
                return
            }
            // Make room: move the partial line to the front, grow if a line is huge.
            if start > 0 {
                buffer.withUnsafeMutableBufferPointer { b in
                    _ = memmove(b.baseAddress!, b.baseAddress! + start, end - start)
                }
                end -= start
                start = 0
            }
            if end == buffer.count {
                if buffer.count >= Self.maxLineBytes * 2 {
                    // Keep a prefix for the report and drop the rest of this line.
                    let prefix = Array(buffer[0..<min(256, end)])
                    if !skippingOversized {
                        lineNumber += 1
                        try body(.oversized(prefix: prefix, number: lineNumber))
                    }
                    skippingOversized = true
                    end = 0
                } else {
                    buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
                }
            }
            let n = buffer.withUnsafeMutableBufferPointer { b in read(fd, b.baseAddress! + end, b.count - end) }
            if n <= 0 { eof = true } else { end += n }
        }
    }

    /// Hands out the line from `start` to `lineEnd` of the buffer at `base`; the next
    /// line starts at `consumed`.
    private func emit(_ base: UnsafePointer<UInt8>, upTo lineEnd: Int, consumed: Int, _ body: (Line) throws -> Void) throws {
        defer { start = consumed }
        if skippingOversized {
            skippingOversized = false
            return
        }
        lineNumber += 1
        var stop = lineEnd
        if stop > start, base[stop - 1] == 13 { stop -= 1 }
        if stop - start > Self.maxLineBytes {
            try body(.oversized(prefix: Array(UnsafeBufferPointer(start: base + start, count: 256)), number: lineNumber))
            return
        }
        try body(.text(UnsafeBufferPointer(start: base + start, count: stop - start), number: lineNumber))
    }
}

/// A file that could not be opened or written.
public struct IOError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var errno: Int32

    public init(path: String, errno: Int32) {
        self.path = path
        self.errno = errno
    }

    public var description: String {
        "\(path): \(String(cString: strerror(errno)))"
    }
}
