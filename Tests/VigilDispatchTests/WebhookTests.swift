import Foundation
import Testing
import VigilDispatch
import VigilRuntime

/// Webhook delivery against a real HTTP server on loopback that returns errors, stalls
/// and drops connections on a schedule: every alert arrives, exactly once after dedup by
/// id, in order per key; permanent refusals are dead-lettered; the spool outlives the
/// process (including `kill -9`).
@Suite(.serialized) struct WebhookTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-webhook-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static let streams = [StreamSchema(name: "s", fields: [.init(name: "k", type: .string), .init(name: "ts", type: .timestamp)],
                                       keySlots: [0], timeSlot: 1, latenessMs: 0, idleTimeoutMs: nil)]

    /// Alert `n` of key `k`.
    static func alert(_ n: Int, key: String) -> DispatchAlert {
        var h = FNV1a()
        h.add("\(key)-\(n)")
        let e = Event(stream: 0, ts: Int64(n), origin: EventOrigin(input: 0, line: Int64(n)), values: [.string(key), .timestamp(Int64(n))])
        return DispatchAlert(Alert(id: h.hex, rule: "r", severity: "high", tags: ["t"], key: [("k", .string(key))],
                                   message: "alert \(n) of \(key)", detectedAt: Int64(n), matched: [("a", [e])]), streams: streams)
    }

    final class Lines: @unchecked Sendable {
        let lock = NSLock()
        var lines: [String] = []
        func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    @Test func everyAlertArrivesOnceAfterDedupInOrderPerKeyDespiteFailures() throws {
        // 503, 429, a stall past the timeout, a dropped connection, 408, 500... then 200s,
        // and again every few requests.
        let schedule: [TestServer.Action] = [.status(503), .status(429), .stall, .drop, .status(408), .status(500), .status(200),
                                             .status(200), .drop, .status(200), .stall, .status(502), .status(200)]
        let server = TestServer { i in i < schedule.count ? schedule[i] : (i % 7 == 3 ? .status(503) : i % 11 == 5 ? .drop : .status(200)) }
        let port = try server.start()
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dead = Lines()
        let hook = try WebhookChannel(name: "hook", spec: .init(url: "http://127.0.0.1:\(port)/alerts", timeoutMs: 300),
                                      spoolDir: dir.path, retryBaseMs: 5, retryCapMs: 40, deadLetter: { dead.add($0) })
        var sent: [DispatchAlert] = []
        for n in 0..<40 {
            let a = Self.alert(n, key: ["u1", "u2", "u3"][n % 3])
            sent.append(a)
            hook.send(a)
        }
        let dispatcher = Dispatcher(channels: [hook], routes: [], fallback: hook)
        #expect(dispatcher.drain(timeout: 60))
        dispatcher.close()
        let ids = server.acceptedIDs
        #expect(Set(ids) == Set(sent.map(\.id)))
        // First deliveries, per key, in the order sent.
        var firstSeen: [String] = []
        for id in ids where !firstSeen.contains(id) { firstSeen.append(id) }
        #expect(firstSeen == sent.map(\.id), "order of first deliveries")
        #expect(hook.retries >= 10 && hook.delivered == 40 && dead.all.isEmpty)
        // Each request carried the alert, its id as Idempotency-Key, and processing time.
        let body = server.requests.last!.body
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        #expect(object?["id"] as? String == server.requests.last!.idempotencyKey && object?["processed_at"] is String)
        #expect(object?["tags"] as? [String] == ["t"])
    }

    @Test func aPermanentRefusalIsDeadLetteredAndTheRestStillArrive() throws {
        let server = TestServer { i in i == 1 ? .status(400) : i == 3 ? .status(404) : .status(200) }
        let port = try server.start()
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dead = Lines()
        let hook = try WebhookChannel(name: "hook", spec: .init(url: "http://127.0.0.1:\(port)/"), spoolDir: dir.path,
                                      retryBaseMs: 5, retryCapMs: 20, deadLetter: { dead.add($0) })
        let alerts = (0..<5).map { Self.alert($0, key: "k") }
        alerts.forEach(hook.send)
        let d = Dispatcher(channels: [hook], routes: [], fallback: hook)
        #expect(d.drain(timeout: 20))
        d.close()
        #expect(server.acceptedIDs == [alerts[0].id, alerts[2].id, alerts[4].id])
        #expect(dead.all.count == 2)
        let record = try JSONSerialization.jsonObject(with: Data(dead.all[0].utf8)) as? [String: Any]
        #expect(record?["channel"] as? String == "hook" && (record?["reason"] as? String)?.hasPrefix("HTTP 400") == true)
        #expect((record?["alert"] as? [String: Any])?["id"] as? String == alerts[1].id)
    }

    @Test func theSpoolKeepsWhatWasNotDeliveredForTheNextStart() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Nothing listens: connection refused, retried until closed.
        let server = TestServer()
        let port = try server.start()
        server.stop()
        let alerts = (0..<10).map { Self.alert($0, key: "k\($0 % 2)") }
        do {
            let hook = try WebhookChannel(name: "hook", spec: .init(url: "http://127.0.0.1:\(port)/"), spoolDir: dir.path,
                                          retryBaseMs: 5, retryCapMs: 20, deadLetter: { _ in })
            alerts.forEach(hook.send)
            let d = Dispatcher(channels: [hook], routes: [], fallback: hook)
            #expect(!d.drain(timeout: 0.5))
            #expect(d.pending)
            d.close()
        }
        // The receiver is back; a new channel on the same spool delivers everything.
        let again = TestServer()
        try again.start(port: port)
        let hook = try WebhookChannel(name: "hook", spec: .init(url: "http://127.0.0.1:\(port)/"), spoolDir: dir.path,
                                      retryBaseMs: 5, retryCapMs: 20, deadLetter: { _ in })
        let d = Dispatcher(channels: [hook], routes: [], fallback: hook)
        #expect(d.drain(timeout: 20))
        d.close()
        #expect(again.acceptedIDs == alerts.map(\.id))
    }

    @Test func payloadTemplates() throws {
        let line = Self.alert(1, key: "u1").line
        let when = Date(timeIntervalSince1970: 1_700_000_000)
        let generic = WebhookChannel.payload(line, template: "generic", processedAt: when)
        #expect(generic.hasSuffix(",\"processed_at\":\"2023-11-14T22:13:20.000Z\"}"))
        #expect((try? JSONSerialization.jsonObject(with: Data(generic.utf8))) != nil)
        let slack = try JSONSerialization.jsonObject(with: Data(WebhookChannel.payload(line, template: "slack", processedAt: when).utf8)) as? [String: Any]
        #expect(slack?["text"] as? String == "[high] r k=u1: alert 1 of u1 (detected 1970-01-01T00:00:00.001Z)")
        let custom = WebhookChannel.payload(line, template: "{\"summary\": {{message}}, \"who\": {{key}}, \"raw\": {{alert}}}", processedAt: when)
        let object = try JSONSerialization.jsonObject(with: Data(custom.utf8)) as? [String: Any]
        #expect(object?["summary"] as? String == "alert 1 of u1" && object?["who"] as? String == "k=u1")
        #expect((object?["raw"] as? [String: Any])?["rule"] as? String == "r")
    }
}
