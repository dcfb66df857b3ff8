import VigilLanguage
import VigilRuntime

/// A compiled rule set: the program the runtime executes.
public struct CompiledRuleSet: Sendable {
    public var program: Program
}

/// Checked rule set -> immutable program shared by every key.
public enum Compiler {
    public static func compile(_ rs: CheckedRuleSet) -> CompiledRuleSet {
        let streams = rs.streams.map(schema)
        var rules: [PatternRule] = []
        var windows: [WindowRule] = []
        for r in rs.rules {
            let suppress = r.suppress.map { s in
                let stream = streams.firstIndex { $0.name == r.stream }!
                return Suppression(periodMs: s.periodMs, by: s.by.map { field in
                    r.key.firstIndex { $0.name == field }.map(Suppression.Source.key)
                        ?? .field(stream: stream, slot: streams[stream].slot(of: field)!)
                })
            }
            switch r.kind {
            case .pattern(let p):
                var rule = compilePattern(r, p, streams)
                rule.suppress = suppress
                rules.append(rule)
            case .window(let w, let having):
                var rule = compileWindow(r.name, stream: r.stream, key: r.key, w, having: having, select: r.select,
                                         output: r.output, alert: r.alert, severity: r.severity, tags: r.tags, streams)
                rule.suppress = suppress
                windows.append(rule)
            }
        }
        for a in rs.aggregates {
            var w = compileWindow(a.name, stream: a.stream, key: a.key, a.window, having: a.having, select: a.select,
                                  output: a.output, alert: nil, severity: "", tags: [], streams)
            w.isAggregate = true
            windows.append(w)
        }
        let references = rs.references.map(reference)
        let flows = rs.flows.map { compileFlow($0, streams, references) }
        return CompiledRuleSet(program: Program(streams: streams, rules: rules, windows: windows, flows: flows, references: references))
    }

    static func compileWindow(_ name: String, stream streamName: String, key: [CheckedField], _ w: CheckedWindow,
                              having: TypedExpr?, select: [CheckedSelectItem], output: CheckedOutput?,
                              alert: CheckedTemplate?, severity: String, tags: [String], _ streams: [StreamSchema]) -> WindowRule {
        let stream = streams.firstIndex { $0.name == streamName }!
        let schema = streams[stream]
        let collector = AggregateCollector(schema: schema)
        let c = ExpressionCompiler(fields: .key(key.map(\.name)), bindings: [:], aggregates: collector)
        let havingCode = having.map { c.compile($0) }
        let message = MessageTemplate(parts: (alert?.parts ?? []).map {
            switch $0 {
            case .text(let s): return .text(s)
            case .value(let e): return .value(c.compile(e))
            }
        })
        let kind: WindowRule.Kind
        switch w.kind {
        case .tumbling: kind = .tumbling(sizeMs: w.sizeMs)
        case .hopping(let every): kind = .hopping(sizeMs: w.sizeMs, everyMs: every)
        case .session: kind = .session(gapMs: w.sizeMs)
        }
        // Rows when the declaration selects columns or names a table.
        var rows: RowOutput?
        if output != nil || !select.isEmpty {
            let session: Bool
            if case .session = kind { session = true } else { session = false }
            rows = RowOutput(table: output?.table ?? name, keyColumns: key.map { RowOutput.column(forKey: $0.name) },
                             session: session, selected: select.map { ($0.name, c.compile($0.expr), ExprPrinter.print($0.expr)) })
            let field = { (t: ValueType) in FieldType(rawValue: t.rawValue) }
            rows?.types = key.map { field($0.type) } + (session ? [.timestamp, .timestamp, .int] : [.timestamp, .timestamp])
                + select.map { field($0.expr.type) }
            rows?.intoTable = output != nil
            rows?.mode = writeMode(output)
        }
        var rule = WindowRule(name: name, severity: severity, tags: tags, stream: stream,
                          keySlots: key.map { schema.slot(of: $0.name)! }, keyNames: key.map(\.name), kind: kind,
                          allowedLatenessMs: w.allowedLatenessMs, aggregates: collector.specs, having: havingCode,
                          havingText: having.map(ExprPrinter.print),
                          message: message, hasAlert: alert != nil, rows: rows)
        rule.havingParts = having.map { parts($0, c) } ?? []
        return rule
    }

    /// The top-level conjuncts of a condition, each with the values it reads.
    static func parts(_ e: TypedExpr, _ c: ExpressionCompiler) -> [PredicatePart] {
        var conjuncts: [TypedExpr] = []
        func split(_ x: TypedExpr) {
            if case .binary(.and, let l, let r) = x.node { split(l); split(r) } else { conjuncts.append(x) }
        }
        split(e)
        return conjuncts.map { part in
            var operands: [(text: String, eval: CompiledExpr)] = []
            var seen = Set<String>()
            func collect(_ x: TypedExpr) {
                switch x.node {
                case .field, .stepField, .stepCount, .stepAggregate, .tableField, .groupAggregate, .builtin:
                    let text = ExprPrinter.print(x)
                    if seen.insert(text).inserted { operands.append((text, c.compile(x))) }
                case .literal: break
                case .unary(_, let a), .isNull(let a, _), .matches(let a, _, _): collect(a)
                case .binary(_, let a, let b): collect(a); collect(b)
                case .inList(let a, let items, _): collect(a); items.forEach(collect)
                case .call(_, let args): args.forEach(collect)
                }
            }
            collect(part)
            return PredicatePart(text: ExprPrinter.print(part), eval: c.compile(part), operands: operands)
        }
    }

    static func writeMode(_ output: CheckedOutput?) -> RowOutput.WriteMode {
        switch output?.mode {
        case .merge(let keys)?: .merge(on: keys)
        case .scd2(let keys)?: .scd2(on: keys)
        case .append?, nil: .append
        }
    }

    /// A reference table's columns as a schema keyed on its key column, without time.
    static func reference(_ r: CheckedReference) -> ReferenceSpec {
        let fields = r.fields.map { StreamSchema.Field(name: $0.name, type: FieldType(rawValue: $0.type.rawValue)!) }
        let key = fields.firstIndex { $0.name == r.key } ?? 0
        return ReferenceSpec(name: r.name, path: r.path,
                             schema: StreamSchema(name: r.name, fields: fields, keySlots: [key], timeSlot: -1, latenessMs: 0, idleTimeoutMs: nil))
    }

    static func compileFlow(_ f: CheckedFlow, _ streams: [StreamSchema], _ references: [ReferenceSpec]) -> FlowRule {
        let stream = streams.firstIndex { $0.name == f.stream }!
        let schema = streams[stream]
        var tables: [String: (offset: Int, schema: StreamSchema)] = [:]
        var enrich: [(reference: Int, onSlot: Int)] = []
        var offset = schema.fields.count
        for e in f.enrich {
            let r = references.firstIndex { $0.name == e.reference }!
            enrich.append((r, schema.slot(of: e.on)!))
            // The same table joined twice is read through its first join.
            if tables[e.reference] == nil { tables[e.reference] = (offset, references[r].schema) }
            offset += references[r].schema.fields.count
        }
        let c = ExpressionCompiler(fields: .enriched(schema, tables: tables), bindings: [:])
        let expectations = f.expectations.map { x in
            Expectation(name: x.name, action: Expectation.Action(rawValue: x.action.rawValue)!, check: c.compile(x.condition),
                        text: ExprPrinter.print(x.condition), parts: parts(x.condition, c))
        }
        var rows = RowOutput(flowTable: f.output?.table ?? f.name,
                             selected: f.select.map { ($0.name, c.compile($0.expr), ExprPrinter.print($0.expr)) })
        rows.types = f.select.map { FieldType(rawValue: $0.expr.type.rawValue) }
        rows.intoTable = f.output != nil
        rows.mode = writeMode(f.output)
        var flow = FlowRule(name: f.name, stream: stream, enrich: enrich, filters: f.filters.map { c.compile($0) },
                            expectations: expectations, rows: rows)
        flow.filterTexts = f.filters.map(ExprPrinter.print)
        return flow
    }

    static func schema(_ s: CheckedStream) -> StreamSchema {
        let fields = s.fields.map { StreamSchema.Field(name: $0.name, type: FieldType(rawValue: $0.type.rawValue)!) }
        let slot = { (name: String) in fields.firstIndex { $0.name == name }! }
        return StreamSchema(name: s.name, fields: fields, keySlots: s.key.map(slot), timeSlot: slot(s.time),
                            latenessMs: s.latenessMs, idleTimeoutMs: s.idleTimeoutMs)
    }

    static func compilePattern(_ r: CheckedRule, _ p: CheckedPattern, _ streams: [StreamSchema]) -> PatternRule {
        let index = { (name: String) in streams.firstIndex { $0.name == name }! }
        let main = index(r.stream)
        var streamIDs = [main]
        var keySlots: [Int: [Int]] = [main: r.key.map { streams[main].slot(of: $0.name)! }]

        var bindingNames: [String] = []
        var bindingStreams: [Int] = []
        var bindings: [String: (index: Int, schema: StreamSchema)] = [:]
        var stepBindings: [String: [Int]] = [:]
        for step in p.steps {
            for alt in step.alternatives {
                let s = index(alt.stream)
                if !streamIDs.contains(s) {
                    streamIDs.append(s)
                    keySlots[s] = streams[s].keySlots
                }
                bindings[alt.name] = (bindingNames.count, streams[s])
                stepBindings[step.name, default: []].append(bindingNames.count)
                if alt.name != step.name { stepBindings[alt.name] = [bindingNames.count] }
                bindingNames.append(alt.name)
                bindingStreams.append(s)
            }
        }

        var predicateCount = 0
        func predicate(_ e: TypedExpr, stream: Int) -> CompiledPredicate {
            let c = ExpressionCompiler(fields: .event(streams[stream]), bindings: bindings)
            defer { predicateCount += 1 }
            var compiled = CompiledPredicate(id: predicateCount, usesBindings: ExpressionCompiler.usesBindings(e),
                                             text: ExprPrinter.print(e), eval: c.compile(e), parts: parts(e, c))
            compiled.tests = ExpressionCompiler.fieldTests(e, streams[stream])
            compiled.necessary = ExpressionCompiler.necessaryTests(e, streams[stream])
            return compiled
        }
        var steps: [PatternStep] = []
        for step in p.steps {
            let alternatives = step.alternatives.map { alt in
                PatternStep.Alternative(binding: bindings[alt.name]!.index, stream: index(alt.stream),
                                        predicate: predicate(alt.predicate, stream: index(alt.stream)))
            }
            let until = step.until.map { predicate($0, stream: index(step.alternatives.first?.stream ?? r.stream)) }
            let contiguity: StepContiguity
            switch step.contiguity {
            case .start: contiguity = .start
            case .skipTillNext: contiguity = .relaxed
            case .skipTillAny: contiguity = .any
            case .strict: contiguity = .strict
            }
            steps.append(PatternStep(name: step.name, negated: step.negated, contiguity: contiguity, min: step.min,
                                     max: step.max, isQuantified: step.isQuantified, alternatives: alternatives, until: until))
        }
        let skip: SkipPolicy
        switch p.skip {
        case .noSkip: skip = .noSkip
        case .toNext: skip = .toNext
        case .pastLast: skip = .pastLast
        case .toFirst(let name): skip = .toFirst(stepBindings[name] ?? [])
        case .toLast(let name): skip = .toLast(stepBindings[name] ?? [])
        }
        let pattern = CompiledPattern(steps: steps, withinMs: p.withinMs, skip: skip, bindingNames: bindingNames,
                                      bindingStreams: bindingStreams, predicateCount: predicateCount)
        let templateCompiler = ExpressionCompiler(fields: .key(r.key.map(\.name)), bindings: bindings)
        let message = MessageTemplate(parts: (r.alert?.parts ?? []).map {
            switch $0 {
            case .text(let s): return .text(s)
            case .value(let e):
                // A bare key field, the commonest placeholder, is read from the key.
                if case .field(let name) = e.node, let i = r.key.firstIndex(where: { $0.name == name }) { return .key(i) }
                return .value(templateCompiler.compile(e))
            }
        })
        var rule = PatternRule(name: r.name, severity: r.severity, tags: r.tags, streams: streamIDs, keySlots: keySlots,
                               keyNames: r.key.map(\.name), pattern: pattern, message: message, hasAlert: r.alert != nil)
        if let out = r.output {
            var rows = RowOutput(detectionsTable: out.table, keyColumns: r.key.map { RowOutput.column(forKey: $0.name) },
                                 selected: r.select.map { ($0.name, templateCompiler.compile($0.expr), ExprPrinter.print($0.expr)) })
            let field = { (t: ValueType) in FieldType(rawValue: t.rawValue) }
            rows.types = [.string, .string, .string, .timestamp] + r.key.map { field($0.type) } + [.string] + r.select.map { field($0.expr.type) }
            rows.intoTable = true
            rows.mode = writeMode(out)
            rule.rows = rows
        }
        return rule
    }
}
