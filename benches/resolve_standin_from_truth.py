"""STAND-IN FOR `cdp resolve`, for the build benchmark only.

The identity stage (crate cdp-identity) is not on main yet. This script writes
`resolved_events` with the shape of docs/architecture.md ("Interfaces between
stages") from the generator's ground truth: every event gets the person
whose identifiers it carries (truth/identifiers.csv; an identifier listed
under several persons, like a household tablet, goes to the smallest person
id), one_key numbers persons by first appearance, one_id is OID + one_key in
12 digits; events whose identifiers belong to nobody get a null one_key.
Files: resolved_events/source=<s>/dt=<d>/*.parquet, rows sorted by one_key
then event_time, `source` stored in the file, `dt` only in the path.

Usage: resolve_standin_from_truth.py WORLD_DIR LAKE_DIR
"""
import os, sys, time

import duckdb

world, lake = sys.argv[1], sys.argv[2]
out = os.path.join(lake, "resolved_events")
os.makedirs(out, exist_ok=True)
t0 = time.perf_counter()
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute("SET preserve_insertion_order = true")
con.execute(f"""
CREATE TABLE id_person AS
SELECT id_type, id_value, min(person_id) AS person_id
FROM read_csv('{world}/truth/identifiers.csv', header = true,
              columns = {{'person_id': 'VARCHAR', 'id_type': 'VARCHAR', 'id_value': 'VARCHAR'}})
GROUP BY id_type, id_value
""")
con.execute(f"""
CREATE TABLE ev AS
SELECT * EXCLUDE (properties, provenance_origin, provenance_partition, provenance_offset)
FROM read_parquet('{lake}/events/*/*/*.parquet', hive_partitioning = false)
""")
con.execute("""
CREATE TABLE ev_person AS
SELECT e.source, e.event_id, min(p.person_id) AS person_id
FROM (SELECT source, event_id, unnest(identifiers) AS i FROM ev) AS e
JOIN id_person AS p ON p.id_type = e.i.id_type AND p.id_value = e.i.id_value
GROUP BY e.source, e.event_id
""")
con.execute("""
CREATE TABLE person_key AS
SELECT person_id, row_number() OVER (ORDER BY first_seen, person_id) AS one_key
FROM (SELECT person_id, min(event_time) AS first_seen
      FROM ev JOIN ev_person USING (source, event_id) GROUP BY person_id)
""")
sources = [r[0] for r in con.execute("SELECT DISTINCT source FROM ev ORDER BY 1").fetchall()]
for s in sources:
    con.execute(f"""
    COPY (
        SELECT e.event_id, e.source, e.event_type, e.event_time, e.amount, e.ad_cost, e.currency,
               e.channel, e.platform, e.channel_code, e.utm_source, e.utm_campaign, e.store_id,
               e.guide_id, e.campaign_id, e.order_id,
               k.one_key,
               CASE WHEN k.one_key IS NOT NULL THEN 'OID' || lpad(CAST(k.one_key AS VARCHAR), 12, '0') END AS one_id,
               strftime(e.event_time, '%Y-%m-%d') AS dt
        FROM ev AS e
        LEFT JOIN ev_person AS p USING (source, event_id)
        LEFT JOIN person_key AS k USING (person_id)
        WHERE e.source = '{s}'
        ORDER BY k.one_key NULLS LAST, e.event_time
    ) TO '{out}/source={s}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt), OVERWRITE_OR_IGNORE true)
    """)
n, keyed, persons = con.execute(
    "SELECT count(*), count(person_id), count(DISTINCT person_id) FROM ev LEFT JOIN ev_person USING (source, event_id)"
).fetchone()
print(f"stand-in resolve (ground truth, not cdp resolve): {n:,} events, {keyed:,} with a one_key, "
      f"{persons:,} one_ids, {time.perf_counter() - t0:.1f}s → {out}")
