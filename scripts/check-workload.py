#!/usr/bin/env python3
"""Cross-checks Vigil against ../shared/bench/oracle.py on the standard workload.

For each of Benchmarks/workload/q1..q4.vigil and each input below, every match Vigil
reports must be one of oracle.py's, and none may be missing: compared as multisets
of (user, [event times]). A third round uses a smaller lateness, so Vigil reports
some events late; its matches must then equal oracle.py's on the input minus
exactly those events.

Windows: Benchmarks/workload/tumbling.vigil (5-minute count and sum by user) and
session.vigil (30-minute sessions) on both inputs must give exactly the groups this
script forms from the events; a last round gives the tumbling rule a 1 s lateness and
a 2 s allowed lateness, and the table its rows build (upserts and deletes applied in
order) must equal the groups over the events it took in (those at most 2 s behind
the watermark), the others being exactly the late ones.

usage: check-workload.py VIGIL_BINARY [--events N]
"""
import argparse, collections, json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(os.path.dirname(ROOT), "shared", "bench")

def oracle(path):
    out = subprocess.run([sys.executable, os.path.join(BENCH, "oracle.py"), path, "--emit"],
                         check=True, capture_output=True, text=True).stdout
    per = collections.defaultdict(collections.Counter)
    for line in out.splitlines():
        if line.startswith("{"):
            m = json.loads(line)
            per[m["q"]][(m["user"], tuple(m["ts"]))] += 1
    return per

def vigil(binary, rules, events, tmp, tag):
    alerts = os.path.join(tmp, f"{tag}.alerts")
    late = os.path.join(tmp, f"{tag}.late")
    subprocess.run([binary, "run", rules, "--input", f"events={events}", "--alerts", alerts, "--late", late],
                   check=True, capture_output=True, text=True)
    got = collections.Counter()
    for line in open(alerts):
        a = json.loads(line)
        got[(a["key"]["user"], tuple(e["ts"] for s in a["matched"] for e in s["events"]))] += 1
    late_lines = {json.loads(l)["line"] for l in open(late)}
    return got, late_lines

def compare(label, expected, got):
    missing, extra = expected - got, got - expected
    ok = not missing and not extra
    print(f"{label}: oracle {sum(expected.values())}, vigil {sum(got.values())}, "
          f"missing {sum(missing.values())}, extra {sum(extra.values())} -> {'ok' if ok else 'MISMATCH'}")
    for k in list(missing)[:3]: print("   missing", k)
    for k in list(extra)[:3]: print("   extra", k)
    return ok

def read_events(path):
    return [dict(json.loads(l), line=i) for i, l in enumerate(open(path), 1)]

def run_rows(binary, rules, events, tmp, tag):
    rows, late = os.path.join(tmp, f"{tag}.rows"), os.path.join(tmp, f"{tag}.late")
    subprocess.run([binary, "run", rules, "--input", f"events={events}", "--alerts", os.devnull, "--lake", os.path.join(tmp, "lake-" + tag),
                    "--rows", rows, "--late", late], check=True, capture_output=True, text=True)
    table = {}
    for line in open(rows):
        r = json.loads(line)
        ident = tuple(r["row"][c] for c in ("user", "window_start", "session_start") if c in r["row"])
        if r["op"] == "upsert": table[ident] = r["row"]
        else: del table[ident]
    return table, {json.loads(l)["line"] for l in open(late)}

def tumbling_groups(events, size=300_000):
    g = {}
    for e in events:
        start = e["ts"] // size * size
        n, total = g.get((e["user"], start), (0, 0.0))
        g[(e["user"], start)] = (n + 1, total + e["amount"])
    return g

def session_groups(events, gap=1_800_000):
    per = collections.defaultdict(list)
    for e in sorted(events, key=lambda e: (e["ts"], e["line"])): per[e["user"]].append(e)
    out = {}
    for user, evs in per.items():
        run = [evs[0]]
        for e in evs[1:] + [None]:
            if e is not None and e["ts"] - run[-1]["ts"] < gap:
                run.append(e); continue
            total = sum(x["amount"] for x in run)
            if total > 5000.0:
                out[(user, run[0]["ts"])] = (run[-1]["ts"], len(run), total, max(x["amount"] for x in run))
            if e is not None: run = [e]
    return out

def close(a, b): return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))

def compare_tumbling(label, expected, table):
    got = {k: (r["n"], r["total"]) for k, r in table.items()}
    bad = [k for k in set(expected) | set(got)
           if k not in expected or k not in got or expected[k][0] != got[k][0] or not close(expected[k][1], got[k][1])]
    print(f"{label}: expected {len(expected)} windows, vigil {len(got)}, differing {len(bad)} -> {'ok' if not bad else 'MISMATCH'}")
    for k in bad[:3]: print("   ", k, expected.get(k), got.get(k))
    return not bad

def compare_sessions(label, expected, table):
    got = {k: (r["session_end"], r["n"], r["total"], r["largest"]) for k, r in table.items()}
    bad = [k for k in set(expected) | set(got)
           if k not in expected or k not in got or expected[k][:2] != got[k][:2] or expected[k][3] != got[k][3]
           or not close(expected[k][2], got[k][2])]
    print(f"{label}: expected {len(expected)} sessions, vigil {len(got)}, differing {len(bad)} -> {'ok' if not bad else 'MISMATCH'}")
    for k in bad[:3]: print("   ", k, expected.get(k), got.get(k))
    return not bad

def check_windows(binary, tmp):
    ok = True
    for name in ("ordered", "disordered"):
        path = os.path.join(tmp, name + ".jsonl")
        events = read_events(path)
        table, late = run_rows(binary, os.path.join(ROOT, "Benchmarks", "workload", "tumbling.vigil"), path, tmp, f"{name}-tumbling")
        ok &= not late and compare_tumbling(f"{name} tumbling 5m", tumbling_groups(events), table)
        table, late = run_rows(binary, os.path.join(ROOT, "Benchmarks", "workload", "session.vigil"), path, tmp, f"{name}-session")
        ok &= not late and compare_sessions(f"{name} session 30m", session_groups(events), table)
    # Allowed lateness: which events are taken in follows the watermark by arrival.
    path = os.path.join(tmp, "disordered.jsonl")
    events = read_events(path)
    src = open(os.path.join(ROOT, "Benchmarks", "workload", "tumbling.vigil")).read()
    rules = os.path.join(tmp, "tumbling-allowed.vigil")
    open(rules, "w").write(src.replace("lateness 5s", "lateness 1s").replace("window tumbling 5m", "window tumbling 5m allowed lateness 2s"))
    table, late = run_rows(binary, rules, path, tmp, "allowed-tumbling")
    taken, expected_late, max_ts, absorbed = [], set(), None, 0
    for e in events:
        watermark = None if max_ts is None else max_ts - 1000
        if watermark is None or e["ts"] >= watermark:
            taken.append(e); max_ts = e["ts"] if max_ts is None else max(max_ts, e["ts"])
        elif e["ts"] >= watermark - 2_000:
            absorbed += 1
            taken.append(e)
        else:
            expected_late.add(e["line"])
    if not absorbed or not late:
        print("allowed lateness: the round needs both late updates and late events"); ok = False
    if late != expected_late:
        print(f"allowed lateness: {len(late)} late, expected {len(expected_late)} -> MISMATCH"); ok = False
    ok &= compare_tumbling(f"tumbling 5m, lateness 1s, allowed lateness 2s ({absorbed} late updates, {len(late)} late)", tumbling_groups(taken), table)
    return ok

def main():
    p = argparse.ArgumentParser()
    p.add_argument("vigil")
    p.add_argument("--events", type=int, default=100_000)
    a = p.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {
            "ordered": [],
            "disordered": ["--keys", "1000", "--gap-ms", "100", "--disorder", "0.05", "--max-delay-ms", "5000"],
        }
        for name, flags in inputs.items():
            path = os.path.join(tmp, name + ".jsonl")
            subprocess.run([sys.executable, os.path.join(BENCH, "gen_events.py"), "-n", str(a.events), "-o", path] + flags, check=True)
            expected = oracle(path)
            for q in "1234":
                rules = os.path.join(ROOT, "Benchmarks", "workload", f"q{q}.vigil")
                got, late = vigil(a.vigil, rules, path, tmp, f"{name}-q{q}")
                if late:
                    print(f"{name} q{q}: {len(late)} events reported late with lateness 5s")
                    ok = False
                ok &= compare(f"{name} q{q}", expected[q], got)
        # Smaller lateness: some disordered events are late; they must be exactly the
        # ones missing from Vigil's view of the input.
        path = os.path.join(tmp, "disordered.jsonl")
        lines = open(path).read().splitlines()
        for q in "1234":
            src = open(os.path.join(ROOT, "Benchmarks", "workload", f"q{q}.vigil")).read()
            rules = os.path.join(tmp, f"q{q}-lateness1s.vigil")
            open(rules, "w").write(src.replace("lateness 5s", "lateness 1s"))
            got, late = vigil(a.vigil, rules, path, tmp, f"late-q{q}")
            kept = os.path.join(tmp, f"kept-q{q}.jsonl")
            with open(kept, "w") as f:
                for i, line in enumerate(lines, 1):
                    if i not in late: f.write(line + "\n")
            if not late:
                print(f"lateness 1s q{q}: no late events; the round proves nothing")
                ok = False
            ok &= compare(f"lateness 1s q{q} ({len(late)} late)", oracle(kept)[q], got)
        ok &= check_windows(a.vigil, tmp)
    print("workload check:", "ok" if ok else "FAILED")
    sys.exit(0 if ok else 1)

if __name__ == "__main__":
    main()
