import Foundation
import VigilRuntime

/// Follows live inputs (stdin, pipes, FIFOs) concurrently: one reader thread per input
/// decodes lines and queues them; the caller takes them in arrival order and learns
/// when nothing arrived for a while, which is how idle timeouts are measured.
///
/// Files are not read here: replaying files stays sequential and deterministic.
public final class LiveFeed: @unchecked Sendable {
    public enum Next {
        /// Items in arrival order, each with the index of the source it came from and,
        /// for events, the original line (for a late-event record).
        case items([(source: Int, item: EventSource.Item, raw: [UInt8])])
        /// The timeout passed with nothing new.
        case quiet
        /// Every input reached its end.
        case finished
        /// An input could not be read.
        case failed(String)
    }

    /// Readers wait when this many items are queued (backpressure, bounded memory).
    static let capacity = 10_000

    private let condition = NSCondition()
    private var queue: [(source: Int, item: EventSource.Item, raw: [UInt8])] = []
    private var running: Int
    private var failure: String?

    /// Starts one reader thread per source.
    public init(sources: [EventSource], schemas: [StreamSchema]) {
        running = sources.count
        for (i, source) in sources.enumerated() {
            let thread = Thread { [self] in
                do {
                    try source.read(schemas: schemas) { item, line in
                        var raw: [UInt8] = []
                        if case .event = item { raw = Array(line) }
                        condition.lock()
                        while queue.count >= Self.capacity { condition.wait() }
                        queue.append((i, item, raw))
                        condition.broadcast()
                        condition.unlock()
                    }
                } catch {
                    condition.lock()
                    failure = failure ?? "\(error)"
                    condition.unlock()
                }
                condition.lock()
                running -= 1
                condition.broadcast()
                condition.unlock()
            }
            thread.start()
        }
    }

    /// Waits up to `timeout` seconds (nil: until something happens) for items.
    public func next(timeout: Double?) -> Next {
        condition.lock()
        defer { condition.unlock() }
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        while queue.isEmpty && running > 0 && failure == nil {
            if let deadline {
                if !condition.wait(until: deadline) { return .quiet }
            } else {
                condition.wait()
            }
        }
        if let failure { return .failed(failure) }
        if queue.isEmpty { return .finished }
        let batch = queue
        queue.removeAll(keepingCapacity: true)
        condition.broadcast()
        return .items(batch)
    }
}
