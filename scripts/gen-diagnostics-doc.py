#!/usr/bin/env python3
"""Writes docs/diagnostics.md: every diagnostic code, what it means, and an example
taken from the golden tests (Tests/VigilLanguageTests/Diagnostics). Run it after
re-blessing goldens or adding a code; a test fails when a code has no section."""
import os, re, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cases = os.path.join(root, "Tests/VigilLanguageTests/Diagnostics")

EXPLAIN = {
 "V0001": ("invalid UTF-8", "Rule files are UTF-8 text. The first byte that is not part of well-formed UTF-8 is reported and the rest of the file is not read."),
 "V0002": ("unexpected character", "A character that has no meaning in the language (including control characters such as NUL). A run of such characters is reported once."),
 "V0003": ("unterminated string", "A string must close with `\"` on the same line."),
 "V0004": ("unterminated regex", "A regex literal after `matches` must close with `/` on the same line; write `\\/` for a slash inside it."),
 "V0005": ("unknown escape sequence", "Strings accept `\\n`, `\\t`, `\\r`, `\\\"`, `\\\\`, `\\{` and `\\}`."),
 "V0006": ("integer literal too large", "Integers are 64-bit signed."),
 "V0007": ("unknown duration unit", "Durations are a whole number glued to one of `ms`, `s`, `m`, `h`, `d`."),
 "V0008": ("duration too large", "Durations are held in milliseconds in 64 bits."),
 "V0009": ("malformed number", "A duration must be a whole number of its unit; use a smaller unit instead of a fraction."),
 "V0010": ("empty file", "A rule file must declare at least one stream, reference table, rule, flow or aggregate."),
 "V0101": ("expected a token", "The parser expected something else here. It reports the error, skips to the next clause or declaration that starts a line, and carries on, so every error of a file is reported in one pass."),
 "V0102": ("expected a declaration", "At the top level a file holds only `stream`, `reference`, `rule`, `flow` and `aggregate`."),
 "V0103": ("unknown clause", "The word is not a clause of this kind of declaration. The help lists the clauses it takes, or the closest one."),
 "V0104": ("duplicate clause", "A clause that may appear once was given twice. `where`, `enrich`, `expect` and `tags` may repeat."),
 "V0105": ("nesting too deep", "Parentheses, function calls and prefix operators may nest at most 128 levels; deeper input is refused instead of exhausting the stack."),
 "V0106": ("unclosed delimiter", "A `(` (or `{` of a quantifier) is never closed; the label shows where the `)` was expected."),
 "V0107": ("unexpected closing delimiter", "A `)`, `}` or `]` with no matching opener."),
 "V0108": ("reserved word", "`and`, `or`, `not`, `in`, `is`, `matches`, `then`, `next`, `within`, `until`, `true`, `false` and `null` are reserved and cannot name anything. Other keywords are contextual: a field may be called `type`, `severity` or `window`."),
 "V0109": ("duration without unit", "A duration needs a unit: `10s`, not `10`."),
 "V0110": ("chained comparison", "`a < b < c` is not allowed; write `a < b and b < c`."),
 "V0111": ("unknown skip strategy", "The after-match skip strategies are `no skip`, `skip to next`, `skip past last`, `skip to first STEP` and `skip to last STEP`."),
 "V0112": ("invalid message template", "Placeholders in alert messages are `{expression}`; write `\\{` and `\\}` for literal braces."),
 "V0113": ("missing clause", "A required clause is missing: every stream needs `time` and `fields`; every rule needs `from` and one of `match`, `session`, `window`; a flow needs `into`; an aggregate needs `window` or `session`, `select` and `into`; a reference table needs `from`, `key` and `fields`."),
 "V0201": ("unknown stream", "`from` or a step names a stream that is not declared in any file of the rule set."),
 "V0202": ("unknown field", "The name is not a field of the stream (or step, or reference table) in scope."),
 "V0203": ("unknown step", "A skip strategy names a step that the pattern does not have."),
 "V0204": ("unknown reference table", "`enrich with` names a reference table that is not declared."),
 "V0205": ("duplicate name", "Streams and reference tables share one namespace; rules, flows and aggregates another. Expectations of one flow need distinct names too."),
 "V0206": ("duplicate field", "A field is declared twice in one `fields` block."),
 "V0207": ("duplicate step", "Two steps (or alternatives) of one pattern have the same name."),
 "V0208": ("reference to a later step", "A step's condition can only use steps before it: the later ones are not bound yet when it is evaluated."),
 "V0209": ("step refers to itself", "Inside a step, the current event's fields are in scope by name; the step's own name is not."),
 "V0210": ("reference to a negated step", "A `not` step never binds an event, so nothing can refer to it."),
 "V0211": ("quantified step used as one event", "A step with a quantifier such as `{3,}` or `+` binds several events: pick one with `.first` / `.last`, or aggregate them (`count(x)`, `avg(x.amount)`)."),
 "V0212": ("unknown function", "The function is not built in. See docs/language.md for the list."),
 "V0213": ("wrong number of arguments", "The function takes a different number of arguments."),
 "V0214": ("unknown type", "Field types are `string`, `int`, `double`, `bool`, `timestamp` and `duration`."),
 "V0215": ("unknown severity", "Severities are `info`, `low`, `medium`, `high` and `critical`."),
 "V0216": ("field without a single value", "In an alert message, `select` or `having` of a pattern, window or session, only the key has one value per output. Name a step (`big.amount`) or use an aggregate (`last(ip)`)."),
 "V0217": ("unknown column", "`merge on` / `scd2 on` must name columns the declaration writes."),
 "V0218": ("duplicate column", "Two `select` items produce the same column name."),
 "V0219": ("missing key", "A rule or aggregate needs a key: `by FIELD` or the stream's `key`. A step on another stream needs that stream to declare a key."),
 "V0220": ("table written twice", "Each table has one writer in a rule set."),
 "V0301": ("mismatched types", "Both sides of a comparison must have the same type; `int` and `double` mix (the int is promoted)."),
 "V0302": ("invalid operand", "The operator is not defined for these types (for example arithmetic on strings, or `<` on booleans)."),
 "V0303": ("not a condition", "Steps, `where`, `having`, `expect` and `until` need a boolean expression."),
 "V0304": ("argument type", "A function argument has the wrong type."),
 "V0305": ("comparison with null", "`x == null` is never true (a comparison with a missing value is false, as in SQL). Use `x is null` / `x is not null`."),
 "V0306": ("aggregate not allowed", "Aggregates work over a window, a session, or the events a quantified step bound; not in a flow or inside another aggregate."),
 "V0307": ("time field type", "The `time` field must be declared `timestamp` (events may carry epoch milliseconds or RFC 3339 text)."),
 "V0308": ("key type mismatch", "A step on another stream, or an `enrich ... on` join, compares keys: their types must agree."),
 "V0401": ("trailing `not` without `within`", "A pattern that ends in `not` fires when the window passes with no such event; without `within` that moment never comes."),
 "V0402": ("impossible quantifier", "In `{n,m}`, n must not exceed m."),
 "V0403": ("empty quantifier", "`{0}` matches nothing; to forbid an event, use a `not` step."),
 "V0404": ("non-positive duration", "`within`, session gaps, window sizes, hops, suppression periods and idle timeouts must be longer than zero."),
 "V0405": ("`until` without repetition", "`until` ends a repeated step; the step needs a quantifier whose maximum is above one."),
 "V0406": ("conflicting clauses", "A rule is a pattern (`match`), a session rule or a window rule, not two at once."),
 "V0407": ("clause does not apply", "The clause has no meaning for this kind of rule: `within` and `after match` belong to patterns, `having` to windows and sessions, `suppress` to rules that alert."),
 "V0408": ("misplaced `not` step", "A pattern cannot start with `not`, a `not` step cannot be quantified, and `then any` cannot introduce it."),
 "V0409": ("pattern matches nothing", "Every step is optional, so a match could bind no event."),
 "V0410": ("hop longer than window", "With `window hopping SIZE every HOP`, HOP must not exceed SIZE, or events between windows would be counted in none."),
 "V0411": ("rule without output", "A rule must `alert` or write `into table`."),
 "V0412": ("optional last step", "A match completes as soon as its last step holds its minimum of events; a last step with minimum 0 (`?`, `*`, `{0,n}`) would never bind one."),
    "V0413": ("suppress by a non-key field in a window", "A window or session alert stands for a group of events, so only the key has one value per alert; `suppress ... by` in such a rule may name key fields only."),
 "V0501": ("invalid regex", "PCRE2 rejected the pattern; the caret points where PCRE2 stopped. Regexes are compiled (and JIT-compiled) once, when the rules load."),
 "V0502": ("unknown regex flag", "Regex flags are `i`, `m`, `s` and `x`."),
 "V0601": ("invalid table name", "Tables are named `LAYER.NAME` (`silver.payments`) and stored under `<lake>/LAYER/NAME`."),
 "V0602": ("unknown expectation action", "A failed expectation can `warn`, `drop`, `quarantine` or `fail`."),
 "V0603": ("select needs a name", "A computed `select` item needs `as NAME`; a plain field is named after itself (`process.name` becomes `process_name`)."),
 "V0901": ("unused stream (warning)", "No rule, flow or aggregate reads the stream. Not reported when a file has syntax errors, since a use may have been lost."),
 "V0902": ("unused reference table (warning)", "No flow enriches with the table."),
}

blocks = {}
for name in sorted(os.listdir(cases)):
    if not name.endswith(".stderr"):
        continue
    text = open(os.path.join(cases, name), encoding="utf-8").read()
    for block in re.split(r"\n\n(?=(?:error|warning)\[)", text.strip("\n")):
        m = re.match(r"(?:error|warning)\[(V\d{4})\]", block)
        if m and m.group(1) not in blocks:
            blocks[m.group(1)] = (name[:-7], block.strip("\n"))

out = ["# Diagnostics", "",
       "Every error and warning `vigil check` can report, with an example taken from the",
       "golden tests in `Tests/VigilLanguageTests/Diagnostics/` (the case file is named",
       "after each example). Errors make `vigil check` exit 1; warnings alone exit 0.",
       "`vigil check --format json` prints the same diagnostics as JSON objects with",
       "`file`, `line`, `column`, `end_line`, `end_column`, `severity`, `code`,",
       "`message` and, when present, `label`, `notes` and `help`.", "",
       "Messages follow rustc's style: lowercase, no trailing period, the narrowest span,",
       "the fix in a `help:` line. Generated by `scripts/gen-diagnostics-doc.py`.", ""]
missing = []
for code, (title, explain) in EXPLAIN.items():
    out += [f"## {code}: {title}", "", explain, ""]
    if code in blocks:
        case, block = blocks[code]
        out += [f"Example (`{case}.vigil`):", "", "```text", block, "```", ""]
    else:
        missing.append(code)
open(os.path.join(root, "docs/diagnostics.md"), "w", encoding="utf-8").write("\n".join(out))
if missing:
    print("no golden example for:", " ".join(missing), file=sys.stderr)
    sys.exit(1)
