"""Runs one query of ../shared/bench/QUERIES.md on Elastic EQL's Python engine (PyPI
`eql` 1.0.1) over the first N events of a JSON Lines file; prints JSON: matches and
seconds (the engine only; events are built before).

EQL's sequences have other semantics: a sequence keeps the newest pending sequence
per stage and key, and an event that starts a new one replaces the older, so its
counts are not oracle.py's. `maxspan` is the whole sequence's span. Q2 leaves out
C.country != A.country (EQL joins on equality only); Q3 asks for exactly three B
steps; Q4 ends a pending sequence at a B with `until`."""
import json, os, sys, time
from eql import Event, PythonEngine, parse_query

QUERIES = {
    1: 'sequence by user with maxspan=10m [ev where type == "A"] [ev where type == "B"]',
    # EQL cannot compare C.country with A.country: the condition is left out.
    2: ('sequence by user with maxspan=30m [ev where type == "A" and amount < 10]'
        ' [ev where type == "B" and amount < 10] [ev where type == "C" and amount > 100]'),
    3: ('sequence by user with maxspan=10m [ev where type == "A"] [ev where type == "B"]'
        ' [ev where type == "B"] [ev where type == "B"] [ev where type == "C"]'),
    4: 'sequence by user with maxspan=10m [ev where type == "A"] [ev where type == "C"] until [ev where type == "B"]',
}

def main():
    q, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    # Timestamps are epoch milliseconds: 1000 ticks per second (the default is
    # Windows FILETIME's 10,000,000, which would stretch maxspan 10,000-fold).
    engine = PythonEngine({"time_unit": 1000})
    results = []
    engine.add_query(parse_query(QUERIES[q]))
    engine.add_output_hook(results.append)
    engine.finalize()
    events = []
    with open(path) as f:
        for i, line in enumerate(f):
            if i >= n:
                break
            e = json.loads(line)
            events.append(Event("ev", e["ts"], e))
    t = time.perf_counter()
    engine.stream_events(events)
    seconds = time.perf_counter() - t
    print(json.dumps({"matches": len(results), "seconds": seconds, "events": len(events)}))
    sys.stdout.flush()
    os._exit(0)

main()
