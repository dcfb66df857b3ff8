import VigilRuntime

/// Deterministic dumps of compiled patterns: a text form for reviews and golden tests,
/// and Graphviz for people.
public enum NFADump {
    /// The text dump of one rule: predicates, then one state per step with its edges.
    public static func text(_ rule: PatternRule, streams: [StreamSchema], templateSource: String? = nil) -> String {
        let p = rule.pattern
        var out = "rule \(rule.name)\n"
        var header = "  from \(rule.streams.map { streams[$0].name }.joined(separator: ", ")) by (\(rule.keyNames.joined(separator: ", ")))"
        if let w = p.withinMs { header += ", within \(formatDuration(w))" }
        header += ", after match \(skipText(p))"
        out += header + "\n"
        out += "  predicates\n"
        for pred in predicates(p) {
            out += "    p\(pred.id)  \(pred.text)\(pred.usesBindings ? "    [reads bindings]" : "")\n"
        }
        let positives = p.steps.indices.filter { !p.steps[$0].negated }
        for (k, s) in positives.enumerated() {
            let step = p.steps[s]
            let next: Int? = k + 1 < positives.count ? positives[k + 1] : nil
            let target = next.map { "s\(positives.firstIndex(of: $0)!)" } ?? "final"
            out += "  state s\(k)  \(stepLabel(step, p))  [\(k == 0 ? "start" : step.contiguity.rawValue)]\n"
            // Negations before this step.
            let lo = k == 0 ? 0 : positives[k - 1] + 1
            for n in lo..<s where p.steps[n].negated {
                out += "    kill     \(alternatives(p.steps[n], p))   (not \(p.steps[n].name): the attempt dies)\n"
            }
            if step.isQuantified, let n = next {
                let cond = step.min > 0 ? "if count >= \(step.min), else the attempt dies" : "count may be 0"
                out += "    proceed  \(alternatives(p.steps[n], p)) -> \(target)   \(cond); the next step has priority\n"
                // Past an optional next step, a later step's event ends the run too.
                var optional = n
                for later in positives.dropFirst(k + 2) where p.steps[optional].min == 0 {
                    out += "    proceed  \(alternatives(p.steps[later], p)) -> s\(positives.firstIndex(of: later)!)   \(cond); `\(p.steps[optional].name)` ends empty\n"
                    optional = later
                }
                if let u = step.until {
                    out += "    until    p\(u.id) -> \(target)   ends the run (\(cond)); the next step sees the event\n"
                }
            }
            let takeTarget: String
            if step.isQuantified {
                let max = step.max.map(String.init) ?? "inf"
                takeTarget = next == nil
                    ? "s\(k) count += 1; complete at count \(step.min)"
                    : "s\(k) count += 1 (max \(max)\(step.max != nil ? ", then -> \(target)" : ""))"
            } else {
                takeTarget = target
            }
            out += "    take     \(alternatives(step, p)) -> \(takeTarget)\(step.contiguity == .any ? "   branches: also keeps waiting" : "")\n"
            if step.contiguity == .strict {
                out += "    else     the attempt dies (strict contiguity)\n"
            } else {
                out += "    ignore   any other event\n"
            }
        }
        let trailing = (positives.last.map { $0 + 1 } ?? 0)..<p.steps.count
        if trailing.contains(where: { p.steps[$0].negated }) {
            let kills = trailing.filter { p.steps[$0].negated }.map { alternatives(p.steps[$0], p) }.joined(separator: ", ")
            out += "  state absence  fires when the watermark passes start + \(p.withinMs.map(formatDuration) ?? "?")\n"
            out += "    kill     \(kills)   (not: the attempt dies)\n"
        }
        out += "  final    \(rule.hasAlert ? "alert" : "row")\(templateSource.map { " " + $0 } ?? "")\n"
        return out
    }

    /// Graphviz `dot` for one rule.
    public static func dot(_ rule: PatternRule, streams: [StreamSchema]) -> String {
        let p = rule.pattern
        let positives = p.steps.indices.filter { !p.steps[$0].negated }
        func esc(_ s: String) -> String {
            s.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"")
        }
        var out = "digraph \"\(esc(rule.name))\" {\n  rankdir=LR;\n  node [shape=circle, fontname=\"monospace\"];\n"
        out += "  start [shape=point];\n  final [shape=doublecircle, label=\"match\"];\n"
        for (k, s) in positives.enumerated() {
            out += "  s\(k) [label=\"\(esc(stepLabel(p.steps[s], p)))\"];\n"
        }
        if !positives.isEmpty { out += "  start -> s0 [label=\"\(esc(alternatives(p.steps[positives[0]], p)))\"];\n" }
        for (k, s) in positives.enumerated() {
            let step = p.steps[s]
            let next = k + 1 < positives.count ? "s\(k + 1)" : "final"
            if step.isQuantified {
                out += "  s\(k) -> s\(k) [label=\"take \(esc(alternatives(step, p)))\"];\n"
            }
            if k + 1 < positives.count {
                out += "  s\(k) -> \(next) [label=\"\(esc(p.steps[positives[k + 1]].contiguity.rawValue + " " + alternatives(p.steps[positives[k + 1]], p)))\"];\n"
            } else {
                out += "  s\(k) -> final [label=\"complete\"];\n"
            }
            if step.contiguity != .strict {
                out += "  s\(k) -> s\(k) [label=\"ignore\", style=dashed];\n"
            }
            let lo = k == 0 ? 0 : positives[k - 1] + 1
            for n in lo..<s where p.steps[n].negated {
                out += "  s\(k - 1) -> dead [label=\"not \(esc(alternatives(p.steps[n], p)))\", color=red];\n"
            }
        }
        if p.steps.last?.negated == true {
            out += "  final -> dead [label=\"not \(esc(alternatives(p.steps.last!, p))) within \(p.withinMs.map(formatDuration) ?? "?")\", color=red];\n"
        }
        if out.contains("-> dead") { out += "  dead [shape=box, label=\"dies\", color=red];\n" }
        return out + "}\n"
    }

    private static func skipText(_ p: CompiledPattern) -> String {
        let names = { (b: [Int]) in b.map { p.bindingNames[$0] }.joined(separator: "|") }
        switch p.skip {
        case .noSkip: return "no skip"
        case .toNext: return "skip to next"
        case .pastLast: return "skip past last"
        case .toFirst(let b): return "skip to first \(names(b))"
        case .toLast(let b): return "skip to last \(names(b))"
        }
    }

    private static func stepLabel(_ step: PatternStep, _ p: CompiledPattern) -> String {
        var s = step.alternatives.count > 1 ? step.alternatives.map { p.bindingNames[$0.binding] }.joined(separator: "|") : step.name
        if step.isQuantified {
            switch (step.min, step.max) {
            case (0, 1?): s += " ?"
            case (0, nil): s += " *"
            case (1, nil): s += " +"
            case (let n, nil): s += " {\(n),}"
            case (let n, let m?) where n == m: s += " {\(n)}"
            case (let n, let m?): s += " {\(n),\(m)}"
            }
        }
        return s
    }

    private static func alternatives(_ step: PatternStep, _ p: CompiledPattern) -> String {
        step.alternatives.map { "p\($0.predicate.id)\(step.alternatives.count > 1 ? " as " + p.bindingNames[$0.binding] : "")" }
            .joined(separator: " or ")
    }

    private static func predicates(_ p: CompiledPattern) -> [CompiledPredicate] {
        var all: [CompiledPredicate] = []
        for s in p.steps {
            all += s.alternatives.map(\.predicate)
            if let u = s.until { all.append(u) }
        }
        return all.sorted { $0.id < $1.id }
    }
}

extension String {
    func replacingAll(_ a: String, _ b: String) -> String {
        components(separatedBy: a).joined(separator: b)
    }
}
