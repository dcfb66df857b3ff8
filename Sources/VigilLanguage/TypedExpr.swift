/// A checked expression: names resolved, types known. The compiler lowers these; it
/// never sees an unresolved name.
public struct TypedExpr: Sendable {
    /// A literal constant.
    public enum Literal: Sendable, Hashable {
        case null
        case int(Int64)
        case double(Double)
        case string(String)
        case bool(Bool)
        /// Milliseconds.
        case duration(Int64)
    }

    /// Which event of a step a reference reads.
    public enum Selector: String, Sendable {
        /// The one event of a step that binds a single event.
        case single
        case first
        case last
    }

    public indirect enum Node: Sendable {
        case literal(Literal)
        /// A field of the current event, row or group key, by its dotted name.
        case field(String)
        /// A column of a reference table joined with `enrich`: `cards.limit`.
        case tableField(table: String, field: String)
        /// `window_start`, `window_end`, `session_start`, `session_end`, `duration`, `detected_at`.
        case builtin(String)
        /// `big.amount`, `small.first.country`.
        case stepField(step: String, selector: Selector, field: String)
        /// `count(small)`.
        case stepCount(step: String)
        /// `avg(small.amount)` and the other aggregates over a step's events.
        case stepAggregate(function: String, step: String, field: String)
        /// `count()`, `count(cond)`, `sum(amount)` over the events of a window or session.
        case groupAggregate(function: String, argument: TypedExpr?)
        case unary(UnaryOperator, TypedExpr)
        case binary(BinaryOperator, TypedExpr, TypedExpr)
        case inList(TypedExpr, [TypedExpr], negated: Bool)
        case isNull(TypedExpr, negated: Bool)
        case matches(TypedExpr, pattern: String, flags: String)
        /// A scalar built-in function.
        case call(String, [TypedExpr])
    }

    public var node: Node
    public var type: ValueType
    public var span: Span

    public init(_ node: Node, _ type: ValueType, _ span: Span) {
        self.node = node
        self.type = type
        self.span = span
    }
}
