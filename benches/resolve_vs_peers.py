"""Times `cdp resolve` end to end (Parquet events in; identity_map,
resolved_events, merges, conflicts, state out) against three peers on the
very same edges of the same graph, in one run:

(a) petgraph's UnionFind over the pre-interned integer edges (the floor);
(b) pandas factorize + scipy.sparse.csgraph.connected_components over the
    `TYPE:VALUE` edges (what a data scientist would write);
(c) the iterative label propagation that dbt identity-stitching packages
    run, in DuckDB, over the same `TYPE:VALUE` edges.

Run through resolve_vs_peers.sh, which builds the binaries, makes the world,
ingests it and creates the venv."""
import json, os, shutil, subprocess, sys, time

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import scipy.sparse
from scipy.sparse.csgraph import connected_components

cdp, floor, out = sys.argv[1], sys.argv[2], sys.argv[3]
src_lake = os.path.join(out, "lake-events")
lake = os.path.join(out, "lake")
edges = os.path.join(out, "edges.parquet")
cores = os.cpu_count()


def run_child(cmd, env=None):
    """Runs a command; returns (wall seconds, cpu seconds, peak RSS bytes, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env={**os.environ, "RUST_LOG": "warn", **(env or {})})
    stdout = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        sys.exit(f"{cmd[0]} failed with status {status}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024, stdout.decode()


# Ours: a fresh lake holding only the events, resolved from scratch.
shutil.rmtree(lake, ignore_errors=True)
shutil.copytree(os.path.join(src_lake, "events"), os.path.join(lake, "events"))
ours_wall, ours_cpu, ours_rss, _ = run_child([cdp, "resolve", "--lake", lake])
summary = json.load(open(os.path.join(lake, "identity", "current.json")))["summary"]
identifiers = summary["identifiers"] + sum(summary["excluded_identifiers"].values())
events = summary["events_read"]

# (a) the floor, exporting the edges from our graph state the first time.
if os.path.exists(edges):
    os.remove(edges)
subprocess.run([floor, lake, edges], check=True, stdout=subprocess.DEVNULL)
floor_wall, floor_cpu, floor_rss, floor_out = run_child([floor, lake, edges])
floor_res = json.loads(floor_out.strip().splitlines()[-1])
n_edges = floor_res["edges"]

# (b) pandas factorize + scipy connected_components, same edges as strings.
t0 = time.perf_counter()
table = pq.read_table(edges, columns=["src_id", "dst_id"])
src = table.column("src_id").to_pandas()
dst = table.column("dst_id").to_pandas()
codes, uniques = pd.factorize(pd.concat([src, dst], ignore_index=True))
n = len(uniques)
m = len(src)
graph = scipy.sparse.coo_matrix((np.ones(m, dtype=np.int8), (codes[:m], codes[m:])), shape=(n, n))
n_comp, labels = connected_components(graph, directed=False)
scipy_wall = time.perf_counter() - t0
del table, src, dst, codes, uniques, graph, labels

# (c) dbt-style label propagation in DuckDB: every node starts as its own
# label; each round takes the smallest label among itself and its
# neighbours, until no label changes.
con = duckdb.connect()
con.execute(f"SET threads = {cores}")
t0 = time.perf_counter()
con.execute(f"CREATE TABLE e AS SELECT src_id AS a, dst_id AS b FROM read_parquet('{edges}') "
            f"UNION ALL SELECT dst_id, src_id FROM read_parquet('{edges}')")
con.execute("CREATE TABLE l AS SELECT a AS node, a AS label FROM (SELECT DISTINCT a FROM e)")
rounds = 0
while True:
    rounds += 1
    con.execute("""
        CREATE OR REPLACE TABLE l2 AS
        SELECT l.node, LEAST(l.label, COALESCE(MIN(n.label), l.label)) AS label
        FROM l LEFT JOIN e ON e.a = l.node LEFT JOIN l n ON n.node = e.b
        GROUP BY l.node, l.label""")
    changed = con.execute("SELECT count(*) FROM l JOIN l2 USING (node) WHERE l.label <> l2.label").fetchone()[0]
    con.execute("DROP TABLE l; ALTER TABLE l2 RENAME TO l")
    if changed == 0 or rounds > 50:
        break
duck_comp = con.execute("SELECT count(DISTINCT label) FROM l").fetchone()[0]
duck_wall = time.perf_counter() - t0

floor_total = floor_res["read_s"] + floor_res["union_s"]
print(f"resolve benchmark: {events:,} events, {identifiers:,} identifiers, {n_edges:,} edges, {cores} cores")
print(f"{'':46} {'wall s':>8} {'x ours':>8}")
rows = [
    ("cdp resolve (events in, all outputs out)", ours_wall),
    ("(a) petgraph UnionFind, integer edges", floor_total),
    ("(b) pandas factorize + scipy components", scipy_wall),
    ("(c) DuckDB label propagation (dbt-style)", duck_wall),
]
for name, wall in rows:
    print(f"{name:46} {wall:8.2f} {wall / ours_wall:8.3f}")
print(f"   (a) read {floor_res['read_s']:.2f}s + union-find and labels {floor_res['union_s']:.2f}s; "
      f"(c) {rounds} rounds; components: ours {summary['one_ids']:,}, (a) {floor_res['components']:,} "
      f"(nodes without edges included), (b) {n_comp:,}, (c) {duck_comp:,} (nodes with edges only)")
print(f"ratios: ours / floor {ours_wall / floor_total:.1f}x (goal <= 3), "
      f"scipy / ours {scipy_wall / ours_wall:.2f}x (goal > 1), duckdb / ours {duck_wall / ours_wall:.1f}x (goal >= 10)")
print(f"ours: cpu {ours_cpu:.1f}s, peak RSS {ours_rss / 2**20:.0f} MiB = {ours_rss / identifiers:.0f} bytes per identifier "
      f"(graph alone {summary['graph_bytes_per_identifier']} bytes); phases (ms): {json.dumps(summary.get('phases_ms', {}))}")
