"""Runs one query of ../shared/bench/QUERIES.md as Flink SQL MATCH_RECOGNIZE
(parallelism 1, event time from ts, watermark 1 s) over a CSV file; prints JSON:
matches, the JVM/environment start-up and the job's own time (seconds).

The queries are the ones ../shared/bench/PEERS.md gives oracle.py's counts with:
AFTER MATCH SKIP TO NEXT ROW (every A starts an attempt), greedy gaps that exclude
the next step, and WITHIN + 1 ms (Flink's WITHIN is exclusive, the reference's
bound is inclusive)."""
import json, os, sys, tempfile, time

QUERIES = {
    1: """PATTERN (A Z* B) WITHIN INTERVAL '600.001' SECOND(3, 3)
          DEFINE A AS A.type = 'A', Z AS Z.type <> 'B', B AS B.type = 'B'""",
    2: """PATTERN (A Z1* B Z2* C) WITHIN INTERVAL '1800.001' SECOND(4, 3)
          DEFINE A AS A.type = 'A' AND A.amount < 10,
                 Z1 AS NOT (Z1.type = 'B' AND Z1.amount < 10),
                 B AS B.type = 'B' AND B.amount < 10,
                 Z2 AS NOT (Z2.type = 'C' AND Z2.amount > 100 AND Z2.country <> A.country),
                 C AS C.type = 'C' AND C.amount > 100 AND C.country <> A.country""",
    3: """PATTERN (A X* C) WITHIN INTERVAL '600.001' SECOND(3, 3)
          DEFINE A AS A.type = 'A', X AS X.type <> 'C', C AS C.type = 'C'""",
    4: """PATTERN (A X* C) WITHIN INTERVAL '600.001' SECOND(3, 3)
          DEFINE A AS A.type = 'A', X AS X.type NOT IN ('B', 'C'), C AS C.type = 'C'""",
}

def main():
    q, path = int(sys.argv[1]), os.path.abspath(sys.argv[2])
    started = time.perf_counter()
    from pyflink.table import EnvironmentSettings, TableEnvironment
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    env.get_config().set("parallelism.default", "1")
    env.execute_sql("SELECT 1").wait()   # the JVM, the planner and a first job: start-up
    startup = time.perf_counter() - started
    out = tempfile.mkdtemp(prefix="flink-out-")
    env.execute_sql(f"""
        CREATE TABLE ev (ts BIGINT, `user` STRING, type STRING, amount DOUBLE, country STRING, merchant STRING,
                         rowtime AS TO_TIMESTAMP_LTZ(ts, 3), WATERMARK FOR rowtime AS rowtime - INTERVAL '1' SECOND)
        WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'csv')""")
    env.execute_sql(f"""
        CREATE TABLE out_t (`user` STRING, a_ts BIGINT, nb BIGINT)
        WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')""")
    measures = "A.ts AS a_ts, " + ("SUM(CASE WHEN X.type = 'B' THEN 1 ELSE 0 END) AS nb" if q == 3 else "CAST(0 AS BIGINT) AS nb")
    where = "WHERE nb >= 3" if q == 3 else ""
    sql = f"""INSERT INTO out_t SELECT `user`, a_ts, nb FROM ev MATCH_RECOGNIZE (
        PARTITION BY `user` ORDER BY rowtime MEASURES {measures}
        ONE ROW PER MATCH AFTER MATCH SKIP TO NEXT ROW {QUERIES[q]}) {where}"""
    t = time.perf_counter()
    env.execute_sql(sql).wait()
    job = time.perf_counter() - t
    matches = 0
    for root, _, files in os.walk(out):
        for f in files:
            if not f.startswith("."):
                with open(os.path.join(root, f)) as fh:
                    matches += sum(1 for _ in fh)
    print(json.dumps({"matches": matches, "startup_s": startup, "job_s": job}))
    sys.stdout.flush()
    os._exit(0)

main()
