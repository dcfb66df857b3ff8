import Foundation
import VigilConnectors
import VigilRuntime

/// Routes each alert to its channels: every route whose `when` matches adds its
/// channels; an alert no route matches goes to the default channel, so none is ever
/// dropped. Channels keep order per channel.
public final class Dispatcher {
    public let channels: [AlertChannel]
    let routes: [DispatchConfig.Route]
    let byName: [String: AlertChannel]
    let fallback: AlertChannel
    /// Alerts sent per channel, for the summary.
    public private(set) var sent: [String: Int] = [:]

    /// `fallback`: where alerts that match no route go (the only channel without a config).
    public init(channels: [AlertChannel], routes: [DispatchConfig.Route], fallback: AlertChannel) {
        var all = channels
        if !all.contains(where: { $0 === fallback }) { all.append(fallback) }
        self.channels = all
        self.routes = routes
        self.fallback = fallback
        self.byName = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func send(_ a: DispatchAlert) {
        var targets: [AlertChannel] = []
        for r in routes where r.matches(a) {
            for name in r.to {
                if let c = byName[name], !targets.contains(where: { $0 === c }) { targets.append(c) }
            }
        }
        if targets.isEmpty { targets = [fallback] }
        for c in targets {
            c.send(a)
            sent[c.name, default: 0] += 1
        }
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
