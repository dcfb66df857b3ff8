import Foundation
import Testing
import VigilDispatch
import VigilRuntime

/// Routing by rule, severity and tags; the fallback for unrouted alerts; file rotation;
/// the configuration's errors; the terminal format.
@Suite struct RoutingTests {
    final class Memory: AlertChannel {
        let name: String
        var got: [String] = []
        init(_ name: String) { self.name = name }
        func send(_ a: DispatchAlert) { got.append(a.id) }
        func flush() {}
        var pending: Int { 0 }
        func close() {}
    }

    static func alert(_ id: String, rule: String, severity: String, tags: [String]) -> DispatchAlert {
        DispatchAlert(Alert(id: id, rule: rule, severity: severity, tags: tags, key: [("k", .string("x"))], message: "m",
                            detectedAt: 0, matched: []), streams: [])
    }

    @Test func routesByRuleSeverityAndTagsAndNothingIsDropped() throws {
        let config = try DispatchConfig.parse(path: "c.yaml", text: """
            channels:
              pager: {type: webhook, url: "http://127.0.0.1:9/x"}
              fraud: {type: file, path: /tmp/x.jsonl}
              console: {type: stdout}
            routes:
              - when: {severity: [high, critical]}
                to: pager
              - when: {tags: fraud, rules: [card_testing, gift_card_burst]}
                to: [fraud, pager]
            suppress: 10m
            matched: fields
            """)
        #expect(config.channels.map(\.name) == ["pager", "fraud", "console"])
        #expect(config.suppressMs == 600_000 && config.matched == .fields)
        let pager = Memory("pager"), fraud = Memory("fraud"), console = Memory("console")
        let d = Dispatcher(channels: [pager, fraud], routes: config.routes, fallback: console)
        d.send(Self.alert("1", rule: "brute_force", severity: "high", tags: ["identity"]))
        d.send(Self.alert("2", rule: "card_testing", severity: "high", tags: ["fraud", "pci"]))
        d.send(Self.alert("3", rule: "gift_card_burst", severity: "medium", tags: ["fraud"]))
        d.send(Self.alert("4", rule: "abandoned_cart", severity: "low", tags: []))
        d.send(Self.alert("5", rule: "card_testing", severity: "medium", tags: []))
        #expect(pager.got == ["1", "2", "3"])
        #expect(fraud.got == ["2", "3"])
        // Matched by no route: the default output, never dropped.
        #expect(console.got == ["4", "5"])
        #expect(d.sent == ["pager": 3, "fraud": 2, "console": 2])
    }

    @Test(arguments: [
        ("channels: [1]", 1, "`channels` must map"),
        ("channels:\n  a: {url: x}", 2, "needs a `type`"),
        ("channels:\n  a: {type: carrier-pigeon}", 2, "unknown channel type"),
        ("channels:\n  a: {type: webhook, url: ftp://x}", 2, "must start with http"),
        ("channels:\n  a: {type: file, path: x, rotate: lots}", 2, "`rotate` must be a size"),
        ("routes:\n  - to: nowhere", 2, "not a channel"),
        ("routes:\n  - when: {weather: rain}\n    to: x", 2, "unknown condition `weather`"),
        ("suppress: often", 1, "`suppress` must be a duration"),
        ("colour: blue", 1, "unknown key `colour`"),
        ("channels: {a: {type: stdout}\n", 2, "invalid YAML"),
    ] as [(String, Int, String)])
    func configErrorsAreReportedAtTheirLine(_ text: String, _ line: Int, _ message: String) {
        do {
            _ = try DispatchConfig.parse(path: "c.yaml", text: text)
            Issue.record("no error for \(text.debugDescription)")
        } catch {
            #expect(error.line == line && error.message.contains(message), "\(text.debugDescription): \(error.description)")
        }
    }

    @Test func filesRotateBySizeKeepingTheLastFew() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-rotate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("alerts.jsonl").path
        let one = Self.alert("0", rule: "r", severity: "low", tags: []).line.count + 1
        let file = try FileChannel(name: "f", path: path, rotateBytes: Int64(3 * one), keep: 2, append: true)
        for i in 0..<10 { file.send(Self.alert(String(i), rule: "r", severity: "low", tags: [])) }
        file.close()
        let ids = { (p: String) in
            ((try? String(contentsOfFile: p, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
            }
        }
        // 3 alerts per file; the oldest beyond `keep` are gone.
        #expect(ids(path) == ["9"])
        #expect(ids(path + ".1") == ["6", "7", "8"])
        #expect(ids(path + ".2") == ["3", "4", "5"])
        #expect(!FileManager.default.fileExists(atPath: path + ".3"))
        // Appending again continues the current file.
        let again = try FileChannel(name: "f", path: path, rotateBytes: Int64(3 * one), keep: 2, append: true)
        again.send(Self.alert("10", rule: "r", severity: "low", tags: []))
        again.close()
        #expect(ids(path) == ["9", "10"])
    }

    @Test func theTerminalLineIsForPeople() {
        let a = Self.alert("1", rule: "brute_force", severity: "high", tags: [])
        let line = StdoutChannel.humanLine(a, processedAt: Date(timeIntervalSince1970: 0))
        #expect(line.hasPrefix("[high] 1970-01-01T00:00:00.000Z brute_force k=x: m (seen "))
    }

    @Test func matchedEventsCanBeTrimmed() throws {
        let streams = [StreamSchema(name: "s", fields: [.init(name: "k", type: .string), .init(name: "ts", type: .timestamp), .init(name: "secret", type: .string)],
                                    keySlots: [0], timeSlot: 1, latenessMs: 0, idleTimeoutMs: nil)]
        let e = Event(stream: 0, ts: 5, origin: EventOrigin(input: 0, line: 1), values: [.string("x"), .timestamp(5), .string("pw")])
        let alert = Alert(id: "1", rule: "r", severity: "low", tags: [], key: [("k", .string("x"))], message: "m", detectedAt: 5, matched: [("a", [e])])
        let full = String(decoding: DispatchAlert(alert, streams: streams, matched: .full).line, as: UTF8.self)
        let fields = String(decoding: DispatchAlert(alert, streams: streams, matched: .fields).line, as: UTF8.self)
        let none = String(decoding: DispatchAlert(alert, streams: streams, matched: .none).line, as: UTF8.self)
        #expect(full.contains("\"secret\":\"pw\""))
        #expect(fields.contains("{\"k\":\"x\",\"ts\":5}") && !fields.contains("secret"))
        #expect(none.contains("\"matched\":[]"))
    }
}
