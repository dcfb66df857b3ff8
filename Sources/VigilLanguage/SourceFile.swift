/// One rule file's text, with the line table needed to turn byte offsets into positions.
public struct SourceFile: Sendable {
    /// The path as the user gave it; used in `-->` lines.
    public let path: String
    /// The raw bytes of the file (possibly not valid UTF-8).
    public let bytes: [UInt8]
    /// Byte offset at which each line starts; `lineStarts[0] == 0`.
    public let lineStarts: [Int]

    /// Wraps `bytes` read from `path`.
    ///
    /// - Complexity: O(n) in the file size.
    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { starts.append(i + 1) }
        self.lineStarts = starts
    }

    /// Wraps a string's UTF-8 bytes.
    public init(path: String, text: String) {
        self.init(path: path, bytes: Array(text.utf8))
    }

    /// The 0-based line index holding byte `offset`.
    ///
    /// - Complexity: O(log lines).
    public func lineIndex(of offset: Int) -> Int {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// 1-based line and column of byte `offset`; columns count Unicode scalars.
    public func position(of offset: Int) -> SourcePosition {
        let line = lineIndex(of: offset)
        let start = lineStarts[line]
        var column = 1
        var i = start
        let end = min(offset, bytes.count)
        while i < end {
            // Count scalar starts: every byte that is not a UTF-8 continuation byte.
            if bytes[i] & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return SourcePosition(line: line + 1, column: column)
    }

    /// The text of 0-based line `index`, without its line break, decoded leniently.
    public func lineText(_ index: Int) -> String {
        guard index < lineStarts.count else { return "" }
        let start = lineStarts[index]
        var end = index + 1 < lineStarts.count ? lineStarts[index + 1] : bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// The text covered by `span`, decoded leniently.
    public func text(of span: Span) -> String {
        let lo = max(0, min(span.start, bytes.count)), hi = max(lo, min(span.end, bytes.count))
        return String(decoding: bytes[lo..<hi], as: UTF8.self)
    }
}

/// A 1-based line and column.
public struct SourcePosition: Hashable, Sendable, Comparable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (a: SourcePosition, b: SourcePosition) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }
}

/// A half-open byte range `[start, end)` in one source file.
public struct Span: Hashable, Sendable {
    /// Index of the file in the `SourceMap` it belongs to.
    public var file: Int
    public var start: Int
    public var end: Int

    public init(file: Int, start: Int, end: Int) {
        self.file = file
        self.start = start
        self.end = end
    }

    /// The smallest span covering both.
    public func to(_ other: Span) -> Span {
        Span(file: file, start: min(start, other.start), end: max(end, other.end))
    }

    /// An empty span at this span's end.
    public var endPoint: Span { Span(file: file, start: end, end: end) }
}

/// All the files of one rule set, indexed by `Span.file`.
public struct SourceMap: Sendable {
    public private(set) var files: [SourceFile] = []

    public init() {}

    /// Adds `file` and returns its index.
    public mutating func add(_ file: SourceFile) -> Int {
        files.append(file)
        return files.count - 1
    }

    public subscript(index: Int) -> SourceFile { files[index] }
}
