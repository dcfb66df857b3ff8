"""Runs one query of ../shared/bench/QUERIES.md on CORE (pycer 0.1.6, CEQL) over a
JSON Lines file; prints JSON: matches and seconds, timed as CORE's own benchmark
times it (send_events + get_output; the events are built before, in PyEvents).

CEQL's `;` is skip-till-any and pycer ignores selection strategies, so the reference
semantics is written with `:` (the next event of the partition) and explicit gaps,
as ../shared/bench/PEERS.md records. Q2's cross-event condition (C.country !=
A.country) and its per-step filters inside the gaps have no encoding here."""
import json, os, sys, tempfile, time
import pycer

G = "(A OR D OR E)"          # neither B nor C
H = "(A OR B OR D OR E)"     # not C
QUERIES = {
    1: "SELECT a, b FROM S WHERE (A as a : (B as b OR ((NOT(B)):+ : B as b))) PARTITION BY [user] WITHIN 10 minutes",
    3: (f"SELECT a, c FROM S WHERE (A as a : (B OR ({G}:+ : B)) : (B OR ({G}:+ : B)) : (B OR ({G}:+ : B))"
        f" : (C as c OR ({H}:+ : C as c))) PARTITION BY [user] WITHIN 10 minutes"),
    4: f"SELECT a, c FROM S WHERE (A as a : (C as c OR ({G}:+ : C as c))) PARTITION BY [user] WITHIN 10 minutes",
}

def main():
    q, path = int(sys.argv[1]), os.path.abspath(sys.argv[2])
    if q not in QUERIES:
        print(json.dumps({"skipped": "no CEQL encoding of C.country != A.country with filtered gaps"}))
        return
    os.chdir(tempfile.mkdtemp(prefix="core-"))   # pycer writes logs/ into the working directory
    server = pycer.PyOfflineServer()
    fields = "ts:int, user:string, amount:double, country:string, merchant:string"
    info = server.declare_stream("CREATE STREAM S { " + ", ".join(f"EVENT {t} {{ {fields} }}" for t in "ABCDE") + " }")
    ids = {e.name: e.id for e in info.events_info}
    server.add_query(QUERIES[q])
    events = []
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            events.append(pycer.PyEvent(ids[e["type"]], [pycer.PyIntValue(e["ts"]), pycer.PyStringValue(e["user"]),
                                                         pycer.PyDoubleValue(e["amount"]), pycer.PyStringValue(e["country"]),
                                                         pycer.PyStringValue(e["merchant"])], pycer.PyIntValue(e["ts"] * 1_000_000)))
    t = time.perf_counter()
    server.send_events(events)
    out = server.get_output()
    seconds = time.perf_counter() - t
    matches = sum(1 for line in out.split("\n") if line.startswith("["))
    print(json.dumps({"matches": matches, "seconds": seconds}))
    sys.stdout.flush()
    os._exit(0)

main()
