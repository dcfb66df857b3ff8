/// Message templates: `"card {card}: {count(small)} tiny charges"`.
extension Parser {
    /// Splits a string token into text and `{expr}` placeholders. Each placeholder is
    /// parsed in place, so its diagnostics point into the string.
    mutating func parseTemplate(_ token: Token) -> Template? {
        let bytes = source.bytes
        let start = token.span.start + 1
        var end = token.span.end
        if end > start, bytes[end - 1] == UInt8(ascii: "\"") { end -= 1 }
        var parts: [Template.Part] = []
        var text: [UInt8] = []
        var i = start
        while i < end {
            let c = bytes[i]
            if c == UInt8(ascii: "\\"), i + 1 < end {
                switch bytes[i + 1] {
                case UInt8(ascii: "n"): text.append(10)
                case UInt8(ascii: "t"): text.append(9)
                case UInt8(ascii: "r"): text.append(13)
                default: text.append(bytes[i + 1])
                }
                i += 2
                continue
            }
            if c == UInt8(ascii: "}") {
                diagnostics.report(Diagnostic(
                    .invalidTemplate, "unmatched `}` in message", at: Span(file: file, start: i, end: i + 1),
                    help: "write `\\}` for a literal brace"))
                i += 1
                continue
            }
            guard c == UInt8(ascii: "{") else {
                text.append(c)
                i += 1
                continue
            }
            guard let close = Self.placeholderEnd(bytes, from: i + 1, to: end) else {
                diagnostics.report(Diagnostic(
                    .invalidTemplate, "unclosed `{` in message", at: Span(file: file, start: i, end: i + 1),
                    label: "this placeholder is never closed", help: "close it with `}`, or write `\\{` for a literal brace"))
                break
            }
            if !text.isEmpty {
                parts.append(.text(String(decoding: text, as: UTF8.self)))
                text = []
            }
            let inner = (i + 1)..<close
            if bytes[inner].allSatisfy({ $0 == UInt8(ascii: " ") }) {
                diagnostics.report(Diagnostic(
                    .invalidTemplate, "empty placeholder in message", at: Span(file: file, start: i, end: close + 1),
                    help: "put a field or expression inside, e.g. `{user}`"))
            } else {
                var sub = Parser(source: source, file: file, range: inner)
                let expr = sub.parseExpression()
                if !sub.isAtEnd, !sub.recovering {
                    sub.expected("`}` to end the placeholder")
                }
                diagnostics.append(contentsOf: sub.takeDiagnostics())
                parts.append(.placeholder(expr))
            }
            i = close + 1
        }
        if !text.isEmpty { parts.append(.text(String(decoding: text, as: UTF8.self))) }
        // Placeholder errors are reported; the parts that did parse still get checked.
        return Template(parts: parts, span: token.span)
    }

    /// The `}` that closes a placeholder, skipping strings nested inside it.
    static func placeholderEnd(_ bytes: [UInt8], from start: Int, to end: Int) -> Int? {
        var i = start
        while i < end {
            switch bytes[i] {
            case UInt8(ascii: "}"): return i
            case UInt8(ascii: "\""):
                i += 1
                while i < end, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                    i += 1
                }
            default: break
            }
            i += 1
        }
        return nil
    }
}
