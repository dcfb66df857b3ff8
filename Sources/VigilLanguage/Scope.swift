/// A step binding visible to an expression.
struct StepBinding {
    var name: String
    var span: Span
    /// May bind several events (a quantifier whose maximum is not 1).
    var isQuantified: Bool
    /// The fields of the stream the step reads.
    var fields: [String: ValueType]
    var streamName: String
}

/// What an expression may see, and which aggregates it may use.
struct Scope {
    enum Aggregation {
        /// No aggregates: flows, stream-level predicates.
        case none
        /// Aggregates over the step bindings (`count(small)`, `avg(small.amount)`).
        case overSteps
        /// Aggregates over the events of a window or session (`count()`, `sum(amount)`).
        case overEvents
    }

    /// Fields usable by bare name (`amount`, `process.parent.name`).
    var fields: [String: ValueType] = [:]
    /// Describes where `fields` come from, for "unknown field" messages.
    var fieldsOwner = ""
    /// When set, bare fields outside this set are not available (group and match scopes:
    /// only the key is one value per output).
    var bareAllowed: Set<String>? = nil
    /// Why a bare field outside `bareAllowed` is refused; the help line.
    var bareRefusalHelp = ""
    /// Fields of the events being aggregated, for `sum(amount)` in a group scope.
    var eventFields: [String: ValueType] = [:]
    /// Tables addressable by name (`cards.issuer` after `enrich with cards`).
    var tables: [String: [String: ValueType]] = [:]
    /// Bare names that come from an enriched reference table, and which table.
    var fieldTables: [String: String] = [:]
    var steps: [String: StepBinding] = [:]
    var laterSteps: [String: Span] = [:]
    var negatedSteps: [String: Span] = [:]
    var currentStep: String? = nil
    var builtins: [String: ValueType] = [:]
    var aggregation = Aggregation.none
    /// Describes the context for "aggregates are not allowed here".
    var place = "here"
}
