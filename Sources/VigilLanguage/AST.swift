/// A name as written, with where it was written.
public struct Identifier: Sendable, Hashable {
    public var name: String
    public var span: Span
}

/// A dotted name: `process.parent.name`, `gold.revenue_5m`.
public struct Path: Sendable, Hashable {
    public var segments: [Identifier]
    public var span: Span { segments.first!.span.to(segments.last!.span) }
    public var text: String { segments.map(\.name).joined(separator: ".") }
}

/// A duration literal in milliseconds.
public struct DurationLiteral: Sendable, Hashable {
    public var milliseconds: Int64
    public var span: Span
}

/// A string literal with its decoded value.
public struct StringLiteral: Sendable, Hashable {
    public var value: String
    public var span: Span
}

/// One parsed file.
public struct SourceUnit: Sendable {
    public var file: Int
    public var declarations: [Declaration]
    /// Name spans of declarations that had syntax errors; checks that would only
    /// repeat the damage ("has no output") are skipped for them.
    public var incomplete: Set<Span> = []
}

/// A top-level declaration.
public enum Declaration: Sendable {
    case stream(StreamDecl)
    case reference(ReferenceDecl)
    case rule(RuleDecl)
    case flow(FlowDecl)
    case aggregate(AggregateDecl)

    public var name: Identifier {
        switch self {
        case .stream(let d): d.name
        case .reference(let d): d.name
        case .rule(let d): d.name
        case .flow(let d): d.name
        case .aggregate(let d): d.name
        }
    }

    public var kindName: String {
        switch self {
        case .stream: "stream"
        case .reference: "reference"
        case .rule: "rule"
        case .flow: "flow"
        case .aggregate: "aggregate"
        }
    }
}

/// `name: type` inside a `fields` block.
public struct FieldDecl: Sendable {
    public var path: Path
    public var type: Identifier
}

/// `stream NAME key ... time ... lateness ... idle ... fields ...`
public struct StreamDecl: Sendable {
    public var name: Identifier
    public var keyword: Span
    public var key: [Path] = []
    public var time: Path?
    public var lateness: DurationLiteral?
    public var idleTimeout: DurationLiteral?
    public var fields: [FieldDecl] = []
}

/// `reference NAME from "path" key FIELD fields ...`
public struct ReferenceDecl: Sendable {
    public var name: Identifier
    public var keyword: Span
    public var source: StringLiteral?
    public var key: Path?
    public var fields: [FieldDecl] = []
}

/// `from STREAM [by FIELD, ...]`
public struct FromClause: Sendable {
    public var stream: Identifier
    public var by: [Path]
    public var span: Span
}

/// How the next step relates to the previous one.
public enum Contiguity: String, Sendable {
    /// The first step of a pattern.
    case start
    /// `then`: skip-till-next-match.
    case skipTillNext = "then"
    /// `then any`: skip-till-any-match.
    case skipTillAny = "then any"
    /// `next`: strict contiguity.
    case strict = "next"
}

/// `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`.
public struct Quantifier: Sendable, Hashable {
    public var min: Int64
    /// `nil` means unbounded.
    public var max: Int64?
    public var span: Span
}

/// One alternative of `(b: P or c: Q)`.
public struct Alternative: Sendable {
    public var label: Identifier
    public var stream: Identifier?
    public var predicate: Expr
}

/// What a step matches.
public enum StepBody: Sendable {
    /// `[STREAM where] EXPR`
    case predicate(stream: Identifier?, Expr)
    /// `(b: P or c: Q)`
    case alternatives([Alternative], span: Span)
}

/// One step of a `match` pattern.
public struct Step: Sendable {
    public var contiguity: Contiguity
    public var contiguitySpan: Span?
    /// Span of `not` when the step is negated.
    public var negation: Span?
    public var label: Identifier?
    public var body: StepBody
    public var quantifier: Quantifier?
    public var until: Expr?
    public var span: Span
}

/// `match STEP (then|then any|next STEP)*`
public struct Pattern: Sendable {
    public var keyword: Span
    public var steps: [Step]
}

/// Flink's after-match skip strategies.
public enum SkipStrategy: Sendable, Hashable {
    case noSkip
    case toNext
    case pastLast
    case toFirst(Identifier)
    case toLast(Identifier)
}

public struct SkipClause: Sendable {
    public var strategy: SkipStrategy
    public var span: Span
}

public struct SessionClause: Sendable {
    public var gap: DurationLiteral
    public var allowedLateness: DurationLiteral?
    public var span: Span
}

public enum WindowKind: Sendable, Hashable {
    case tumbling
    case hopping(every: DurationLiteral)
}

public struct WindowClause: Sendable {
    public var kind: WindowKind
    public var size: DurationLiteral
    public var allowedLateness: DurationLiteral?
    public var span: Span
}

/// A message template: text with `{expr}` placeholders.
public struct Template: Sendable {
    public enum Part: Sendable {
        case text(String)
        case placeholder(Expr)
    }
    public var parts: [Part]
    public var span: Span
}

public struct AlertClause: Sendable {
    public var severity: Identifier?
    public var template: Template
    public var span: Span
}

public struct SuppressClause: Sendable {
    public var period: DurationLiteral
    public var by: [Path]
    public var span: Span
}

public enum WriteMode: Sendable {
    case append
    case merge(on: [Identifier])
    case scd2(on: [Identifier])
}

/// `into table NAME [merge on (...) | scd2 on (...)]`
public struct IntoClause: Sendable {
    public var table: Path
    public var mode: WriteMode
    public var span: Span
}

/// `EXPR [as NAME]` in a `select` list.
public struct SelectItem: Sendable {
    public var expr: Expr
    public var alias: Identifier?
}

/// `enrich with REFERENCE on FIELD`
public struct EnrichClause: Sendable {
    public var reference: Identifier
    public var on: Path
    public var span: Span
}

/// `expect NAME: EXPR else warn|drop|quarantine|fail`
public struct ExpectClause: Sendable {
    public var name: Identifier
    public var condition: Expr
    public var action: Identifier
    public var span: Span
}

/// Clauses shared by rules, flows and aggregates.
public struct CommonClauses: Sendable {
    public var tags: [Identifier] = []
    public var from: FromClause?
    public var select: [SelectItem] = []
    public var into: IntoClause?
}

/// `rule NAME ...`
public struct RuleDecl: Sendable {
    public var name: Identifier
    public var keyword: Span
    public var common = CommonClauses()
    public var severity: Identifier?
    public var match: Pattern?
    public var within: DurationLiteral?
    public var skip: SkipClause?
    public var session: SessionClause?
    public var window: WindowClause?
    public var having: Expr?
    public var alert: AlertClause?
    public var suppress: SuppressClause?
}

/// `flow NAME ...`
public struct FlowDecl: Sendable {
    public var name: Identifier
    public var keyword: Span
    public var common = CommonClauses()
    public var filters: [Expr] = []
    public var enrich: [EnrichClause] = []
    public var expectations: [ExpectClause] = []
}

/// `aggregate NAME ...`
public struct AggregateDecl: Sendable {
    public var name: Identifier
    public var keyword: Span
    public var common = CommonClauses()
    public var session: SessionClause?
    public var window: WindowClause?
    public var having: Expr?
}
