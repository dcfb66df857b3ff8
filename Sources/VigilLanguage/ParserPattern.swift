/// `match` patterns: steps, contiguity, quantifiers, `until`, `not`, alternatives.
extension Parser {
    mutating func parsePattern(_ keyword: Span) -> Pattern? {
        var steps: [Step] = []
        var contiguity = Contiguity.start
        var contiguitySpan: Span? = nil
        while true {
            guard let step = parseStep(contiguity, contiguitySpan) else { break }
            steps.append(step)
            if let t = accept(.then) {
                if checkWord("any"), peek(1).kind != .punct(.colon) {
                    contiguitySpan = t.span.to(advance().span)
                    contiguity = .skipTillAny
                } else {
                    contiguitySpan = t.span
                    contiguity = .skipTillNext
                }
            } else if let t = accept(.next) {
                contiguitySpan = t.span
                contiguity = .strict
            } else {
                break
            }
        }
        return steps.isEmpty ? nil : Pattern(keyword: keyword, steps: steps)
    }

    private mutating func parseStep(_ contiguity: Contiguity, _ contiguitySpan: Span?) -> Step? {
        let start = current.span
        let negation = accept(.not)?.span
        var label: Identifier? = nil
        let body: StepBody
        if check(.lparen), peek(1).kind == .identifier, peek(2).kind == .punct(.colon) {
            body = parseAlternatives()
        } else {
            if current.kind == .identifier, peek(1).kind == .punct(.colon), case .string(let name) = current.value {
                label = Identifier(name: name, span: advance().span)
                advance()
            }
            if isAtEnd || isStepTerminator(current) {
                expected("a condition for the step")
                return nil
            }
            let stream = parseStepStream()
            body = .predicate(stream: stream, parseExpression(inStep: true))
        }
        let quantifier = parseQuantifier()
        var until: Expr? = nil
        if accept(.until) != nil { until = parseExpression(inStep: true) }
        return Step(contiguity: contiguity, contiguitySpan: contiguitySpan, negation: negation, label: label,
                    body: body, quantifier: quantifier, until: until, span: start.to(previousSpan))
    }

    /// `payments where ...`: a step on another stream of the same key.
    private mutating func parseStepStream() -> Identifier? {
        guard current.kind == .identifier, isWord(peek(1), "where"), case .string(let name) = current.value else { return nil }
        let id = Identifier(name: name, span: advance().span)
        advance()
        return id
    }

    private mutating func parseAlternatives() -> StepBody {
        let open = advance()
        var alternatives: [Alternative] = []
        repeat {
            guard let label = expectIdentifier("an alternative's name") else { break }
            guard expect(.colon) != nil else { break }
            let stream = parseStepStream()
            let predicate = parseExpression(inStep: true, inAlternatives: true)
            alternatives.append(Alternative(label: label, stream: stream, predicate: predicate))
        } while accept(.or) != nil
        if accept(.rparen) == nil {
            expected("`or` or `)`", secondary: [Label(open.span, "unclosed delimiter")])
        }
        return .alternatives(alternatives, span: open.span.to(previousSpan))
    }

    /// Tokens that end a step's condition.
    func isStepTerminator(_ t: Token) -> Bool {
        switch t.kind {
        case .keyword(.then), .keyword(.next), .keyword(.within), .keyword(.until), .endOfFile: true
        default: false
        }
    }

    private mutating func parseQuantifier() -> Quantifier? {
        let t = current
        switch t.kind {
        case .punct(.question): advance(); return Quantifier(min: 0, max: 1, span: t.span)
        case .punct(.star): advance(); return Quantifier(min: 0, max: nil, span: t.span)
        case .punct(.plus): advance(); return Quantifier(min: 1, max: nil, span: t.span)
        case .punct(.lbrace): break
        default: return nil
        }
        advance()
        guard let min = expectCount() else { return nil }
        var max: Int64? = min
        if accept(.comma) != nil {
            if check(.rbrace) {
                max = nil
            } else if current.kind == .integer {
                max = expectCount()
            } else {
                expected("a count or `}`", secondary: [Label(t.span, "unclosed delimiter")])
                return nil
            }
        }
        if accept(.rbrace) == nil {
            expected("`}` to close the quantifier", secondary: [Label(t.span, "unclosed delimiter")])
            return nil
        }
        return Quantifier(min: min, max: max, span: t.span.to(previousSpan))
    }

    private mutating func expectCount() -> Int64? {
        guard current.kind == .integer, case .integer(let n) = current.value else {
            if current.kind == .integer {
                advance()  // too large, already reported; read on as the largest count
                return Int64.max
            }
            expected("a count")
            return nil
        }
        advance()
        return n
    }
}
