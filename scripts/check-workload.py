#!/usr/bin/env python3
"""Cross-checks Vigil against ../shared/bench/oracle.py on the standard workload.

For each of Benchmarks/workload/q1..q4.vigil and each input below, every match Vigil
reports must be one of oracle.py's, and none may be missing: compared as multisets
of (user, [event times]). A third round uses a smaller lateness, so Vigil reports
some events late; its matches must then equal oracle.py's on the input minus
exactly those events.

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
    print("workload check:", "ok" if ok else "FAILED")
    sys.exit(0 if ok else 1)

if __name__ == "__main__":
    main()
