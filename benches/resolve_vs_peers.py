"""Times `cdp resolve` end to end (Parquet events in; identity_map,
resolved_events, merges, conflicts, state out) against three peers on the
very same edges of the same graph, in one run:

(a) petgraph's UnionFind over the pre-interned integer edges (the floor);
(b) pandas factorize + scipy.sparse.csgraph.connected_components over the
    `TYPE:VALUE` edges (what a data scientist would write);
(c) the iterative label propagation that dbt identity-stitching packages
    run, in DuckDB, over the same `TYPE:VALUE` edges.

Those three find components only, from edges made ready for them. So that
the whole job is compared too, two of them also run end to end, as
subprocesses like ours: (b2) pyarrow + pandas + scipy and (c2) DuckDB read
the events Parquet, make the edges, find the components and write an
identity map (id_type, id_value, one_id, first_seen, last_seen) and each
event's one_id to Parquet. They apply no rule (junk, limits, hot values,
stable keys) and write event_id + one_id where ours rewrites every events
column with its one_id: less work than ours, never more.

(r) times DuckDB reading the events' identifiers and nothing else: the least
any end-to-end run does, to set the floor's ratio in proportion.

Run through resolve_vs_peers.sh, which builds the binaries, makes the world,
ingests it and creates the venv. `resolve_vs_peers.py --end-to-end
scipy|duckdb EVENTS_DIR OUT_DIR` runs one end-to-end peer alone."""
import glob, json, os, shutil, subprocess, sys, time

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import scipy.sparse
from scipy.sparse.csgraph import connected_components

cores = os.cpu_count()


def event_files(events_dir):
    return sorted(glob.glob(os.path.join(events_dir, "**", "*.parquet"), recursive=True))


def label_propagation(con):
    """dbt-style label propagation over tables e(a, b) (both directions) and
    l(node, label), every node its own label at first: each round takes the
    smallest label among a node's and its neighbours', until none changes.
    Returns the rounds run."""
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
            return rounds


def scipy_end_to_end(events_dir, out_dir):
    """Events in, identity map and events' one_ids out, as a data scientist
    would write it: flatten the identifiers, factorize `TYPE:VALUE`, an
    edge from each event's first identifier to each of its identifiers,
    connected_components."""
    t0 = time.perf_counter()
    t = ds.dataset(event_files(events_dir), format="parquet").to_table(
        columns=["event_id", "event_time", "identifiers"])
    ids = t.column("identifiers")
    event_of = pc.list_parent_indices(ids).to_numpy()  # ascending
    flat = pc.list_flatten(ids)
    id_type, id_value = pc.struct_field(flat, "id_type"), pc.struct_field(flat, "id_value")
    codes, uniques = pd.factorize(pc.binary_join_element_wise(id_type, id_value, ":").to_pandas())
    n_ids, n_events = len(uniques), t.num_rows
    starts = np.flatnonzero(np.r_[True, event_of[1:] != event_of[:-1]])
    first_of_event = np.full(n_events, -1, dtype=np.int64)
    first_of_event[event_of[starts]] = codes[starts]
    graph = scipy.sparse.coo_matrix(
        (np.ones(len(codes), dtype=np.int8), (first_of_event[event_of], codes)), shape=(n_ids, n_ids))
    _, labels = connected_components(graph, directed=False)
    times = pc.cast(t.column("event_time"), pa.int64()).to_numpy()[event_of]
    seen = pd.DataFrame({"code": codes, "t": times}).groupby("code")["t"].agg(["min", "max"])
    # factorize numbers values in order of first occurrence: their first rows.
    first = pd.Series(codes).drop_duplicates().index.to_numpy()
    micros = pa.timestamp("us", "UTC")
    pq.write_table(pa.table({
        "id_type": pc.take(id_type, first), "id_value": pc.take(id_value, first), "one_id": labels,
        "first_seen": pa.array(seen["min"].to_numpy(), micros),
        "last_seen": pa.array(seen["max"].to_numpy(), micros),
    }), os.path.join(out_dir, "identity_map.parquet"))
    pq.write_table(pa.table({
        "event_id": t.column("event_id"),
        "one_id": pa.array(labels[first_of_event], mask=first_of_event < 0),
    }), os.path.join(out_dir, "event_one_ids.parquet"))
    print(json.dumps({"identifiers": n_ids, "wall_s": time.perf_counter() - t0}))


def duckdb_end_to_end(events_dir, out_dir):
    """The same job in DuckDB SQL, components by label propagation."""
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {cores}")
    con.execute(f"""CREATE TABLE occ AS
        SELECT *, id_type || ':' || id_value AS k FROM (
            SELECT event_id, event_time, unnest(identifiers, recursive := true)
            FROM read_parquet({event_files(events_dir)!r}))""")
    # An edge from each event's first identifier to each of its others.
    con.execute("""CREATE TABLE e AS
        WITH f AS (SELECT event_id, min(k) AS k FROM occ GROUP BY event_id),
             e0 AS (SELECT DISTINCT f.k AS a, o.k AS b FROM occ o JOIN f USING (event_id) WHERE o.k <> f.k)
        SELECT a, b FROM e0 UNION ALL SELECT b, a FROM e0""")
    con.execute("CREATE TABLE l AS SELECT k AS node, k AS label FROM (SELECT DISTINCT k FROM occ)")
    label_propagation(con)
    con.execute(f"""COPY (SELECT id_type, id_value, any_value(label) AS one_id,
                        min(event_time) AS first_seen, max(event_time) AS last_seen
                    FROM occ JOIN l ON l.node = occ.k GROUP BY id_type, id_value)
                 TO '{os.path.join(out_dir, "identity_map.parquet")}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT event_id, min(label) AS one_id FROM occ JOIN l ON l.node = occ.k GROUP BY event_id)
                 TO '{os.path.join(out_dir, "event_one_ids.parquet")}' (FORMAT parquet)""")
    n_ids = con.execute("SELECT count(*) FROM l").fetchone()[0]
    print(json.dumps({"identifiers": n_ids, "wall_s": time.perf_counter() - t0}))


if len(sys.argv) == 5 and sys.argv[1] == "--end-to-end":
    os.makedirs(sys.argv[4], exist_ok=True)
    {"scipy": scipy_end_to_end, "duckdb": duckdb_end_to_end}[sys.argv[2]](sys.argv[3], sys.argv[4])
    sys.exit(0)

cdp, floor, out = sys.argv[1], sys.argv[2], sys.argv[3]
src_lake = os.path.join(out, "lake-events")
lake = os.path.join(out, "lake")
edges = os.path.join(out, "edges.parquet")


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
rounds = label_propagation(con)
duck_comp = con.execute("SELECT count(DISTINCT label) FROM l").fetchone()[0]
duck_wall = time.perf_counter() - t0
con.close()

# (r) the least any end-to-end run does: read the events' identifiers.
# DuckDB decoding and unnesting them (their maxima, so that the strings
# are read), nothing else.
con = duckdb.connect()
con.execute(f"SET threads = {cores}")
con.execute("SET enable_progress_bar = false")
listed = ", ".join(f"'{f}'" for f in event_files(os.path.join(lake, "events")))
t0 = time.perf_counter()
occurrences = con.execute(
    "SELECT count(*), max(id_type), max(id_value) FROM (SELECT unnest(identifiers, recursive := true) "
    f"FROM read_parquet([{listed}], union_by_name = true))").fetchone()[0]
read_wall = time.perf_counter() - t0
con.close()

# (b2), (c2): the whole job, events in, Parquet out, each in a process of
# its own like ours, so that its peak memory is its own. Wall time is the
# job's own, without Python's start and imports (which CPU time includes).
end_to_end = {}
for peer in ("scipy", "duckdb"):
    peer_out = os.path.join(out, f"end-to-end-{peer}")
    shutil.rmtree(peer_out, ignore_errors=True)
    _, cpu, rss, stdout = run_child([sys.executable, os.path.abspath(__file__), "--end-to-end", peer,
                                     os.path.join(src_lake, "events"), peer_out])
    res = json.loads(stdout.strip().splitlines()[-1])
    end_to_end[peer] = (res["wall_s"], cpu, rss, res["identifiers"])

floor_total = floor_res["read_s"] + floor_res["union_s"]
print(f"resolve benchmark: {events:,} events, {identifiers:,} identifiers, {n_edges:,} edges, {cores} cores")
print(f"{'':46} {'wall s':>8} {'x ours':>8}")
rows = [
    ("cdp resolve (events in, all outputs out)", ours_wall),
    ("(a) petgraph UnionFind, integer edges", floor_total),
    ("(b) pandas factorize + scipy components", scipy_wall),
    ("(c) DuckDB label propagation (dbt-style)", duck_wall),
    ("(r) DuckDB reading the identifiers, nothing else", read_wall),
]
for name, wall in rows:
    print(f"{name:46} {wall:8.2f} {wall / ours_wall:8.3f}")
print("the whole job, events Parquet in, identity map and events' one_ids out:")
print(f"{'':46} {'wall s':>8} {'x ours':>8} {'cpu s':>8} {'peak MiB':>9}")
for name, (wall, cpu, rss, n_ids) in [
    ("cdp resolve", (ours_wall, ours_cpu, ours_rss, identifiers)),
    ("(b2) pyarrow + pandas + scipy, no rules", end_to_end["scipy"]),
    ("(c2) DuckDB label propagation, no rules", end_to_end["duckdb"]),
]:
    print(f"{name:46} {wall:8.2f} {wall / ours_wall:8.3f} {cpu:8.1f} {rss / 2**20:9.0f}   {n_ids:,} identifiers")
print(f"   (a) read {floor_res['read_s']:.2f}s + union-find and labels {floor_res['union_s']:.2f}s; "
      f"(c) {rounds} rounds; components: ours {summary['one_ids']:,}, (a) {floor_res['components']:,} "
      f"(nodes without edges included), (b) {n_comp:,}, (c) {duck_comp:,} (nodes with edges only)")
print(f"   (r) {occurrences:,} identifier occurrences: an end-to-end run is at least {read_wall / floor_total:.1f}x "
      f"the floor before it does anything with them")
print(f"ratios: ours / floor {ours_wall / floor_total:.1f}x (goal <= 3), "
      f"scipy / ours {scipy_wall / ours_wall:.2f}x (goal > 1), duckdb / ours {duck_wall / ours_wall:.1f}x (goal >= 10); "
      f"end to end: scipy / ours {end_to_end['scipy'][0] / ours_wall:.2f}x, "
      f"duckdb / ours {end_to_end['duckdb'][0] / ours_wall:.1f}x")
print(f"ours: cpu {ours_cpu:.1f}s, peak RSS {ours_rss / 2**20:.0f} MiB = {ours_rss / identifiers:.0f} bytes per identifier "
      f"(graph alone {summary['graph_bytes_per_identifier']} bytes); phases (ms): {json.dumps(summary.get('phases_ms', {}))}")
