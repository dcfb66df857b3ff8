/// How bad a diagnostic is.
public enum Severity: String, Sendable, Comparable {
    case warning
    case error

    public static func < (a: Severity, b: Severity) -> Bool { a == .warning && b == .error }
}

/// A secondary span with a short label, rendered under the source like rustc's `-` runs.
public struct Label: Sendable, Hashable {
    public var span: Span
    public var message: String

    public init(_ span: Span, _ message: String) {
        self.span = span
        self.message = message
    }
}

/// One problem found in a rule file: data, rendered by `DiagnosticRenderer`.
///
/// Messages are lowercase without a trailing period; the span is the narrowest one
/// that shows the problem; a suggested fix goes in `help`.
public struct Diagnostic: Sendable, Hashable {
    public var code: DiagnosticCode
    public var severity: Severity
    public var message: String
    /// The primary span; the caret run goes under it.
    public var span: Span
    /// Text printed after the caret run on the primary span, if any.
    public var label: String?
    /// Other places worth showing (the first declaration of a duplicate, ...).
    public var secondary: [Label]
    public var notes: [String]
    public var help: String?

    public init(
        _ code: DiagnosticCode, _ message: String, at span: Span, label: String? = nil,
        secondary: [Label] = [], notes: [String] = [], help: String? = nil
    ) {
        self.code = code
        self.severity = code.defaultSeverity
        self.message = message
        self.span = span
        self.label = label
        self.secondary = secondary
        self.notes = notes
        self.help = help
    }
}

/// Collects diagnostics, capping their number so that pathological input (10 MB of `(`)
/// yields a readable report rather than millions of lines.
public struct DiagnosticBag: Sendable {
    /// Errors kept per bag before the rest are counted and dropped with one note.
    public static let errorLimit = 100

    public private(set) var diagnostics: [Diagnostic] = []
    public private(set) var errorCount = 0
    public private(set) var suppressedErrors = 0

    public init() {}

    public var hasErrors: Bool { errorCount > 0 }
    public var isFull: Bool { errorCount >= Self.errorLimit }

    public mutating func report(_ d: Diagnostic) {
        if d.severity == .error {
            if errorCount >= Self.errorLimit {
                suppressedErrors += 1
                return
            }
            errorCount += 1
        }
        diagnostics.append(d)
    }

    public mutating func append(contentsOf other: DiagnosticBag) {
        for d in other.diagnostics { report(d) }
        suppressedErrors += other.suppressedErrors
    }
}
