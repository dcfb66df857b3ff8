import Foundation
import Testing
import VigilDispatch

/// `vigil run --webhook` as a process: a detector killed with `kill -9` while the
/// receiver is down leaves its alerts spooled; restarted, it delivers every id (exactly
/// once after dedup); and a bounded run whose webhook stays down exits 3.
@Suite(.serialized) struct DetectorProcessTests {
    static let root = WebhookTests.root

    static var binary: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("vigil")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/vigil")
    }

    static func launch(_ args: [String], stderr: URL) throws -> Process {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = root
        FileManager.default.createFile(atPath: stderr.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: stderr)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }

    static let inputs = ["--input", "payments=samples/payments.jsonl", "--input", "chargebacks=samples/chargebacks.jsonl",
                         "--input", "auth=samples/auth.jsonl", "--input", "process=samples/process.jsonl",
                         "--input", "clicks=samples/clicks.csv", "--input", "sensors=samples/sensors.jsonl"]

    /// The ids a plain run writes.
    static func expectedIDs(_ dir: URL) throws -> [String] {
        let file = dir.appendingPathComponent("plain.jsonl")
        let p = try launch(["run", "rules/", "--alerts", file.path, "--lake", dir.appendingPathComponent("lake0").path] + inputs,
                           stderr: dir.appendingPathComponent("plain.err"))
        p.waitUntilExit()
        return try String(contentsOf: file, encoding: .utf8).split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
        }
    }

    @Test func killNineWhileTheReceiverIsDownThenRestartDeliversEveryID() throws {
        let dir = try WebhookTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let expected = try Self.expectedIDs(dir)
        #expect(expected.count == 11)
        let server = TestServer()
        let port = try server.start()
        server.stop()
        let spool = dir.appendingPathComponent("spool").path
        let args = ["run", "rules/", "--webhook", "http://127.0.0.1:\(port)/hook", "--spool", spool, "--lake", dir.appendingPathComponent("lake").path,
                    "--alerts", dir.appendingPathComponent("a.jsonl").path, "--retry-max-delay", "100ms"] + Self.inputs
        // Down: the detector replays everything, then waits to deliver; kill -9 it there.
        let first = try Self.launch(args + ["--drain-timeout", "60s"], stderr: dir.appendingPathComponent("1.err"))
        let spoolFile = URL(fileURLWithPath: spool).appendingPathComponent("webhook.spool")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let lines = (try? String(contentsOf: spoolFile, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if lines == expected.count { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal)
        #expect(server.requestCount == 0)
        // Up again: a new run (the same input from its start, so the same alerts again)
        // delivers the spooled ones first, then its own: every id arrives, duplicates only
        // by id. (Without --reset it would resume the tables' checkpoint instead.)
        try server.start(port: port)
        let second = try Self.launch(args + ["--drain-timeout", "30s", "--reset"], stderr: dir.appendingPathComponent("2.err"))
        second.waitUntilExit()
        #expect(second.terminationStatus == 0, "\((try? String(contentsOf: dir.appendingPathComponent("2.err"), encoding: .utf8)) ?? "")")
        let ids = server.acceptedIDs
        #expect(Set(ids) == Set(expected))
        #expect(ids.count == 2 * expected.count, "each id twice: once from the spool, once from the replay")
        // The spool was emptied.
        #expect(((try? Data(contentsOf: spoolFile))?.count ?? 0) == 0)
    }

    @Test func aWebhookThatStaysDownExitsThreeAndSaysSo() throws {
        let dir = try WebhookTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = TestServer()
        let port = try server.start()
        server.stop()
        let err = dir.appendingPathComponent("err")
        let p = try Self.launch(["run", "rules/auth.vigil", "--input", "auth=samples/auth.jsonl", "--webhook", "http://127.0.0.1:\(port)/",
                                 "--spool", dir.appendingPathComponent("spool").path, "--drain-timeout", "1s",
                                 "--retry-max-delay", "100ms"], stderr: err)
        p.waitUntilExit()
        let text = try String(contentsOf: err, encoding: .utf8)
        #expect(p.terminationStatus == 3, "\(text)")
        #expect(text.contains("alerts remain spooled") && text.contains("still spooled"))
    }

    @Test func sigtermLeavesTheSpoolForTheNextStart() throws {
        let dir = try WebhookTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = TestServer()
        let port = try server.start()
        server.stop()
        let p = try Self.launch(["run", "rules/auth.vigil", "--input", "auth=samples/auth.jsonl", "--webhook", "http://127.0.0.1:\(port)/",
                                 "--spool", dir.appendingPathComponent("spool").path, "--drain-timeout", "60s",
                                 "--retry-max-delay", "100ms"], stderr: dir.appendingPathComponent("err"))
        Thread.sleep(forTimeInterval: 0.5)
        p.terminate()
        p.waitUntilExit()
        #expect(p.terminationStatus == 143)
        let spooled = try String(contentsOfFile: dir.appendingPathComponent("spool/webhook.spool").path, encoding: .utf8)
        #expect(spooled.split(separator: "\n").count == 4)
    }
}
