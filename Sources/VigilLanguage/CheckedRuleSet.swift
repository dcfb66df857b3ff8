/// The output of the front end when a rule set has no errors: every declaration with
/// names resolved and expressions typed. This is what the compiler consumes.
public struct CheckedRuleSet: Sendable {
    public var streams: [CheckedStream] = []
    public var references: [CheckedReference] = []
    public var rules: [CheckedRule] = []
    public var flows: [CheckedFlow] = []
    public var aggregates: [CheckedAggregate] = []

    public func stream(named name: String) -> CheckedStream? { streams.first { $0.name == name } }
}

/// A declared field: dotted name and type.
public struct CheckedField: Sendable, Hashable {
    public var name: String
    public var type: ValueType
}

public struct CheckedStream: Sendable {
    public var name: String
    /// In declaration order.
    public var fields: [CheckedField]
    public var key: [String]
    public var time: String
    public var latenessMs: Int64
    public var idleTimeoutMs: Int64?
}

public struct CheckedReference: Sendable {
    public var name: String
    public var path: String
    public var key: String
    public var fields: [CheckedField]
}

/// `into table` with its write mode.
public struct CheckedOutput: Sendable {
    public enum Mode: Sendable, Hashable {
        case append
        case merge([String])
        case scd2([String])
    }
    public var table: String
    public var mode: Mode
}

public struct CheckedSelectItem: Sendable {
    public var name: String
    public var expr: TypedExpr
}

/// A message template: text and typed placeholders.
public struct CheckedTemplate: Sendable {
    public enum Part: Sendable {
        case text(String)
        case value(TypedExpr)
    }
    public var parts: [Part]
}

/// One alternative of a step (a plain step has exactly one).
public struct CheckedAlternative: Sendable {
    /// The name bindings are reported under: the step's or the alternative's label.
    public var name: String
    /// The stream the alternative reads.
    public var stream: String
    public var predicate: TypedExpr
}

public struct CheckedStep: Sendable {
    /// The step's name (`step1`... when unlabelled); alternatives have their own.
    public var name: String
    public var negated: Bool
    public var contiguity: Contiguity
    public var min: Int64
    /// `nil`: unbounded.
    public var max: Int64?
    /// Whether the step was written with a quantifier (`{1}` included).
    public var isQuantified: Bool
    public var alternatives: [CheckedAlternative]
    public var until: TypedExpr?
}

public struct CheckedPattern: Sendable {
    public var steps: [CheckedStep]
    public var withinMs: Int64?
    public var skip: CheckedSkip
}

/// After-match skip strategy with step names resolved.
public enum CheckedSkip: Sendable, Hashable {
    case noSkip
    case toNext
    case pastLast
    case toFirst(String)
    case toLast(String)
}

public struct CheckedWindow: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case tumbling
        case hopping(everyMs: Int64)
        case session
    }
    public var kind: Kind
    /// Window size, or the session gap.
    public var sizeMs: Int64
    public var allowedLatenessMs: Int64
}

public struct CheckedRule: Sendable {
    public enum Kind: Sendable {
        case pattern(CheckedPattern)
        case window(CheckedWindow, having: TypedExpr?)
    }
    public var name: String
    public var severity: String
    public var tags: [String]
    public var stream: String
    /// Key fields of the stream the rule reads.
    public var key: [CheckedField]
    public var kind: Kind
    public var alert: CheckedTemplate?
    public var suppress: (periodMs: Int64, by: [String])?
    public var select: [CheckedSelectItem]
    public var output: CheckedOutput?
}

public struct CheckedExpectation: Sendable {
    public enum Action: String, Sendable {
        case warn, drop, quarantine, fail
    }
    public var name: String
    public var condition: TypedExpr
    public var action: Action
}

public struct CheckedFlow: Sendable {
    public var name: String
    public var stream: String
    public var enrich: [(reference: String, on: String)]
    public var filters: [TypedExpr]
    public var expectations: [CheckedExpectation]
    /// The row's columns: the `select`ed ones, or (without `select`) every stream field
    /// and then every column the enrichments add.
    public var select: [CheckedSelectItem]
    public var output: CheckedOutput?
}

public struct CheckedAggregate: Sendable {
    public var name: String
    public var stream: String
    public var key: [CheckedField]
    public var window: CheckedWindow
    public var having: TypedExpr?
    public var select: [CheckedSelectItem]
    public var output: CheckedOutput?
}
