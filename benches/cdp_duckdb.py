"""A DuckDB connection that runs cdp's job SQL (pipelines/sql/*.sql, as
`cdp build --emit-sql` writes it): the functions cdp registers beside
standard SQL (crates/cdp-jobs/src/session.rs) and the `resolved_events`
view over the lake's files. Shared by the build and LTV benchmarks."""
import duckdb


def connect(lake, threads=None):
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE MACRO utc_day(t) AS CAST(floor(epoch_us(t) / 86400000000) AS INTEGER)")
    con.execute(
        "CREATE VIEW resolved_events AS SELECT * FROM read_parquet("
        f"'{lake}/resolved_events/*/*/*.parquet', hive_partitioning = false, union_by_name = true)"
    )
    return con
