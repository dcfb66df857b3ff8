/// The events a partial match has bound, in the order they were bound.
public struct BoundEvents: Sendable, Codable {
    public struct Entry: Sendable, Codable {
        public var binding: Int32
        public var event: Event
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    mutating func append(_ binding: Int, _ event: Event) {
        entries.append(Entry(binding: Int32(binding), event: event))
    }

    /// The first or last event bound under `binding`.
    public func event(_ binding: Int, last: Bool) -> Event? {
        if last {
            return entries.last { $0.binding == binding }?.event
        }
        return entries.first { $0.binding == binding }?.event
    }

    /// Every event bound under `binding`, in order.
    public func events(_ binding: Int) -> [Event] {
        entries.compactMap { $0.binding == binding ? $0.event : nil }
    }

    public func count(_ binding: Int) -> Int {
        entries.reduce(0) { $0 + ($1.binding == binding ? 1 : 0) }
    }

    public var last: Event? { entries.last?.event }
}

extension BoundEvents {
    /// Appends a binding; for benchmarks and tests that build contexts by hand.
    public mutating func appendForBenchmark(_ binding: Int, _ event: Event) {
        append(binding, event)
    }
}
