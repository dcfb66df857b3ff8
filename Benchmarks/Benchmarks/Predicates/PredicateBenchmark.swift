import Benchmark
import VigilCompiler
import VigilLanguage
import VigilRuntime

/// Closures or a small bytecode for compiled predicates? Both evaluate Q2's three
/// conditions over the same 100,000 events; the engine uses whichever wins here
/// (docs/performance.md records the result).
///
/// The bytecode is a minimal stack machine over `Value`s, the obvious alternative:
/// load a slot, load a constant, compare, and short-circuit `and`.
enum Op {
    case slot(Int)
    case const(Value)
    case bindingSlot(Int)   // the first step's event (a.country)
    case eq, ne, lt, gt
    case jumpIfFalse(Int)   // for `and`: leave false and jump to the end
    case pop
}

func run(_ code: [Op], _ event: Event, _ first: Event) -> Bool {
    var stack: [Value] = []
    stack.reserveCapacity(8)
    var pc = 0
    while pc < code.count {
        switch code[pc] {
        case .slot(let i): stack.append(event.values[i])
        case .bindingSlot(let i): stack.append(first.values[i])
        case .const(let v): stack.append(v)
        case .eq, .ne, .lt, .gt:
            let b = stack.removeLast(), a = stack.removeLast()
            let c = ValueOps.compare(a, b)
            let r: Bool
            switch code[pc] {
            case .eq: r = c == 0
            case .ne: r = c.map { $0 != 0 } ?? false
            case .lt: r = c.map { $0 < 0 } ?? false
            default: r = c.map { $0 > 0 } ?? false
            }
            stack.append(.bool(r))
        case .jumpIfFalse(let target):
            if case .bool(false) = stack.last! { pc = target; continue }
        case .pop: stack.removeLast()
        }
        pc += 1
    }
    return stack.last?.isTrue ?? false
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(5)
    // Slots: ts 0, user 1, type 2, amount 3, country 4, merchant 5 (workload/q2.vigil).
    var events: [Event] = []
    var state: UInt64 = 42
    for i in 0..<100_000 {
        state = state &* 6364136223846793005 &+ 1
        let type = ["A", "B", "C", "D", "E"][Int(state >> 60) % 5]
        let amount = Double((state >> 20) % 20000) / 100
        let country = ["US", "GB", "DE", "FR"][Int(state >> 50) % 4]
        events.append(Event(stream: 0, ts: Int64(i), origin: EventOrigin(input: 0, line: Int64(i)),
                            values: [.timestamp(Int64(i)), .string("u"), .string(type), .double(amount), .string(country), .string("m")]))
    }
    let first = events[0]

    // The engine's closures, compiled from the real rule.
    let text = """
        stream events key user time ts fields ts: timestamp, user: string, type: string, amount: double, country: string, merchant: string
        rule q2 from events match a: type == "A" and amount < 10 then b: type == "B" and amount < 10
          then c: type == "C" and amount > 100 and country != a.country within 30m alert "x"
        """
    let program = Compiler.compile(Frontend.check([SourceFile(path: "q2", text: text)]).ruleSet!).program
    let predicates = program.rules[0].pattern.steps.map { $0.alternatives[0].predicate }

    Benchmark("closures: Q2's three predicates x 100k events", configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one)) { _ in
        var hits = 0
        let b = withBinding(BoundEvents(), first)  // the closures read a.country from it
        for e in events {
            let ctx = EvalContext(event: e, bound: b, key: [], detectedAt: 0)
            for p in predicates where p.eval(ctx).isTrue { hits += 1 }
        }
        blackHole(hits)
    }

    let code: [[Op]] = [
        [.slot(2), .const(.string("A")), .eq, .jumpIfFalse(8), .pop, .slot(3), .const(.double(10)), .lt],
        [.slot(2), .const(.string("B")), .eq, .jumpIfFalse(8), .pop, .slot(3), .const(.double(10)), .lt],
        [.slot(2), .const(.string("C")), .eq, .jumpIfFalse(14), .pop, .slot(3), .const(.double(100)), .gt,
         .jumpIfFalse(14), .pop, .slot(4), .bindingSlot(4), .ne],
    ]
    Benchmark("bytecode: Q2's three predicates x 100k events", configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one)) { _ in
        var hits = 0
        for e in events {
            for c in code where run(c, e, first) { hits += 1 }
        }
        blackHole(hits)
    }
}

/// A binding list holding `event` as the first step's event (binding 0).
func withBinding(_ b: BoundEvents, _ event: Event) -> BoundEvents {
    var data = b
    data.appendForBenchmark(0, event)
    return data
}
