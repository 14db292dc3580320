"""The LTV benchmark's input from a generated world: the net paid orders
`cdp build` fits its models on, as a transactions CSV for
ltv_vs_lifetimes.py, and the time `cdp build` itself takes with LTV.

1. Runs `cdp build --emit-sql DIR` (profiles, tags and LTV, 2 threads) on
   the lake — resolved by `cdp resolve` — and prints its summary, which
   includes the seconds of its `ltv` stage (purchases query, fits,
   predictions, ltv tables) and the fitted parameters.
2. Runs the emitted orders.sql and purchases.sql — the models' input, as
   cdp ran it — in DuckDB over the same resolved_events and writes
   customer_id (one_key), date, amount.

Usage: ltv_world_transactions.py CDP LAKE AS_OF OUT_CSV
"""
import os, subprocess, sys, time

import cdp_duckdb

cdp, lake, as_of, out_csv = sys.argv[1:5]
sql_dir = os.path.join(os.path.dirname(os.path.abspath(out_csv)), "emitted-sql-ltv")
env = {**os.environ, "RUST_LOG": "warn", "CDP__BUILD__THREADS": "2"}
t0 = time.perf_counter()
res = subprocess.run(
    [cdp, "build", "--lake", lake, "--as-of", as_of, "--emit-sql", sql_dir],
    check=True, capture_output=True, text=True, env=env,
)
elapsed = time.perf_counter() - t0
print(f"cdp build with LTV, 2 threads: {elapsed:.2f} s wall")
print(res.stdout.strip())

read = lambda name: open(os.path.join(sql_dir, name)).read()
con = cdp_duckdb.connect(lake)
con.execute("CREATE VIEW orders AS " + read("orders.sql"))
con.execute(
    "COPY (SELECT one_key AS customer_id, strftime(DATE '1970-01-01' + day, '%Y-%m-%d') AS date, "
    f"amount FROM ({read('purchases.sql')}) ORDER BY date, customer_id, amount) "
    f"TO '{out_csv}' (HEADER, DELIMITER ',')"
)
rows, customers = con.execute(
    f"SELECT count(*), count(DISTINCT customer_id) FROM read_csv('{out_csv}')"
).fetchone()
print(f"wrote {out_csv}: {rows:,} net paid orders of {customers:,} customers")
