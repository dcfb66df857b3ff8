import Foundation
import VigilConnectors
import VigilRuntime

/// Routes each alert to its channels: every route whose `when` matches adds its
/// channels; an alert no route matches goes to the default channel, so none is ever
/// dropped. Channels keep order per channel.
public final class Dispatcher {
    public let channels: [AlertChannel]
    let routes: [DispatchConfig.Route]
    /// For each route, the indices of its channels.
    let targets: [[Int]]
    let fallback: Int
    private var counts: [Int]

    /// Alerts sent per channel, for the summary.
    public var sent: [String: Int] {
        Dictionary(zip(channels.map(\.name), counts).filter { $0.1 > 0 }, uniquingKeysWith: +)
    }

    /// `fallback`: where alerts that match no route go (the only channel without a config).
    public init(channels: [AlertChannel], routes: [DispatchConfig.Route], fallback: AlertChannel) {
        var all = channels
        if !all.contains(where: { $0 === fallback }) { all.append(fallback) }
        self.channels = all
        self.routes = routes
        self.fallback = all.firstIndex { $0 === fallback }!
        let index = Dictionary(all.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.targets = routes.map { $0.to.compactMap { index[$0] } }
        self.counts = Array(repeating: 0, count: all.count)
    }

    public func send(_ a: DispatchAlert) {
        // Without routes every alert has one destination: no work per alert beyond it.
        if routes.isEmpty {
            channels[fallback].send(a)
            counts[fallback] += 1
            return
        }
        var chosen: [Int] = []
        for (r, route) in routes.enumerated() where route.matches(a) {
            for c in targets[r] where !chosen.contains(c) { chosen.append(c) }
        }
        if chosen.isEmpty { chosen = [fallback] }
        for c in chosen {
            channels[c].send(a)
            counts[c] += 1
        }
    }

    /// `send(DispatchAlert(alert, streams:, matched:))` for an alert lent: without
    /// routes, its one channel writes it from the loan (no copy of the alert).
    public func send(lent alert: borrowing Alert, streams: [StreamSchema], matched: DispatchAlert.Matched) {
        guard routes.isEmpty else { return send(DispatchAlert(copy alert, streams: streams, matched: matched)) }
        channels[fallback].send(lent: alert, streams: streams, matched: matched)
        counts[fallback] += 1
    }

    public func flush() { channels.forEach { $0.flush() } }

    /// Waits up to `timeout` seconds for every channel to deliver what it holds (or
    /// until `stop` says so); true when nothing is left.
    public func drain(timeout: Double, stop: () -> Bool = { false }) -> Bool {
        flush()
        let until = Date().addingTimeInterval(timeout)
        while channels.contains(where: { $0.pending > 0 }) {
            if Date() >= until || stop() { return false }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return true
    }

    public var pending: Bool { channels.contains { $0.pending > 0 } }

    public func close() { channels.forEach { $0.close() } }
}
