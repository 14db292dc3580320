"""Times `cdp build --skip-ltv` (profiles + tags with DataFusion, written to
the lake) against DuckDB running the same SQL — the files cdp emits with
--emit-sql, parameters and tag thresholds filled in — over the same
resolved_events Parquet and writing the same tables, 2 threads each.
Prints both times, the ratio, and checks that both engines agree.
Run through build_vs_duckdb.sh, which builds cdp and makes the data."""
import glob, json, os, re, shutil, subprocess, sys, time

import duckdb

import cdp_duckdb

cdp, lake, as_of = sys.argv[1], sys.argv[2], sys.argv[3]
runs = int(os.environ.get("RUNS", "3"))
threads = 2
bench = os.path.dirname(os.path.abspath(lake))
sql_dir = os.path.join(bench, "emitted-sql")
duck_out = os.path.join(bench, "duckdb-out")
env = {**os.environ, "RUST_LOG": "warn", "CDP__BUILD__THREADS": str(threads)}


def cdp_build(emit=False):
    cmd = [cdp, "build", "--lake", lake, "--as-of", as_of, "--skip-ltv"]
    if emit:
        cmd += ["--emit-sql", sql_dir]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return time.perf_counter() - t0, res.stdout


def read(name):
    return open(os.path.join(sql_dir, name)).read()


def duckdb_build():
    shutil.rmtree(duck_out, ignore_errors=True)
    os.makedirs(duck_out)
    t0 = time.perf_counter()
    con = cdp_duckdb.connect(lake, threads)
    con.execute("CREATE VIEW orders AS " + read("orders.sql"))
    con.execute("CREATE TABLE profiles AS " + read("profiles.sql"))
    con.execute(read("tag_cutoffs.sql")).fetchall()
    ranked = con.execute("SELECT CAST(net_revenue AS DOUBLE) AS r FROM profiles WHERE orders >= 1 ORDER BY r DESC")
    # The value-tier quantiles, fetched as cdp fetches them (DuckDB 2 renamed arrow()).
    (ranked.to_arrow_table if hasattr(ranked, "to_arrow_table") else ranked.fetch_arrow_table)()
    statements = [s.strip() for s in read("tags.sql").split(";") if s.strip()]
    groups = []
    for i, stmt in enumerate(statements):
        name = re.search(r"'([^']*)' AS tag_group", stmt).group(1)
        # cdp renders a multi-valued group as one SELECT … WHERE (rule) per rule.
        groups.append((name, "multi" if "FROM profiles WHERE (" in stmt else "exclusive", i))
        con.execute(("CREATE TABLE tags AS " if i == 0 else "INSERT INTO tags ") + stmt)
    con.execute("CREATE TABLE tag_groups (tag_group VARCHAR, kind VARCHAR, position INTEGER)")
    con.executemany("INSERT INTO tag_groups VALUES (?, ?, ?)", groups)
    con.execute("CREATE TABLE tag_coverage AS " + read("tag_coverage.sql"))
    for t in ["profiles", "tags", "tag_coverage"]:
        con.execute(f"COPY {t} TO '{duck_out}/{t}.parquet' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)")
    return time.perf_counter() - t0, con


events = duckdb.connect().execute(
    f"SELECT count(*) FROM read_parquet('{lake}/resolved_events/*/*/*.parquet', hive_partitioning = false)"
).fetchone()[0]
# Warm-up (and the SQL for DuckDB): one cdp build that emits what it ran.
_, summary = cdp_build(emit=True)
cdp_times, duck_times = [], []
for _ in range(runs):
    t, summary = cdp_build()
    cdp_times.append(t)
    t, con = duckdb_build()
    duck_times.append(t)

manifest = json.load(open(os.path.join(lake, "builds", "current.json")))
check = duckdb.connect()
files = lambda t: "[" + ",".join(f"'{lake}/{f}'" for f in manifest["tables"][t]) + "]"
for t in ["profiles", "tags"]:
    ours = check.execute(f"SELECT count(*) FROM read_parquet({files(t)})").fetchone()[0]
    theirs = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
    assert ours == theirs, (t, ours, theirs)
ours = check.execute(f"SELECT sum(net_revenue), sum(orders), sum(events) FROM read_parquet({files('profiles')})").fetchone()
theirs = con.execute("SELECT sum(net_revenue), sum(orders), sum(events) FROM profiles").fetchone()
assert ours == theirs, (ours, theirs)
diff = check.execute(
    f"SELECT count(*) FROM (SELECT * FROM read_parquet({files('tags')}) EXCEPT "
    f"SELECT * FROM read_parquet('{duck_out}/tags.parquet'))"
).fetchone()[0]
assert diff == 0, f"{diff} tag rows differ between the engines"
profiles = con.execute("SELECT count(*) FROM profiles").fetchone()[0]
tags = con.execute("SELECT count(*) FROM tags").fetchone()[0]

best_cdp, best_duck = min(cdp_times), min(duck_times)
print(f"build benchmark: {events:,} resolved events → {profiles:,} profiles, {tags:,} tags; "
      f"as of {as_of}; {threads} threads each; best of {runs}")
print(summary.strip().splitlines()[0])
print(f"cdp build (DataFusion): {best_cdp:6.2f} s   runs {', '.join(f'{t:.2f}' for t in cdp_times)}")
print(f"DuckDB, same SQL:       {best_duck:6.2f} s   runs {', '.join(f'{t:.2f}' for t in duck_times)}")
print(f"ratio cdp/duckdb (time): {best_cdp / best_duck:.2f}  (goal <= 1.0)")
print("both engines agree on row counts, revenue, orders, events and every tag")
