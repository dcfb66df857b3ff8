import Foundation
import Testing

/// `vigil run` into a lake, read back by real readers (delta-rs, polars, pyarrow):
/// flows with expectations and quarantine, SCD2, bronze, a failing expectation, and a
/// run killed with SIGKILL then resumed exactly once.
@Suite struct LakeRunTests {
    /// Runs `script` with the test venv's Python; its stdout parsed as JSON.
    static func python(_ script: String, _ args: [String]) throws -> [String: Any] {
        let p = Process()
        p.executableURL = CLITests.root.appendingPathComponent(".venv-test/bin/python")
        p.arguments = ["-c", script + "\nimport sys, os\nsys.stdout.flush()\nos._exit(0)  # delta-rs can abort in teardown\n"] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(String(decoding: errors, as: UTF8.self))")
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// Python: `every_file(lake)` — how many data files the lake holds, their codecs,
    /// and whether every column chunk has min, max and null count (or is all null).
    static let everyFile = """
        def every_file(lake):
            import glob, pyarrow.parquet as pq
            codecs, stats, files = set(), True, 0
            for f in glob.glob(lake + "/*/*/*.parquet"):
                files += 1
                md = pq.ParquetFile(f).metadata
                for g in range(md.num_row_groups):
                    for c in range(md.num_columns):
                        col = md.row_group(g).column(c)
                        codecs.add(col.compression)
                        st = col.statistics
                        stats = stats and st is not None and st.has_null_count and (st.has_min_max or st.null_count == md.row_group(g).num_rows)
            return files, sorted(codecs), stats

        """

    static func freshLake(_ name: String) -> String {
        let path = CLITests.lake + "/\(name)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func flowsWriteSilverQuarantineSCD2AndBronze() throws {
        let lake = Self.freshLake("flows")
        defer { try? FileManager.default.removeItem(atPath: lake) }
        let r = try CLITests.run(["run", "rules/", "--lake", lake, "--bronze", "--compression", "snappy"] + CLITests.sampleInputs)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("table `bronze.payments` (\(lake)/bronze/payments): 12 rows in 1 commit"), "\(r.stderr)")
        let t = try Self.python(Self.everyFile + """
            import sys, json
            import polars as pl
            from deltalake import DeltaTable
            lake = sys.argv[1]
            out = {}
            silver = pl.read_delta(lake + "/silver/payments")
            out["silver_columns"] = silver.columns
            out["silver"] = [[r["card"], r["amount"], r["issuer"], r["over_limit"]] for r in silver.iter_rows(named=True)]
            q = DeltaTable(lake + "/silver/payments_quarantine").to_pyarrow_table().to_pylist()
            out["quarantine"] = [[r["card"], r["country"], r["_failed_expectations"], r["_event_time"].isoformat()] for r in q]
            fw = pl.read_delta(lake + "/silver/device_firmware").sort(["device_id", "valid_from"])
            out["firmware"] = [[r["device_id"], r["firmware"], r["valid_from"].isoformat(), r["valid_to"].isoformat() if r["valid_to"] else None, r["is_current"]]
                               for r in fw.iter_rows(named=True)]
            b = pl.read_delta(lake + "/bronze/payments")
            out["bronze"] = [b.height, b.columns[-2:], b["_line"].to_list()]
            out["bronze_clicks"] = pl.read_delta(lake + "/bronze/clicks").height
            _, out["codecs"], out["stats"] = every_file(lake)
            print(json.dumps(out))
            """, [lake])
        #expect(t["silver_columns"] as? [String] == ["card", "ts", "amount", "currency", "country", "merchant", "issuer", "over_limit"])
        let silver = (t["silver"] as? [[Any]] ?? []).map { $0.map { "\($0)" }.joined(separator: " ") }
        #expect(silver.count == 11)
        #expect(silver.first == "4000-0001 1.0 Acme Bank 0")
        // The flow drops nothing here and computes `amount > credit_limit` from the join
        // (a card missing from cards.csv gets nulls: rules/payments.tests.yaml).
        #expect(silver.filter { $0.hasPrefix("4000-0004") } == ["4000-0004 1499.99 Northwind 0"], "\(silver)")
        let quarantine = (t["quarantine"] as? [[Any]] ?? []).map { $0.map { "\($0)" }.joined(separator: " ") }
        #expect(quarantine == ["4000-0001 NG known_country,home_spend 2023-11-14T22:16:20+00:00"])
        let firmware = (t["firmware"] as? [[Any]] ?? []).map { $0.map { "\($0)" }.joined(separator: " ") }
        #expect(firmware == [
            "7 2.4.1 2023-11-14T22:13:20+00:00 2023-11-14T22:30:00+00:00 0",
            "7 2.5.0 2023-11-14T22:30:00+00:00 <null> 1",
            "8 2.5.0 2023-11-14T22:20:00+00:00 <null> 1",
        ], "\(firmware)")
        let bronze = t["bronze"] as? [Any] ?? []
        #expect(bronze.count == 3 && bronze[0] as? Int == 12 && bronze[1] as? [String] == ["_source", "_line"])
        #expect(bronze.count == 3 && bronze[2] as? [Int] == Array(1...12))
        #expect(t["bronze_clicks"] as? Int == 9)
        #expect(t["codecs"] as? [String] == ["SNAPPY"])
        #expect(t["stats"] as? Bool == true)
    }

    static let failRules = """
        stream pay
          key card
          time ts
          fields
            card: string
            ts: timestamp
            amount: double

        flow checked
          from pay
          expect positive: amount >= 0 else fail
          into table silver.checked
        """

    /// On 2 threads the shards have gone past the failing event, so no checkpoint can
    /// stand there: what came before is committed without one, and the second run
    /// commits it again as the same batch, which the table skips.
    @Test(arguments: [1, 2]) func aFailedExpectationStopsAfterCommittingWhatCameBefore(threads: Int) throws {
        let lake = Self.freshLake("fail\(threads)")
        defer { try? FileManager.default.removeItem(atPath: lake) }
        let rules = try CLITests.temp("fail.vigil", Array(Self.failRules.utf8))
        var lines = (1...5).map { "{\"card\":\"c\($0)\",\"ts\":\($0 * 1000),\"amount\":\($0).5}" }
        lines.append("{\"card\":\"c6\",\"ts\":6000,\"amount\":-3.0}")
        lines += (7...9).map { "{\"card\":\"c\($0)\",\"ts\":\($0 * 1000),\"amount\":1.0}" }
        let input = try CLITests.temp("fail.jsonl", Array((lines.joined(separator: "\n") + "\n").utf8))
        let args = ["run", rules, "--lake", lake, "--commit-rows", "2", "--input", "pay=\(input)", "--threads", "\(threads)"]
        let r = try CLITests.run(args)
        #expect(r.status == 4, "\(r.stderr)")
        #expect(r.stderr.contains("error: expectation `positive` of flow `checked` failed: `amount >= 0` is false (amount = -3.0)"), "\(r.stderr)")
        #expect(r.stderr.contains("--> \(input):6"), "\(r.stderr)")
        // Sharded, a commit waits for the shards' snapshot 5,120 steps on: here, the end.
        let commits = threads == 1 ? "5 rows in 3 commits" : "5 rows in 1 commit"
        #expect(r.stderr.contains("table `silver.checked` (\(lake)/silver/checked): \(commits)"), "\(r.stderr)")
        // Run again: it resumes at the failing event (sharded: from the start), fails
        // again, and duplicates nothing.
        let again = try CLITests.run(args)
        #expect(again.status == 4, "\(again.stderr)")
        if threads == 1 {
            #expect(again.stderr.contains("from line 6"), "\(again.stderr)")
        } else {
            #expect(again.stderr.contains("1 batch already committed (skipped)"), "\(again.stderr)")
        }
        let t = try Self.python("""
            import sys, json
            import polars as pl
            print(json.dumps({"cards": sorted(pl.read_delta(sys.argv[1] + "/silver/checked")["card"].to_list())}))
            """, [lake])
        #expect(t["cards"] as? [String] == ["c1", "c2", "c3", "c4", "c5"])
    }

    /// `--commit-every 1m`: a batch ends at the event whose time enters a new minute.
    @Test func batchesEndWhenEventTimeCrossesTheInterval() throws {
        let lake = Self.freshLake("every")
        defer { try? FileManager.default.removeItem(atPath: lake) }
        let rules = try CLITests.temp("every.vigil", Array(Self.failRules.utf8))
        let lines = (0..<10).map { "{\"card\":\"c\($0)\",\"ts\":\($0 * 30_000),\"amount\":1.0}" }
        let input = try CLITests.temp("every.jsonl", Array((lines.joined(separator: "\n") + "\n").utf8))
        let r = try CLITests.run(["run", rules, "--lake", lake, "--commit-every", "1m", "--input", "pay=\(input)"])
        #expect(r.status == 0, "\(r.stderr)")
        // Batches: 0s-60s, 90s-120s, 150s-180s, 210s-240s, then 270s at the end.
        #expect(r.stderr.contains("table `silver.checked` (\(lake)/silver/checked): 10 rows in 5 commits"), "\(r.stderr)")
        let bad = try CLITests.run(["run", rules, "--lake", lake, "--commit-every", "often", "--input", "pay=\(input)"])
        #expect(bad.status == 2 && bad.stderr.contains("--commit-every takes a duration such as 5m"), "\(bad.stderr)")
    }

    /// The same command over an input that grew reads only the new lines (on 2 threads
    /// too: the shards' state before the end-of-input flush is what resumes).
    @Test(arguments: [1, 2]) func aRunOverAGrownInputTakesOnlyTheNewLines(threads: Int) throws {
        let lake = Self.freshLake("grow\(threads)")
        defer { try? FileManager.default.removeItem(atPath: lake) }
        let rules = try CLITests.temp("grow.vigil", Array(Self.failRules.utf8))
        let line = { (i: Int) in "{\"card\":\"c\(i)\",\"ts\":\(i * 1000),\"amount\":1.0}\n" }
        let input = try CLITests.temp("grow-\(UUID().uuidString).jsonl", Array((1...3).map(line).joined().utf8))
        let args = ["run", rules, "--lake", lake, "--input", "pay=\(input)", "--threads", "\(threads)"]
        #expect(try CLITests.run(args).status == 0)
        let handle = try #require(FileHandle(forWritingAtPath: input))
        handle.seekToEndOfFile()
        handle.write(Data((4...6).map(line).joined().utf8))
        try handle.close()
        let again = try CLITests.run(args)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("pay=\(input) from line 4"), "\(again.stderr)")
        #expect(again.stderr.contains("3 rows in 1 commit"), "\(again.stderr)")
        let t = try Self.python("""
            import sys, json
            import polars as pl
            print(json.dumps({"cards": sorted(pl.read_delta(sys.argv[1] + "/silver/checked")["card"].to_list())}))
            """, [lake])
        #expect(t["cards"] as? [String] == ["c1", "c2", "c3", "c4", "c5", "c6"])
    }

    /// A damaged checkpoint stops the run with one line saying what is wrong (exit 2),
    /// and `--reset` starts over from it.
    @Test func aDamagedCheckpointIsAnErrorAndResetStartsOver() throws {
        let lake = Self.freshLake("damaged")
        defer { try? FileManager.default.removeItem(atPath: lake) }
        let rules = try CLITests.temp("damaged.vigil", Array(Self.resumeRules.utf8))
        let input = try CLITests.temp("damaged-\(UUID().uuidString).jsonl", Array((1...50).map {
            "{\"user\":\"u\($0 % 4)\",\"ts\":\($0 * 1000),\"n\":\($0)}\n"
        }.joined().utf8))
        let args = ["run", rules, "--lake", lake, "--input", "ev=\(input)"]
        #expect(try CLITests.run(args).status == 0)
        let dir = lake + "/_vigil"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".checkpoint") })
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
        bytes[bytes.count - 10] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
        let damaged = try CLITests.run(args)
        #expect(damaged.status == 2)
        #expect(damaged.stderr.contains("cannot resume from the checkpoint") && damaged.stderr.contains("checksum mismatch"), "\(damaged.stderr)")
        #expect(damaged.stderr.split(separator: "\n").count == 1, "\(damaged.stderr)")
        let reset = try CLITests.run(args + ["--reset"])
        #expect(reset.status == 0, "\(reset.stderr)")
    }

    static let resumeRules = """
        stream ev
          key user
          time ts
          lateness 1s
          fields
            user: string
            ts: timestamp
            n: int

        flow all_events
          from ev
          into table silver.events

        aggregate per_minute
          from ev by user
          window tumbling 1m
          select count() as events, sum(n) as total
          into table gold.per_minute merge on (user, window_start)
        """

    /// SIGKILL mid-run, then the same command again: every table ends exactly as one
    /// uninterrupted run leaves it — no row lost, none twice. On 2 threads (each shard
    /// snapshots its keys where the commit falls), resumed with `--threads 1`: the
    /// checkpoint resumes on the thread count that took it.
    @Test(arguments: [1, 2]) func aKilledRunResumesExactlyOnce(threads: Int) throws {
        let rules = try CLITests.temp("resume.vigil", Array(Self.resumeRules.utf8))
        var text = ""
        var state: UInt64 = 42
        for i in 0..<60_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            text += "{\"user\":\"u\((state >> 33) % 200)\",\"ts\":\(1_700_000_000_000 + Int64(i) * 50 - Int64((state >> 20) % 500)),\"n\":\(i % 7)}\n"
        }
        let input = try CLITests.temp("resume.jsonl", Array(text.utf8))
        let killed = Self.freshLake("killed\(threads)"), clean = Self.freshLake("clean\(threads)")
        defer {
            try? FileManager.default.removeItem(atPath: killed)
            try? FileManager.default.removeItem(atPath: clean)
        }
        let args = { (lake: String, threads: Int) in ["run", rules, "--lake", lake, "--commit-rows", "3000", "--input", "ev=\(input)",
                                                      "--late", "/dev/null", "--bronze", "--threads", "\(threads)"] }
        // Start, wait for a few commits of the flow's table, kill -9.
        let p = Process()
        p.executableURL = CLITests.binary
        p.arguments = args(killed, threads)
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let log = killed + "/silver/events/_delta_log"
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && ((try? FileManager.default.contentsOfDirectory(atPath: log))?.filter { $0.hasSuffix(".json") }.count ?? 0) < 4 {
            usleep(2_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal, "the run ended before it could be killed")
        let resumed = try CLITests.run(args(killed, 1))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("note: resuming from the checkpoint after batch"), "\(resumed.stderr)")
        if threads > 1 {
            #expect(resumed.stderr.contains("note: the checkpoint was taken on \(threads) threads; resuming on \(threads)"), "\(resumed.stderr)")
        }
        let whole = try CLITests.run(args(clean, 1))
        #expect(whole.status == 0, "\(whole.stderr)")
        let t = try Self.python("""
            import sys, json
            import polars as pl
            out = {}
            for name in ["silver/events", "gold/per_minute", "bronze/ev"]:
                a = pl.read_delta(sys.argv[1] + "/" + name)
                b = pl.read_delta(sys.argv[2] + "/" + name)
                cols = sorted(a.columns)
                a, b = a.select(cols).sort(cols), b.select(cols).sort(cols)
                out[name] = [a.height, b.height, a.equals(b)]
            print(json.dumps(out))
            """, [killed, clean])
        for name in ["silver/events", "gold/per_minute", "bronze/ev"] {
            let v = t[name] as? [Any] ?? []
            #expect(v.count == 3 && v[0] as? Int == v[1] as? Int && v[2] as? Bool == true, "\(name): \(v)")
        }
        #expect((t["silver/events"] as? [Any])?.first as? Int == 60_000)
    }
}
