"""Vigil and its peers on the same input in one run: generates the workload with
../shared/bench/gen_events.py, checks every engine's match counts against
../shared/bench/oracle.py where its semantics allow, and prints events/s (median of
the runs, run interleaved: every engine and query once, then again) and how many
times faster Vigil is. Called by ./run, which installs the peers first."""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BENCH = os.path.abspath(os.path.join(ROOT, "..", "shared", "bench"))
ONE_CORE = ["taskset", "-c", "0"]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def last_json(out):
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON result in:\n" + out[-2000:])


def oracle(path, q):
    out = sh([sys.executable, os.path.join(BENCH, "oracle.py"), "--q", str(q), path]).stdout
    return int(out.split("matches=")[1].split()[0])


def vigil(binary, q, path, n):
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as alerts:
        t = time.perf_counter()
        sh(ONE_CORE + [binary, "run", os.path.join(ROOT, "Benchmarks", "workload", f"q{q}.vigil"),
                       "--input", f"events={path}", "--alerts", alerts.name])
        seconds = time.perf_counter() - t
        matches = sum(1 for _ in open(alerts.name))
    return {"matches": matches, "seconds": seconds, "events": n}


def flink(q, csv, n):
    r = last_json(sh(ONE_CORE + [os.path.join(HERE, ".venv-peers", "bin", "python"), os.path.join(HERE, "peers", "flink_sql.py"),
                                 str(q), csv], cwd=tempfile.gettempdir()).stdout)
    return {"matches": r["matches"], "seconds": r["job_s"], "startup": r["startup_s"], "events": n}


def core(q, path, n):
    r = last_json(sh(ONE_CORE + [os.path.join(HERE, ".venv-core", "bin", "python"), os.path.join(HERE, "peers", "core.py"),
                                 str(q), path]).stdout)
    if "skipped" in r:
        return {"skipped": r["skipped"]}
    return {"matches": r["matches"], "seconds": r["seconds"], "events": n}


def eql(q, path, n):
    r = last_json(sh(ONE_CORE + [os.path.join(HERE, ".venv-peers", "bin", "python"), os.path.join(HERE, "peers", "eql_run.py"),
                                 str(q), path, str(n)]).stdout)
    return {"matches": r["matches"], "seconds": r["seconds"], "events": r["events"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--eql-events", type=int, default=20_000, help="EQL runs on this prefix (it is slow)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--engines", default="vigil,flink,core,eql")
    ap.add_argument("--queries", default="1,2,3,4")
    ap.add_argument("--vigil", default=os.path.join(ROOT, ".build", "release", "vigil"))
    args = ap.parse_args()
    engines = args.engines.split(",")
    queries = [int(q) for q in args.queries.split(",")]

    data = os.path.join(HERE, "data")
    os.makedirs(data, exist_ok=True)
    jsonl = os.path.join(data, f"events-{args.events}.jsonl")
    csv = os.path.join(data, f"events-{args.events}.csv")
    prefix = os.path.join(data, f"events-{args.events}-first-{args.eql_events}.jsonl")
    gen = os.path.join(BENCH, "gen_events.py")
    if not os.path.exists(jsonl):
        sh([sys.executable, gen, "-n", str(args.events), "-o", jsonl])
    if not os.path.exists(csv):
        with_header = csv + ".header"
        sh([sys.executable, gen, "-n", str(args.events), "--format", "csv", "-o", with_header])
        with open(with_header) as src, open(csv, "w") as dst:
            next(src)                      # Flink's CSV source reads no header
            dst.writelines(src)
        os.remove(with_header)
    with open(jsonl) as src, open(prefix, "w") as dst:
        for i, line in enumerate(src):
            if i >= args.eql_events:
                break
            dst.write(line)

    print(f"workload: {args.events:,} events ({jsonl}); EQL on the first {args.eql_events:,}", file=sys.stderr)
    expected = {q: oracle(jsonl, q) for q in queries}
    expected_prefix = {q: oracle(prefix, q) for q in queries}
    print("oracle: " + ", ".join(f"Q{q} {expected[q]:,}" for q in queries), file=sys.stderr)

    runners = {
        "vigil": lambda q: vigil(args.vigil, q, jsonl, args.events),
        "flink": lambda q: flink(q, csv, args.events),
        "core": lambda q: core(q, jsonl, args.events),
        "eql": lambda q: eql(q, prefix, args.eql_events),
    }
    results = {e: {q: [] for q in queries} for e in engines}
    for run in range(args.runs):
        for q in queries:
            for e in engines:
                r = runners[e](q)
                results[e][q].append(r)
                shown = r.get("skipped") or f"{r['matches']:,} matches, {r['seconds']:.2f} s"
                print(f"run {run + 1} Q{q} {e}: {shown}", file=sys.stderr)

    def rate(e, q):
        rs = [r for r in results[e][q] if "skipped" not in r]
        return statistics.median(r["events"] / r["seconds"] for r in rs) if rs else None

    def check(e, q):
        rs = [r for r in results[e][q] if "skipped" not in r]
        if not rs:
            return "—"
        want = expected_prefix[q] if e == "eql" else expected[q]
        got = {r["matches"] for r in rs}
        if got == {want}:
            return "= oracle"
        return f"{'/'.join(f'{g:,}' for g in sorted(got))} (oracle {want:,})"

    names = {"vigil": "Vigil", "flink": "Flink SQL MATCH_RECOGNIZE (p=1, job time)", "core": "CORE (pycer)",
             "eql": f"Elastic EQL (first {args.eql_events:,} events)"}
    print(f"\n{args.events:,} events, one core (taskset -c 0), median of {args.runs} interleaved runs\n")
    print("| engine | " + " | ".join(f"Q{q} events/s | Q{q} matches" for q in queries) + " |")
    print("|---|" + "---|---|" * len(queries))
    for e in engines:
        cells = []
        for q in queries:
            r = rate(e, q)
            cells += [f"{r:,.0f}" if r else "—", check(e, q)]
        print(f"| {names[e]} | " + " | ".join(cells) + " |")
    if "vigil" in engines:
        print("\nVigil is this many times faster:\n")
        print("| peer | " + " | ".join(f"Q{q}" for q in queries) + " |")
        print("|---|" + "---|" * len(queries))
        for e in engines:
            if e == "vigil":
                continue
            cells = []
            for q in queries:
                v, p = rate("vigil", q), rate(e, q)
                cells.append(f"{v / p:.1f}x" if v and p else "—")
            print(f"| {names[e]} | " + " | ".join(cells) + " |")
    if "flink" in engines:
        startups = [r["startup"] for q in queries for r in results["flink"][q]]
        print(f"\nFlink's JVM and first-job start-up, not in its times above: median {statistics.median(startups):.1f} s")
    print("\nSemantics: Vigil, Flink SQL and CORE compute the reference semantics of ../shared/bench/QUERIES.md "
          "(CORE has no encoding of Q2's cross-event condition). EQL keeps the newest pending sequence per stage, "
          "cannot compare C.country with A.country (Q2), and asks for exactly three B (Q3), so its counts differ by design.")
    with open(os.path.join(data, "results.json"), "w") as f:
        json.dump({"events": args.events, "expected": expected, "expected_prefix": expected_prefix, "results": results}, f, indent=1)


main()
