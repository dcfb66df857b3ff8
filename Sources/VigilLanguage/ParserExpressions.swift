/// Expressions, by precedence climbing: or < and < not < comparison < additive <
/// multiplicative < unary minus < primary.
extension Parser {
    /// Parses one expression. In a step (`inStep`), a trailing `+`, `*` or `?` is the
    /// step's quantifier, not an operator: `+`/`*` count as quantifiers when what follows
    /// cannot continue the expression (a new line, `then`, `within`, `until`, `)`, ...).
    mutating func parseExpression(inStep: Bool = false, inAlternatives: Bool = false) -> Expr {
        let saved = context
        context = ExpressionContext(inStep: inStep, inAlternatives: inAlternatives)
        defer { context = saved }
        return parseOr()
    }

    private mutating func errorExpr() -> Expr { Expr(kind: .error, span: current.span) }

    private mutating func parseOr() -> Expr {
        var lhs = parseAnd()
        while check(.or) {
            // `or NAME:` inside `( ... )` starts the next alternative.
            if context.inAlternatives, peek(1).kind == .identifier, peek(2).kind == .punct(.colon) { break }
            advance()
            let rhs = parseAnd()
            lhs = Expr(kind: .binary(.or, lhs, rhs), span: lhs.span.to(rhs.span))
        }
        return lhs
    }

    private mutating func parseAnd() -> Expr {
        var lhs = parseNot()
        while accept(.and) != nil {
            let rhs = parseNot()
            lhs = Expr(kind: .binary(.and, lhs, rhs), span: lhs.span.to(rhs.span))
        }
        return lhs
    }

    private mutating func parseNot() -> Expr {
        if let t = accept(.not) {
            guard enter() else { return errorExpr() }
            defer { leave() }
            let operand = parseNot()
            return Expr(kind: .unary(.not, operand), span: t.span.to(operand.span))
        }
        return parseComparison()
    }

    private mutating func parseComparison() -> Expr {
        let lhs = parseAdditive()
        let ops: [Punct: BinaryOperator] = [.eq: .eq, .ne: .ne, .lt: .lt, .le: .le, .gt: .gt, .ge: .ge]
        if case .punct(let p) = current.kind, let op = ops[p] {
            advance()
            let rhs = parseAdditive()
            let e = Expr(kind: .binary(op, lhs, rhs), span: lhs.span.to(rhs.span))
            if case .punct(let p2) = current.kind, ops[p2] != nil {
                error(Diagnostic(.chainedComparison, "comparisons cannot be chained", at: current.span,
                                 help: "combine them with `and`: `a < b and b < c`"))
            }
            return e
        }
        if check(.assign) {
            error(Diagnostic(.expectedToken, "`=` is not a comparison", at: current.span,
                             help: "use `==` to compare"))
            advance()
            // Read on as `==` so the mistake is reported once.
            let rhs = parseAdditive()
            return Expr(kind: .binary(.eq, lhs, rhs), span: lhs.span.to(rhs.span))
        }
        if check(.in) || (check(.not) && peek(1).kind == .keyword(.in)) {
            let negated = accept(.not) != nil
            advance()
            guard let open = expect(.lparen, "`(` and a list of values") else { return lhs }
            var items: [Expr] = []
            if !check(.rparen) {
                repeat { items.append(parseAdditive()) } while accept(.comma) != nil && !recovering
            }
            if accept(.rparen) == nil {
                expected("`,` or `)`", secondary: [Label(open.span, "unclosed delimiter")])
            }
            return Expr(kind: .inList(lhs, items, negated: negated), span: lhs.span.to(previousSpan))
        }
        if accept(.is) != nil {
            let negated = accept(.not) != nil
            guard accept(.null) != nil else {
                expected("`null`", help: "`is` only tests for null: `x is null`, `x is not null`")
                return lhs
            }
            return Expr(kind: .isNull(lhs, negated: negated), span: lhs.span.to(previousSpan))
        }
        if accept(.matches) != nil {
            guard current.kind == .regex, case .regex(let pattern, let flags, let start) = current.value else {
                expected("a regex literal like `/^acme/i`")
                return lhs
            }
            let t = advance()
            let regex = RegexLiteral(pattern: pattern, flags: flags, span: t.span, patternStart: start)
            return Expr(kind: .matches(lhs, regex), span: lhs.span.to(t.span))
        }
        return lhs
    }

    /// In a step, `+` or `*` followed by something that cannot start an operand on the
    /// same line is the step's quantifier.
    private mutating func isTrailingQuantifier() -> Bool {
        guard context.inStep else { return false }
        let next = peek(1)
        if next.startsLine || isStepTerminator(next) { return true }
        switch next.kind {
        case .punct(.rparen), .punct(.lbrace), .keyword(.or), .keyword(.and): return true
        default: return false
        }
    }

    private mutating func parseAdditive() -> Expr {
        var lhs = parseMultiplicative()
        while true {
            let op: BinaryOperator
            if check(.plus) { op = .add } else if check(.minus) { op = .subtract } else { break }
            if op == .add && isTrailingQuantifier() { break }
            advance()
            let rhs = parseMultiplicative()
            lhs = Expr(kind: .binary(op, lhs, rhs), span: lhs.span.to(rhs.span))
        }
        return lhs
    }

    private mutating func parseMultiplicative() -> Expr {
        var lhs = parseUnary()
        while true {
            let op: BinaryOperator
            if check(.star) { op = .multiply } else if check(.slash) { op = .divide }
            else if check(.percent) { op = .remainder } else { break }
            if op == .multiply && isTrailingQuantifier() { break }
            advance()
            let rhs = parseUnary()
            lhs = Expr(kind: .binary(op, lhs, rhs), span: lhs.span.to(rhs.span))
        }
        return lhs
    }

    private mutating func parseUnary() -> Expr {
        if let t = accept(.minus) {
            guard enter() else { return errorExpr() }
            defer { leave() }
            let operand = parseUnary()
            return Expr(kind: .unary(.negate, operand), span: t.span.to(operand.span))
        }
        return parsePrimary()
    }

    private mutating func parsePrimary() -> Expr {
        let t = current
        switch (t.kind, t.value) {
        case (.integer, .integer(let n)): advance(); return Expr(kind: .integer(n), span: t.span)
        case (.double, .double(let d)): advance(); return Expr(kind: .double(d), span: t.span)
        case (.duration, .duration(let ms)): advance(); return Expr(kind: .duration(ms), span: t.span)
        case (.string, .string(let s)): advance(); return Expr(kind: .string(s), span: t.span)
        case (.keyword(.true), _): advance(); return Expr(kind: .bool(true), span: t.span)
        case (.keyword(.false), _): advance(); return Expr(kind: .bool(false), span: t.span)
        case (.keyword(.null), _): advance(); return Expr(kind: .null, span: t.span)
        case (.identifier, .string(let name)):
            advance()
            let id = Identifier(name: name, span: t.span)
            if check(.lparen) { return parseCall(id) }
            var segments = [id]
            while check(.dot) {
                advance()
                guard let next = expectIdentifier("a field name after `.`") else { break }
                segments.append(next)
            }
            return Expr(kind: .path(Path(segments: segments)), span: t.span.to(previousSpan))
        case (.punct(.lparen), _):
            advance()
            guard enter() else { return errorExpr() }
            defer { leave() }
            let saved = context
            context = ExpressionContext(inStep: false, inAlternatives: false)
            let inner = parseOr()
            context = saved
            if accept(.rparen) == nil {
                if !recovering {
                    error(Diagnostic(.unclosedDelimiter, "unclosed delimiter `(`", at: t.span,
                                     label: "this `(` is never closed",
                                     secondary: [Label(current.span, "expected `)` before \(describe(current))")]))
                }
                return Expr(kind: inner.kind, span: t.span.to(previousSpan))
            }
            return Expr(kind: inner.kind, span: t.span.to(previousSpan))
        case (.regex, _):
            error(Diagnostic(.expectedToken, "a regex literal can only follow `matches`", at: t.span))
            advance()
            return Expr(kind: .error, span: t.span)
        case (.integer, _), (.duration, _):
            advance()  // a malformed literal, already reported by the lexer
            return Expr(kind: .error, span: t.span)
        default:
            expected("an expression")
            return Expr(kind: .error, span: t.span)
        }
    }

    private mutating func parseCall(_ name: Identifier) -> Expr {
        let open = advance()
        guard enter() else { return errorExpr() }
        defer { leave() }
        var args: [Expr] = []
        let saved = context
        context = ExpressionContext(inStep: false, inAlternatives: false)
        if !check(.rparen) {
            repeat { args.append(parseOr()) } while accept(.comma) != nil && !recovering
        }
        context = saved
        if accept(.rparen) == nil, !recovering {
            error(Diagnostic(.unclosedDelimiter, "unclosed delimiter `(`", at: open.span,
                             label: "this `(` is never closed",
                             secondary: [Label(current.span, "expected `,` or `)` before \(describe(current))")]))
        }
        return Expr(kind: .call(name, args), span: name.span.to(previousSpan))
    }
}

/// Where an expression is being parsed; decides what trailing `+`, `*` and `or` mean.
struct ExpressionContext {
    var inStep = false
    var inAlternatives = false
}
