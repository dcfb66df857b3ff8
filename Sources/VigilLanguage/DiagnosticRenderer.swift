import VigilText

/// Renders diagnostics the way rustc does: a header, a `-->` location, the source
/// lines with caret runs under the spans, then notes and help.
public struct DiagnosticRenderer: Sendable {
    public var sources: SourceMap
    /// Emit ANSI colors (for a terminal).
    public var color: Bool
    /// Source lines longer than this many columns are shown in part.
    static let maxLineWidth = 120

    public init(sources: SourceMap, color: Bool = false) {
        self.sources = sources
        self.color = color
    }

    private enum Style: String {
        case error = "\u{1B}[1;31m", warning = "\u{1B}[1;33m", bold = "\u{1B}[1m", blue = "\u{1B}[1;34m"
    }

    private func paint(_ text: String, _ style: Style) -> String {
        color ? style.rawValue + text + "\u{1B}[0m" : text
    }

    /// The full text of one diagnostic, ending with a blank line.
    public func render(_ d: Diagnostic) -> String {
        let file = sources[d.span.file]
        let pos = file.position(of: d.span.start)
        var marks: [(line: Int, mark: Mark)] = [(file.lineIndex(of: d.span.start), mark(d.span, in: file, primary: true, d.label))]
        var elsewhere: [Label] = []
        for l in d.secondary {
            if l.span.file == d.span.file {
                marks.append((file.lineIndex(of: l.span.start), mark(l.span, in: file, primary: false, l.message)))
            } else {
                elsewhere.append(l)
            }
        }
        let maxLine = (marks.map(\.line).max() ?? 0) + 1
        let width = String(maxLine).count
        let pad = String(repeating: " ", count: width)
        let severityStyle: Style = d.severity == .error ? .error : .warning
        var out = paint("\(d.severity.rawValue)[\(d.code.rawValue)]", severityStyle) + paint(": \(d.message)", .bold) + "\n"
        out += "\(pad)\(paint("-->", .blue)) \(file.path):\(pos.line):\(pos.column)\n"
        out += renderLines(marks, file: file, width: width, severityStyle: severityStyle)
        for l in elsewhere {
            let other = sources[l.span.file]
            let p = other.position(of: l.span.start)
            out += "\(pad)\(paint(":::", .blue)) \(other.path):\(p.line):\(p.column)\n"
            out += renderLines([(other.lineIndex(of: l.span.start), mark(l.span, in: other, primary: false, l.message))],
                               file: other, width: width, severityStyle: severityStyle)
        }
        if !d.notes.isEmpty || d.help != nil {
            out += "\(pad) \(paint("|", .blue))\n"
        }
        for n in d.notes { out += "\(pad) \(paint("=", .blue)) \(paint("note", .bold)): \(n)\n" }
        if let h = d.help { out += "\(pad) \(paint("=", .blue)) \(paint("help", .bold)): \(h)\n" }
        return out + "\n"
    }

    private struct Mark {
        var column: Int
        var length: Int
        var primary: Bool
        var label: String?
    }

    private func mark(_ span: Span, in file: SourceFile, primary: Bool, _ label: String?) -> Mark {
        let line = file.lineIndex(of: span.start)
        let lineStart = file.lineStarts[line]
        let lineEnd = line + 1 < file.lineStarts.count ? file.lineStarts[line + 1] - 1 : file.bytes.count
        let start = displayColumn(file, lineStart, span.start)
        let end = displayColumn(file, lineStart, max(span.start, min(span.end, lineEnd)))
        return Mark(column: start, length: max(1, end - start), primary: primary, label: label)
    }

    /// Display column (0-based) of byte `offset`: scalars count one, tabs four.
    private func displayColumn(_ file: SourceFile, _ lineStart: Int, _ offset: Int) -> Int {
        var col = 0
        var i = lineStart
        let end = min(offset, file.bytes.count)
        while i < end {
            let b = file.bytes[i]
            if b == UInt8(ascii: "\t") { col += 4 } else if b & 0xC0 != 0x80 { col += 1 }
            i += 1
        }
        return col
    }

    private func renderLines(_ marks: [(line: Int, mark: Mark)], file: SourceFile, width: Int, severityStyle: Style) -> String {
        let pad = String(repeating: " ", count: width)
        var out = "\(pad) \(paint("|", .blue))\n"
        let lines = Set(marks.map(\.line)).sorted()
        var previous: Int? = nil
        for line in lines {
            if let p = previous, line > p + 1 { out += paint("...", .blue) + "\n" }
            previous = line
            let number = String(line + 1)
            var text = Array(file.lineText(line).replacingTabs().showingControlCharacters())
            var lineMarks = marks.filter({ $0.line == line }).map(\.mark)
            // Long lines are cut to a window around the marks, like rustc does.
            let first = lineMarks.map(\.column).min() ?? 0
            if text.count > Self.maxLineWidth, first > Self.maxLineWidth / 3 {
                let shift = first - Self.maxLineWidth / 3 + 3
                text = Array("...") + text[min(shift, text.count)...]
                for i in lineMarks.indices { lineMarks[i].column -= shift - 3 }
            }
            if text.count > Self.maxLineWidth { text = Array(text[..<(Self.maxLineWidth - 3)]) + Array("...") }
            for i in lineMarks.indices { lineMarks[i].length = min(lineMarks[i].length, max(1, Self.maxLineWidth - lineMarks[i].column)) }
            out += paint(String(repeating: " ", count: width - number.count) + number + " |", .blue) + (text.isEmpty ? "" : " " + String(text)) + "\n"
            for m in lineMarks.sorted(by: { ($0.column, $0.primary ? 0 : 1) < ($1.column, $1.primary ? 0 : 1) }) {
                let run = String(repeating: m.primary ? "^" : "-", count: m.length)
                let labelled = m.label.map { run + " " + $0 } ?? run
                out += "\(pad) \(paint("|", .blue)) " + String(repeating: " ", count: m.column)
                    + paint(labelled, m.primary ? severityStyle : .blue) + "\n"
            }
        }
        return out
    }

    /// One JSON object per diagnostic, for editors and CI.
    public func json(_ d: Diagnostic) -> String {
        let file = sources[d.span.file]
        let start = file.position(of: d.span.start)
        let end = file.position(of: d.span.end)
        var fields: [(String, String)] = [
            ("file", jsonString(file.path)),
            ("line", String(start.line)), ("column", String(start.column)),
            ("end_line", String(end.line)), ("end_column", String(end.column)),
            ("severity", jsonString(d.severity.rawValue)), ("code", jsonString(d.code.rawValue)),
            ("message", jsonString(d.message)),
        ]
        if let l = d.label { fields.append(("label", jsonString(l))) }
        if !d.notes.isEmpty { fields.append(("notes", "[" + d.notes.map(jsonString).joined(separator: ",") + "]")) }
        if let h = d.help { fields.append(("help", jsonString(h))) }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}

/// JSON string literal with the escapes RFC 8259 requires.
public func jsonString(_ s: String) -> String { jsonQuote(s) }

extension String {
    /// C0 control characters as their Unicode control pictures (NUL as `␀`), so that a
    /// bad byte is visible and takes one column, like the caret run assumes.
    func showingControlCharacters() -> String {
        var out = String.UnicodeScalarView()
        for u in unicodeScalars {
            if u.value < 0x20 || u.value == 0x7F {
                out.append(Unicode.Scalar(u.value == 0x7F ? 0x2421 : 0x2400 + u.value)!)
            } else {
                out.append(u)
            }
        }
        return String(out)
    }

    func replacingTabs() -> String {
        split(separator: "\t", omittingEmptySubsequences: false).joined(separator: "    ")
    }
}
