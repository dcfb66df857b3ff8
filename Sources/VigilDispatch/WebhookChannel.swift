import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VigilConnectors
import VigilRuntime
import VigilText

/// An HTTP webhook. Alerts are spooled to disk first (`send` never waits on the
/// network) and a worker thread delivers them in order, one POST each with the alert's
/// id as `Idempotency-Key`. Transient failures (5xx, 408, 429, timeouts, refused or
/// reset connections) are retried with capped exponential backoff and jitter for as long
/// as it takes; any other 4xx is permanent and the alert goes to the dead-letter output
/// with the reason. Delivery is at least once: a receiver deduplicates by id.
public final class WebhookChannel: AlertChannel, @unchecked Sendable {
    public let name: String
    let spec: DispatchConfig.WebhookSpec
    let spool: Spool
    let deadLetter: @Sendable (String) -> Void
    let client: HTTPClient
    let retryBase: Double
    let retryCap: Double
    private var worker: Thread?
    private let state = NSCondition()
    private var stopping = false
    private var stopped = false
    /// Counters for the summary.
    public private(set) var delivered = 0
    public private(set) var retries = 0
    public private(set) var deadLettered = 0

    /// `deadLetter` receives one JSON line per permanently refused alert.
    public init(name: String, spec: DispatchConfig.WebhookSpec, spoolDir: String, retryBaseMs: Int64 = 200,
                retryCapMs: Int64 = 30_000, deadLetter: @escaping @Sendable (String) -> Void) throws(VigilConnectors.IOError) {
        self.name = name
        self.spec = spec
        self.spool = try Spool(dir: spoolDir, name: name)
        self.deadLetter = deadLetter
        self.client = HTTPClient(eventLoopGroupProvider: .singleton)
        self.retryBase = Double(retryBaseMs) / 1000
        self.retryCap = Double(retryCapMs) / 1000
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "vigil-webhook-\(name)"
        worker = thread
        thread.start()
    }

    public func send(_ a: DispatchAlert) { spool.append(a.line) }

    public func flush() { spool.sync() }

    /// Spooled bytes not yet delivered.
    public var pending: Int { Int(max(0, spool.pendingBytes)) }

    public func close() {
        spool.sync()
        state.lock()
        stopping = true
        state.unlock()
        spool.close()
        // Shutting the client down fails a request in flight, so the worker stops now
        // (that alert stays spooled) instead of after the request's timeout.
        try? client.syncShutdown()
        state.lock()
        while !stopped { _ = state.wait(until: Date().addingTimeInterval(0.05)) }
        state.unlock()
    }

    private var isStopping: Bool {
        state.lock()
        defer { state.unlock() }
        return stopping
    }

    private func run() {
        var cursor = spool.acked
        while !isStopping {
            guard let (line, next) = spool.line(at: cursor, timeout: 0.1) else { continue }
            guard deliver(line) else { break }
            cursor = spool.ack(next)
        }
        state.lock()
        stopped = true
        state.broadcast()
        state.unlock()
    }

    /// Delivers one alert, retrying transient failures; false when stopped first (the
    /// alert stays spooled).
    private func deliver(_ line: [UInt8]) -> Bool {
        var attempt = 0
        while true {
            let outcome = post(line)
            switch outcome {
            case .delivered:
                delivered += 1
                return true
            case .refused(let reason):
                deadLettered += 1
                deadLetter("{\"channel\":\(jsonQuote(name)),\"reason\":\(jsonQuote(reason)),\"alert\":\(String(decoding: line, as: UTF8.self))}")
                return true
            case .transient:
                retries += 1
                attempt += 1
                let delay = min(retryCap, retryBase * pow(2, Double(min(attempt - 1, 30)))) * Double.random(in: 0.5...1.0)
                let until = Date().addingTimeInterval(delay)
                while Date() < until {
                    if isStopping { return false }
                    Thread.sleep(forTimeInterval: min(0.05, max(0, until.timeIntervalSinceNow)))
                }
            }
        }
    }

    enum Outcome {
        case delivered
        case refused(String)
        case transient(String)
    }

    private func post(_ line: [UInt8]) -> Outcome {
        let id = Self.field("id", in: line) ?? ""
        do {
            var request = try HTTPClient.Request(url: spec.url, method: .POST)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Idempotency-Key", value: id)
            for (k, v) in spec.headers { request.headers.add(name: k, value: v) }
            request.body = .bytes(Array(Self.payload(line, template: spec.template, processedAt: Date()).utf8))
            let response = try client.execute(request: request, deadline: .now() + .milliseconds(spec.timeoutMs)).wait()
            let code = Int(response.status.code)
            if (200..<300).contains(code) { return .delivered }
            if code >= 500 || code == 408 || code == 429 { return .transient("HTTP \(code)") }
            return .refused("HTTP \(code) \(response.status.reasonPhrase)")
        } catch {
            // Timeouts, refused and reset connections: the receiver may come back.
            return .transient("\(error)")
        }
    }

    /// A top-level string field of an alert line.
    static func field(_ name: String, in line: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { return nil }
        return object[name] as? String
    }

    /// The request body: `generic` is the alert object plus `processed_at` (processing
    /// time, which only payloads and the terminal carry); `slack` a Slack message; any
    /// other text a template with `{{placeholders}}` (strings JSON-quoted).
    public static func payload(_ line: [UInt8], template: String, processedAt: Date) -> String {
        let alert = String(decoding: line, as: UTF8.self)
        let processed = RFC3339.format(Int64(processedAt.timeIntervalSince1970 * 1000))
        let object = (try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]) ?? [:]
        let str = { (k: String) in object[k] as? String ?? "" }
        let key = (object["key"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let detected = (object["detected_at"] as? Int).map { RFC3339.format(Int64($0)) } ?? ""
        switch template {
        case "generic":
            return String(alert.dropLast()) + ",\"processed_at\":\(jsonQuote(processed))}"
        case "slack":
            let text = "[\(str("severity"))] \(str("rule")) \(key): \(str("message")) (detected \(detected))"
            return "{\"text\":\(jsonQuote(text))}"
        default:
            let tags = (object["tags"] as? [String] ?? []).joined(separator: ",")
            let values: [String: String] = [
                "id": jsonQuote(str("id")), "rule": jsonQuote(str("rule")), "severity": jsonQuote(str("severity")),
                "message": jsonQuote(str("message")), "key": jsonQuote(key), "detected_at": jsonQuote(detected),
                "processed_at": jsonQuote(processed), "tags": jsonQuote(tags), "alert": alert,
            ]
            var out = template
            for (k, v) in values { out = out.replacingOccurrences(of: "{{\(k)}}", with: v) }
            return out
        }
    }
}
