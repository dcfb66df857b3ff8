import Foundation
import Testing

/// Runs the real `vigil` binary: exit codes, streams, formats, and hostile input.
@Suite struct CLITests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `vigil` executable built next to the test bundle.
    static var binary: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("vigil")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/vigil")
    }

    struct Run {
        var status: Int32
        var signalled: Bool
        var stdout: String
        var stderr: String
    }

    /// Where `vigil run` writes its tables in tests (never into the checkout).
    static let lake = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-cli-lake-\(getpid())").path

    static func run(_ args: [String], env: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = binary
        p.arguments = args.first == "run" && !args.contains("--lake") ? args + ["--lake", lake + "/\(UUID().uuidString)"] : args
        p.currentDirectoryURL = root
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = nil
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        // Files rather than pipes: a large output can never fill a pipe and stall the child.
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("vigil-out-\(UUID().uuidString)")
        let errURL = dir.appendingPathComponent("vigil-err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal,
                   stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                   stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    static func temp(_ name: String, _ bytes: [UInt8]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-cli-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func bundledRulesAreClean() throws {
        let r = try Self.run(["check", "rules/"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("checked 3 files"))
        #expect(r.stderr.contains("no problems"))
        #expect(r.stdout.isEmpty)
    }

    @Test func errorsExitOneOnStderrWithLocation() throws {
        let path = try Self.temp("typo.vigil", Array("""
            stream s key u time ts fields u: string, ts: timestamp, amount: double
            rule r from s match a: amout > 1 alert "x"
            """.utf8))
        let r = try Self.run(["check", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("error[V0202]: unknown field `amout`"))
        #expect(r.stderr.contains("--> \(path):2:24"))
        #expect(r.stderr.contains("help: did you mean `amount`?"))
        #expect(r.stdout.isEmpty)
        #expect(!r.stderr.contains("\u{1B}["), "no color when stderr is not a terminal")
    }

    /// `vigil test`: the bundled rule tests pass (exit 0); failures exit 1; unreadable or
    /// malformed test files exit 2 with file:line; JUnit on request.
    @Test func vigilTestExitCodesAndFormats() throws {
        let ok = try Self.run(["test"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("30 cases: 30 passed, 0 failed"), "\(ok.stdout)")
        let fail = try Self.run(["test", "Tests/VigilTestingTests/Cases/fail.tests.yaml", "--filter", "too short"])
        #expect(fail.status == 1 && fail.stdout.contains("FAIL  the run is too short") && fail.stdout.contains("1 case: 0 passed, 1 failed"))
        let junit = try Self.run(["test", "rules/auth.tests.yaml", "--format", "junit"])
        #expect(junit.status == 0 && junit.stdout.hasPrefix("<?xml") && junit.stdout.contains("tests=\"10\" failures=\"0\""))
        let missing = try Self.run(["test", "no/such/dir"])
        #expect(missing.status == 2 && missing.stderr.contains("no such file"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bad-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("x.tests.yaml")
        try "cases:\n  - name: a\n    inputs: {}\n".write(to: bad, atomically: true, encoding: .utf8)
        let r = try Self.run(["test", bad.path])
        #expect(r.status == 2 && r.stderr.contains("unknown key `inputs`") && r.stderr.contains("x.tests.yaml:3:5"), "\(r.stderr)")
        #expect(!r.signalled)
    }

    /// `explain` prints NFAs and window plans; a window has no graph to draw; unknown names exit 2.
    @Test func explainShowsNFAsAndWindowPlans() throws {
        let all = try Self.run(["explain", "rules/clickstream.vigil"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.contains("rule checkout_rush\n") && all.stdout.contains("state s0"))
        #expect(all.stdout.contains("rule abandoned_cart\n  from clicks by (user)\n  sessions split by a gap of 30m"))
        #expect(all.stdout.contains("aggregate sensor_hourly\n"))
        let dot = try Self.run(["explain", "rules/clickstream.vigil", "--rule", "abandoned_cart", "--format", "dot"])
        #expect(dot.status == 2 && dot.stderr.contains("has no NFA to draw"))
        let unknown = try Self.run(["explain", "rules/clickstream.vigil", "--rule", "nope"])
        #expect(unknown.status == 2 && unknown.stderr.contains("`nope` is not declared"))
    }

    @Test func colorCanBeForced() throws {
        let path = try Self.temp("color.vigil", Array("rule r from nowhere match a: x alert \"x\"".utf8))
        let r = try Self.run(["check", "--color", "always", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\u{1B}[1;31merror[V0201]"))
    }

    @Test func jsonGoesToStdout() throws {
        let path = try Self.temp("json.vigil", Array("stream s key u time ts fields u: string, ts: timestamp\nrule r from s match a: u == 1 alert \"x\"\n".utf8))
        let r = try Self.run(["check", "--format", "json", path])
        #expect(r.status == 1)
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let diags = doc?["diagnostics"] as? [[String: Any]] ?? []
        #expect(diags.count == 1)
        let d = diags.first ?? [:]
        #expect(d["file"] as? String == path)
        #expect(d["line"] as? Int == 2)
        #expect(d["column"] as? Int == 24)
        #expect(d["end_line"] as? Int == 2)
        #expect(d["end_column"] as? Int == 30)
        #expect(d["severity"] as? String == "error")
        #expect(d["code"] as? String == "V0301")
        #expect((d["message"] as? String)?.contains("cannot compare") == true)
        #expect(doc?["errors"] as? Int == 1)
    }

    @Test func usageErrorsExitTwo() throws {
        let missing = try Self.run(["check", "no/such/dir"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot read `no/such/dir`"))
        let badFlag = try Self.run(["check", "--frobnicate", "rules/"])
        #expect(badFlag.status == 2)
        let badFormat = try Self.run(["check", "--format", "xml", "rules/"])
        #expect(badFormat.status == 2)
        let noArgs = try Self.run(["check"])
        #expect(noArgs.status == 2)
    }

    @Test func helpReads() throws {
        let top = try Self.run(["--help"])
        #expect(top.status == 0)
        #expect(top.stdout.contains("check"))
        #expect(top.stdout.contains("Exit codes"))
        let sub = try Self.run(["check", "--help"])
        #expect(sub.status == 0)
        #expect(sub.stdout.contains("--format"))
    }

    /// Hostile files: each must give diagnostics with file:line:col and exit 1 — never a
    /// crash, a signal or a stack trace.
    @Test(arguments: [
        "empty", "truncated", "garbage", "nul", "parens-10mb", "deep-nesting", "invalid-utf8",
        "quantifier-overflow", "duration-overflow", "only-comments",
    ])
    func hostileInput(_ kind: String) throws {
        var rng = SystemRandomNumberGenerator()
        let stream = "stream s key u time ts fields u: string, ts: timestamp\n"
        let bytes: [UInt8]
        switch kind {
        case "empty": bytes = []
        case "truncated": bytes = Array((stream + "rule r from s match a: u == \"x\" then b: (u ==").utf8)
        case "garbage": bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
        case "nul": bytes = Array(stream.utf8) + [0, 0, 0] + Array("rule\0r".utf8)
        case "parens-10mb": bytes = Array(repeating: UInt8(ascii: "("), count: 10 * 1024 * 1024)
        case "deep-nesting": bytes = Array((stream + "rule r from s match a: " + String(repeating: "(", count: 5000) + "u == \"x\"" + String(repeating: ")", count: 5000) + " alert \"x\"").utf8)
        case "invalid-utf8": bytes = Array(stream.utf8) + [0xC3, 0x28] + Array(" rule".utf8)
        case "quantifier-overflow": bytes = Array((stream + "rule r from s match a: u == \"x\" {184467440737095516160} alert \"x\"").utf8)
        case "duration-overflow": bytes = Array((stream + "rule r from s match a: u == \"x\" then b: u == \"y\" within 99999999999999999999h alert \"x\"").utf8)
        default: bytes = Array("# nothing here\n".utf8)
        }
        let path = try Self.temp("\(kind).vigil", bytes)
        let r = try Self.run(["check", path])
        #expect(!r.signalled, "crashed on \(kind)")
        #expect(r.status == 1, "\(kind): exit \(r.status)\n\(r.stderr.prefix(2000))")
        #expect(r.stderr.contains("--> \(path):"), "\(kind): no location")
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"), "\(kind): crashed")
    }

    /// The in-process fuzz test covers thousands of mutants; this runs a sample through
    /// the real binary: a stray `]` on a line of each bundled file must exit 1 and name
    /// that line.
    @Test func mutatedBundledRulesExitOneAndNameTheLine() throws {
        for name in ["auth.vigil", "clickstream.vigil", "payments.vigil"] {
            let text = try String(contentsOf: Self.root.appendingPathComponent("rules/" + name), encoding: .utf8)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let candidates = lines.indices.filter { !lines[$0].trimmingCharacters(in: .whitespaces).isEmpty }
            for index in stride(from: 0, to: candidates.count, by: max(1, candidates.count / 12)) {
                let line = candidates[index]
                let original = lines[line]
                lines[line] = "] " + original
                let path = try Self.temp("mutant-\(line)-\(name)", Array(lines.joined(separator: "\n").utf8))
                lines[line] = original
                let r = try Self.run(["check", path])
                #expect(!r.signalled)
                #expect(r.status == 1, "\(name) line \(line + 1): exit \(r.status)")
                #expect(r.stderr.contains("\(path):\(line + 1):1"), "\(name) line \(line + 1) not reported:\n\(r.stderr)")
            }
        }
    }

    /// Q1–Q4 of ../shared/bench on generated input, ordered and disordered, and with a
    /// smaller lateness: every match must equal oracle.py's (scripts/check-workload.py).
    @Test func workloadMatchesTheOracle() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.root.appendingPathComponent("scripts/check-workload.py").path, Self.binary.path,
                       "--events", "100000"]
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("workload-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let handle = try FileHandle(forWritingTo: out)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: try Data(contentsOf: out), as: UTF8.self)
        print(text)
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("workload check: ok"))
        #expect(text.components(separatedBy: "-> ok").count - 1 == 17)
    }

    static let sampleInputs = [
        "--input", "payments=samples/payments.jsonl", "--input", "chargebacks=samples/chargebacks.jsonl",
        "--input", "auth=samples/auth.jsonl", "--input", "process=samples/process.jsonl",
        "--input", "clicks=samples/clicks.csv", "--input", "sensors=samples/sensors.jsonl",
    ]

    /// The README's first command: the bundled rules over the samples give exactly these
    /// alerts (each sample has a case that fires and a near miss that must not).
    @Test func bundledRulesOverSamples() throws {
        let rows = FileManager.default.temporaryDirectory.appendingPathComponent("rows-\(getpid()).jsonl").path
        let r = try Self.run(["run", "rules/", "--rows", rows] + Self.sampleInputs)
        #expect(r.status == 0, "\(r.stderr)")
        let alerts = r.stdout.split(separator: "\n").map { line -> String in
            let a = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
            let key = (a["key"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return "\(a["rule"] as? String ?? "?") \(key)"
        }
        #expect(alerts == [
            "card_testing card=4000-0001",
            "gift_card_burst card=4000-0003",
            "login_without_mfa user=alice",
            "brute_force user=mallory",
            "success_after_failures user=mallory",
            "office_spawns_shell host=ws-12,user=dave",
            "impossible_travel user=carol",
            "checkout_rush user=u3",
            "chargeback_after_large_payment card=4000-0004",
            "abandoned_cart user=u1",
            "overheating device_id=8",
        ])
        #expect(r.stdout.contains("\"message\":\"card 4000-0001: 3 tiny charges (avg 1.16), then 812.4 in NG\""))
        #expect(r.stderr.contains("events: 49, alerts: 11, rows: 36, late: 0, dead-lettered: 0"), "\(r.stderr)")
        #expect(!r.stderr.contains("not run"))
        #expect(r.stderr.contains("flow `silver_payments`: 12 events, 0 filtered by `where`, 11 written, 0 dropped, 1 quarantined; "
                                  + "failed expectations: known_country (quarantine): 1, positive (fail): 0, has_merchant (drop): 0, home_spend (warn): 1"))
        // Rows of the aggregates and the session rule in closing order (by event time);
        // flows' rows as their events arrive.
        let lines = try String(contentsOfFile: rows, encoding: .utf8).split(separator: "\n")
        let objects = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(objects.count == 36)
        #expect(objects.allSatisfy { $0["op"] as? String == "upsert" && $0["version"] as? Int == 1 })
        let tables = objects.map { $0["table"] as? String ?? "?" }
        #expect(tables.filter { $0 == "gold.revenue_5m" }.count == 7)
        #expect(tables.filter { $0 == "gold.sessions_by_os" }.count == 3)
        #expect(tables.filter { $0 == "gold.abandoned_carts" }.count == 1)
        #expect(tables.filter { $0 == "gold.card_testing_detections" }.count == 1)
        #expect(tables.filter { $0 == "gold.sensor_hourly" }.count == 2)
        #expect(tables.filter { $0 == "silver.payments" }.count == 11)
        #expect(tables.filter { $0 == "silver.payments_quarantine" }.count == 1)
        #expect(tables.filter { $0 == "silver.device_firmware" }.count == 8)
        #expect(tables.filter { $0 == "silver.purchases" }.count == 2)
        let cart = objects.first { $0["table"] as? String == "gold.abandoned_carts" }?["row"] as? [String: Any] ?? [:]
        #expect(cart["user"] as? String == "u1" && cart["events"] as? Int == 2 && cart["cart_value"] as? Double == 240.0)
        #expect(cart["session_end"] as? Int == 1_700_000_045_000)
        let us = objects.first { $0["table"] as? String == "gold.revenue_5m" && ($0["row"] as? [String: Any])?["country"] as? String == "US" }?["row"] as? [String: Any] ?? [:]
        #expect(us["payments"] as? Int == 3 && us["window_end"] as? Int == 1_699_999_800_000 + 300_000)
        #expect(us.keys.sorted() == ["cards", "country", "p95_amount", "payments", "revenue", "window_end", "window_start"])
    }

    /// The rows of `into table` outputs land in Delta tables under `--lake`, read back by
    /// delta-rs: append and merge tables, and a second run that merges into the first.
    @Test func tablesLandInTheLake() throws {
        let lake = Self.lake + "/tables"
        defer { try? FileManager.default.removeItem(atPath: lake) }
        let r = try Self.run(["run", "rules/", "--lake", lake] + Self.sampleInputs)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("table `gold.revenue_5m` (\(lake)/gold/revenue_5m): 7 rows in 1 commit"), "\(r.stderr)")
        let again = try Self.run(["run", "rules/payments.vigil", "--lake", lake, "--input", "payments=samples/payments.jsonl"])
        #expect(again.stderr.contains("7 rows in 1 commit, 1 files rewritten"), "\(again.stderr)")
        let python = Self.root.appendingPathComponent(".venv-test/bin/python").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", LakeRunTests.everyFile + """
            import sys, json
            from deltalake import DeltaTable
            out = {}
            for t in ["revenue_5m", "sessions_by_os", "sensor_hourly", "abandoned_carts", "card_testing_detections"]:
                dt = DeltaTable(sys.argv[1] + "/gold/" + t)
                tb = dt.to_pyarrow_table()
                out[t] = [dt.version(), tb.num_rows, tb.schema.names]
            us = [r for r in DeltaTable(sys.argv[1] + "/gold/revenue_5m").to_pyarrow_table().to_pylist() if r["country"] == "US"]
            out["us"] = sorted(r["payments"] for r in us)
            # Every data file of every table: ZSTD, min/max/null count on every column chunk.
            out["files"] = list(every_file(sys.argv[1]))
            print(json.dumps(out))
            sys.stdout.flush()
            import os
            os._exit(0)  # delta-rs can abort in interpreter teardown; the output is complete
            """, lake]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let t = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        // The merge table kept one row per (country, window_start); the others appended once.
        #expect((t["revenue_5m"] as? [Any]).map { "\($0[0]) \($0[1])" } == "1 7", "\(t)")
        #expect((t["revenue_5m"] as? [Any])?[2] as? [String] == ["country", "window_start", "window_end", "payments", "revenue", "p95_amount", "cards"])
        #expect((t["sessions_by_os"] as? [Any]).map { "\($0[0]) \($0[1])" } == "0 3")
        #expect((t["sensor_hourly"] as? [Any]).map { "\($0[0]) \($0[1])" } == "0 2")
        #expect((t["abandoned_carts"] as? [Any]).map { "\($0[0]) \($0[1])" } == "0 1")
        // A pattern rule's detections: a row per match, appended by each run.
        #expect((t["card_testing_detections"] as? [Any]).map { "\($0[0]) \($0[1])" } == "1 2")
        #expect((t["card_testing_detections"] as? [Any])?[2] as? [String] == ["id", "rule", "severity", "detected_at", "card", "message"])
        let files = t["files"] as? [Any] ?? []
        #expect(files.count == 3 && (files[0] as? Int ?? 0) >= 10 && files[1] as? [String] == ["ZSTD"] && files[2] as? Bool == true, "\(files)")
        #expect(t["us"] as? [Int] == [1, 3])
    }

    /// Same input, same bytes: alert files are byte-identical across runs.
    @Test func runsAreDeterministic() throws {
        let a = try Self.run(["run", "rules/"] + Self.sampleInputs)
        let b = try Self.run(["run", "rules/"] + Self.sampleInputs)
        #expect(!a.stdout.isEmpty)
        #expect(a.stdout == b.stdout)
    }

    /// Bad lines go to the dead-letter output with reason and line; the run goes on.
    @Test func badLinesAreDeadLettered() throws {
        let lines = [
            #"{"card":"c1","ts":1000,"amount":1.0,"country":"US"}"#,
            #"{"card":"c1","ts":"#,
            #"[1,2,3]"#,
            #"{"ts":2000,"amount":1.0}"#,
            #"{"card":null,"ts":2000}"#,
            #"{"card":"c1","amount":1.0}"#,
            #"{"card":"c1","ts":3000,"amount":"lots"}"#,
            #"{"card":"c1","ts":"1970-01-01T01:00:03.5+01:00","amount":2.5,"extra":{"deep":[1,{"x":2}]}}"#,
            "",
            #"{"card":"c1","ts":4000,"amount":3.0}"# + "\r",
        ]
        var bytes = Array(lines.joined(separator: "\n").utf8) + [10]
        bytes += Array(#"{"card":"c"#.utf8) + [0xFF] + Array(#""}"#.utf8) + [10]  // invalid UTF-8 at byte 11
        let events = try Self.temp("bad.jsonl", bytes)
        let rules = try Self.temp("pay.vigil", Array("""
            stream payments key card time ts fields card: string, ts: timestamp, amount: double, country: string
            rule big from payments match a: amount > 100 alert "x"
            """.utf8))
        let dead = FileManager.default.temporaryDirectory.appendingPathComponent("dead-\(getpid()).jsonl").path
        let r = try Self.run(["run", rules, "--input", "payments=\(events)", "--dead-letter", dead])
        #expect(r.status == 0, "\(r.stderr)")
        let records = try String(contentsOfFile: dead, encoding: .utf8).split(separator: "\n").map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:]
        }
        let reasons = records.map { "\($0["line"] as? Int ?? -1): \($0["reason"] as? String ?? "")" }
        #expect(reasons == [
            "2: malformed JSON at column 19: expected a value",
            "3: not a JSON object",
            "4: missing key field `card`",
            "5: missing key field `card`",
            "6: missing time field `ts`",
            "7: field `amount` must be a double, found a string",
            "11: invalid UTF-8 at byte 11",
        ], "\(reasons)")
        #expect(records.allSatisfy { $0["stream"] as? String == "payments" && $0["source"] as? String == events && $0["raw"] is String })
        #expect(r.stderr.contains("events: 3, alerts: 0, rows: 0, late: 0, dead-lettered: 7"), "\(r.stderr)")
    }

    /// CSV with a header row and CRLF, chosen by extension; stdin with `-`.
    @Test func csvAndStdin() throws {
        let rules = try Self.temp("csv.vigil", Array("""
            stream s key k time ts lateness 0s fields k: string, ts: timestamp, type: string, n: int
            rule r from s match a: type == "a" then b: type == "b" and n > a.n alert "{k}: {a.n} then {b.n}"
            """.utf8))
        let csv = try Self.temp("ev.csv", Array("n,k,ts,type\r\n1,u1,1000,a\r\n,u1,1500,x\r\n2,u1,2000,b\r\noops,u1,2500,b\r\n".utf8))
        let r = try Self.run(["run", rules, "--input", "s=\(csv)"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"message\":\"u1: 1 then 2\""))
        #expect(r.stderr.contains("field `n` must be an int, found"), "\(r.stderr)")
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["run", rules, "--input", "s=-", "--input-format", "csv"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        try p.run()
        input.fileHandleForWriting.write(Data("k,ts,type,n\nu2,1,a,5\nu2,2,b,9\n".utf8))
        try input.fileHandleForWriting.close()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(out.contains("\"message\":\"u2: 5 then 9\""))
    }

    @Test func runUsageErrors() throws {
        let noInput = try Self.run(["run", "rules/"])
        #expect(noInput.status == 2)
        let unknown = try Self.run(["run", "rules/", "--input", "nope=samples/auth.jsonl"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown stream `nope`"))
        let missing = try Self.run(["run", "rules/", "--input", "auth=samples/missing.jsonl"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("samples/missing.jsonl"))
    }

    /// One JSON Lines file may carry several streams, each event naming its own.
    @Test func oneFileWithAStreamField() throws {
        let rules = try Self.temp("multi.vigil", Array("""
            stream logins key user time ts fields user: string, ts: timestamp
            stream pays key user time ts fields user: string, ts: timestamp, amount: double
            rule r from logins match l: user != "" then p: pays where amount > 100 within 1h alert "{user} paid {p.amount}"
            """.utf8))
        let events = try Self.temp("mixed.jsonl", Array("""
            {"stream":"logins","user":"u1","ts":1000}
            {"user":"u1","ts":1500}
            {"stream":"refunds","user":"u1","ts":1600}
            {"ts":2000,"amount":250.5,"stream":"pays","user":"u1"}

            """.utf8))
        let dead = FileManager.default.temporaryDirectory.appendingPathComponent("mixed-dead-\(getpid()).jsonl").path
        let r = try Self.run(["run", rules, "--input", events, "--dead-letter", dead])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"message\":\"u1 paid 250.5\""))
        let deadText = try String(contentsOfFile: dead, encoding: .utf8)
        #expect(deadText.contains("\"line\":2,\"reason\":\"no top-level \\\"stream\\\" field naming the event's stream\""), "\(deadText)")
        #expect(deadText.contains("\"line\":3,\"reason\":\"unknown stream \\\"refunds\\\"\""), "\(deadText)")
    }

    /// Limits are counted and logged, never silent.
    @Test func partialMatchLimitIsLogged() throws {
        let rules = try Self.temp("limit.vigil", Array("""
            stream s key k time ts fields k: string, ts: timestamp, type: string
            rule r from s match a: type == "a" then b: type == "b" alert "x"
            """.utf8))
        let lines = (0..<20).map { #"{"k":"u","ts":\#($0),"type":"a"}"# } + [#"{"k":"u","ts":100,"type":"b"}"#]
        let events = try Self.temp("limit.jsonl", Array((lines.joined(separator: "\n") + "\n").utf8))
        let r = try Self.run(["run", rules, "--input", "s=\(events)", "--max-partial-matches", "5"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("warning: a key reached 5 partial matches"))
        #expect(r.stderr.contains("partial matches dropped by limit: 15"), "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").count == 5)
    }

    /// Live inputs are followed together; a quiet stream with `idle timeout` stops
    /// holding back a rule over two streams, so its alert comes out before the inputs end.
    /// (Without the idle timeout this test fails: the alert waits for the end of input.)
    /// On one thread and sharded: the idle timeout is a command in the shards' input.
    @Test(arguments: [1, 2]) func idleTimeoutReleasesALiveRule(threads: Int) throws {
        let rules = try Self.temp("idle-\(threads).vigil", Array("""
            stream s key k time ts idle timeout 300ms fields k: string, ts: timestamp, type: string
            stream t key k time ts fields k: string, ts: timestamp, type: string
            rule r from s match a: type == "a" then b: t where type == "b" alert "{k}: a then b"
            """.utf8))
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-fifo-\(getpid())-\(threads)").path
        unlink(fifo)
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["run", rules, "--input", "s=\(fifo)", "--input", "t=-", "--threads", "\(threads)"]
        let stdin = Pipe(), stdout = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        let s = FileHandle(forWritingAtPath: fifo)!
        s.write(Data(#"{"k":"u","ts":1000,"type":"a"}"#.utf8 + [10]))
        stdin.fileHandleForWriting.write(Data((#"{"k":"u","ts":2000,"type":"b"}"# + "\n" + #"{"k":"u","ts":3000,"type":"x"}"# + "\n").utf8))
        // Both inputs stay open: the alert can only come from the idle timeout.
        let line = Self.readLine(stdout.fileHandleForReading, timeout: 15)
        #expect(line?.contains("\"message\":\"u: a then b\"") == true, "no alert while the inputs were open: \(line ?? "nil")")
        try s.close()
        try stdin.fileHandleForWriting.close()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    /// Reads one line from `handle`, or nil after `timeout` seconds.
    static func readLine(_ handle: FileHandle, timeout: Double) -> String? {
        final class Box: @unchecked Sendable { var line: String? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Thread {
            var bytes: [UInt8] = []
            while true {
                let d = handle.readData(ofLength: 1)
                if d.isEmpty || d.first == 10 { break }
                bytes.append(d.first!)
            }
            box.line = String(decoding: bytes, as: UTF8.self)
            done.signal()
        }.start()
        return done.wait(timeout: .now() + timeout) == .success ? box.line : nil
    }

    /// A late event's record keeps the original line, byte for byte.
    @Test func lateEventsKeepTheirOriginalText() throws {
        let rules = try Self.temp("late.vigil", Array("""
            stream s key k time ts lateness 0s fields k: string, ts: timestamp
            rule r from s match a: k == "x" alert "x"
            """.utf8))
        let original = #"{ "k" : "u",  "ts": 1000, "note": "kept as written" }"#
        let events = try Self.temp("late.jsonl", Array((#"{"k":"u","ts":2000}"# + "\n" + original + "\n").utf8))
        let late = FileManager.default.temporaryDirectory.appendingPathComponent("late-\(getpid()).jsonl").path
        let r = try Self.run(["run", rules, "--input", "s=\(events)", "--late", late])
        #expect(r.status == 0)
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: late))) as? [String: Any]
        #expect(record?["raw"] as? String == original)
        #expect(record?["line"] as? Int == 2)
        #expect(record?["stream"] as? String == "s")
        #expect((record?["reason"] as? String)?.hasPrefix("late: event time 1000 is before the watermark 2000") == true)
        #expect(r.stderr.contains("late: 1"))
    }

    /// `--threads N` shards keys over N threads; what comes out — alerts, rows, late and
    /// dead-lettered lines, the summary's counts, the tables — is what one thread writes.
    @Test func threadsChangeNothingButSpeed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-threads-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // The bundled rules over the samples (flows, windows, sessions, tables), and the
        // benchmark's queries over a generated workload with disorder beyond the lateness.
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let events = dir.appendingPathComponent("events.jsonl").path
        gen.arguments = ["python3", Self.root.appendingPathComponent("../shared/bench/gen_events.py").path, "-n", "60000",
                         "--keys", "500", "--disorder", "0.05", "--max-delay-ms", "9000", "-o", events]
        try gen.run()
        gen.waitUntilExit()
        #expect(gen.terminationStatus == 0)
        // Lines that mislead the shards' route (`ShardRouter`: a nested member named as
        // the key first, the key twice, its name escaped) or that it cannot read (an
        // escape, a character beyond ASCII), as A then B; and a few broken lines:
        // dead-lettered the same way.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: events))
        handle.seekToEndOfFile()
        let rest = #""amount":1.5,"country":"US","merchant":"m1"}"#
        for (i, type) in ["A", "B"].enumerated() {
            let t = 1_800_000_000_000 + i * 10
            handle.write(Data("""
                {"ts":\(t),"x":{"user":"u1"},"user":"u2","type":"\(type)",\(rest)
                {"ts":\(t + 1),"user":"u3","type":"\(type)","user":"u4",\(rest)
                {"ts":\(t + 2),"us\\u0065r":"u5","type":"\(type)",\(rest)
                {"ts":\(t + 3),"user":"Zoë","type":"\(type)",\(rest)
                {"ts":\(t + 4),"user":"u\\"6","type":"\(type)",\(rest)

                """.utf8))
        }
        handle.write(Data("{\"ts\": \"soon\"}\nnot json\n".utf8))
        try handle.close()
        // The queries share one stream declaration: kept from the first file only.
        var combined = ""
        for (i, q) in ["q1", "q2", "q3", "q4", "tumbling", "session"].enumerated() {
            let text = try String(contentsOfFile: Self.root.appendingPathComponent("Benchmarks/workload/\(q).vigil").path, encoding: .utf8)
            combined += i == 0 ? text : String(text[text.range(of: "\n\n")!.upperBound...])
            combined += "\n"
        }
        let workload = [try Self.temp("workload.vigil", Array(combined.utf8))]
        let runs: [(String, [String])] = [
            ("samples", ["run", "rules/"] + Self.sampleInputs),
            ("workload", ["run"] + workload + ["--input", "events=\(events)"]),
        ]
        for (name, args) in runs {
            var outputs: [[String]] = []
            for threads in [1, 2, 3] {
                let out = dir.appendingPathComponent("\(name)-\(threads)").path
                let r = try Self.run(args + ["--threads", "\(threads)", "--no-checkpoint", "--lake", out + "-lake", "--commit-rows", "300", "--bronze",
                                             "--rows", out + "-rows", "--late", out + "-late", "--dead-letter", out + "-dead"])
                #expect(r.status == 0, "\(r.stderr)")
                #expect(!r.stderr.contains("running on one thread"), "\(r.stderr)")
                let summary = r.stderr.split(separator: "\n").first { $0.hasPrefix("events:") }.map(String.init) ?? ""
                let files = try ["rows", "late", "dead"].map { try String(contentsOfFile: out + "-" + $0, encoding: .utf8) }
                // Peaks are summed over shards (an upper bound); every other count must agree.
                let counts = summary.components(separatedBy: ", peak")[0]
                // The tables' commits: the same versions, committed at the same events.
                let logs = (FileManager.default.enumerator(atPath: out + "-lake")?.allObjects as? [String] ?? [])
                    .filter { $0.contains("_delta_log/") && $0.hasSuffix(".json") }.sorted()
                outputs.append([r.stdout, counts] + files + [logs.joined(separator: " ")])
            }
            #expect(!outputs[0][0].isEmpty && !outputs[0][2].isEmpty && !outputs[0][5].isEmpty, "\(name): alerts, rows and tables")
            if name == "workload" { #expect(!outputs[0][3].isEmpty && !outputs[0][4].isEmpty, "late and dead-lettered lines") }
            for t in 1...2 {
                for (i, what) in ["alerts", "summary", "rows", "late", "dead letters", "table commits"].enumerated() {
                    #expect(outputs[t][i] == outputs[0][i], "\(name), \(t + 1) threads: \(what) differ")
                }
            }
        }
        // A live (piped) input shards too, with the same output; a live CSV input cannot
        // (it arrives decoded, its header not among its lines): it says so.
        func piped(_ file: String, _ args: String, threads: Int) throws -> (out: String, err: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.currentDirectoryURL = Self.root
            p.arguments = ["-c", "cat \(file) | '\(Self.binary.path)' run \(args) --threads \(threads) --no-checkpoint --lake '\(dir.path)/piped-\(threads)'"]
            let out = dir.appendingPathComponent("piped-\(threads).out"), err = dir.appendingPathComponent("piped-\(threads).err")
            FileManager.default.createFile(atPath: out.path, contents: nil)
            FileManager.default.createFile(atPath: err.path, contents: nil)
            p.standardOutput = try FileHandle(forWritingTo: out)
            p.standardError = try FileHandle(forWritingTo: err)
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
            return (try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
        }
        let one = try piped("samples/auth.jsonl", "rules/auth.vigil --input auth=-", threads: 1)
        let two = try piped("samples/auth.jsonl", "rules/auth.vigil --input auth=-", threads: 2)
        #expect(!one.out.isEmpty && two.out == one.out, "piped: \(two.err)")
        #expect(!two.err.contains("note:"), "\(two.err)")
        let csv = try piped("samples/clicks.csv", "rules/clickstream.vigil --input clicks=- --input-format csv", threads: 2)
        #expect(csv.err.contains("note: --threads 2 does not apply to a live CSV input; running on one thread"), "\(csv.err)")
        let zero = try Self.run(["run", "rules/auth.vigil", "--input", "auth=samples/auth.jsonl", "--threads", "0"])
        #expect(zero.status == 2 && zero.stderr.contains("--threads takes a number of threads"))
        let many = try Self.run(["run", "rules/auth.vigil", "--input", "auth=samples/auth.jsonl", "--threads", "100000"])
        #expect(many.status == 2 && many.stderr.contains("error: --threads takes a number of threads from 1 to 64, not 100000"), "\(many.stderr)")
    }
}
