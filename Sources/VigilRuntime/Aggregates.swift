/// Aggregates over the events a step bound (`avg(small.amount)`), folded with the same
/// accumulators as windows and sessions, so both have one semantics.
public enum Aggregates {
    public static func apply(_ function: String, _ events: [Event], slot: Int, type: FieldType) -> Value {
        var acc = Accumulator.start(function, type: type)
        for e in events { acc.add(e.values[slot], ts: e.ts, origin: e.origin) }
        return acc.result
    }
}
