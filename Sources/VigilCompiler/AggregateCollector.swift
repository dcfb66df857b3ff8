import VigilLanguage
import VigilRuntime

/// Gives each distinct aggregate of a window rule (`count()`, `sum(amount)`, ...) a
/// slot, so `having`, the message and `select` share one accumulator per aggregate.
final class AggregateCollector {
    let schema: StreamSchema
    private(set) var specs: [AggregateSpec] = []
    private var slots: [String: Int] = [:]

    init(schema: StreamSchema) {
        self.schema = schema
    }

    func slot(_ function: String, _ argument: TypedExpr?) -> Int {
        let text = "\(function)(\(argument.map(ExprPrinter.print) ?? ""))"
        if let s = slots[text] { return s }
        let compiler = ExpressionCompiler(fields: .event(schema), bindings: [:])
        let type = argument.map { FieldType(rawValue: $0.type.rawValue) } ?? nil
        specs.append(AggregateSpec(function: function, argument: argument.map { compiler.compile($0) }, type: type, text: text))
        slots[text] = specs.count - 1
        return specs.count - 1
    }
}
