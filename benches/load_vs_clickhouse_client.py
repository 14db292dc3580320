"""Load benchmark driver (see load_vs_clickhouse_client.sh).

    load_vs_clickhouse_client.py CDP OUT HTTP_URL TCP_PORT
"""
import os
import subprocess
import sys
import time
import urllib.request

import duckdb

cdp, out, url, tcp_port = sys.argv[1:5]
lake = os.path.join(out, "lake")


def query(sql, database=None):
    target = url + "/" + (f"?database={database}" if database else "")
    with urllib.request.urlopen(urllib.request.Request(target, data=sql.encode())) as r:
        return r.read().decode()


def export_tsv(table, pattern, columns, path):
    """The same rows as TSV, ClickHouse's escaping, for clickhouse-client."""
    if os.path.exists(path):
        return
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    select = []
    for name, ctype in columns:
        if name == "_load_version":
            select.append("1")
        elif name.endswith("_us"):
            select.append(f"epoch_us({name[:-3]})")
        elif ctype.startswith("DateTime") or ctype.startswith("Nullable(DateTime"):
            select.append(f"strftime({name}, '%Y-%m-%d %H:%M:%S')")
        elif ctype == "Array(String)":
            # ClickHouse's TSV array literal: ['a','b'] (no quote or backslash in these values).
            # A NULL list loads as [] (the column is not Nullable), as cdp load does.
            select.append(f"COALESCE('[' || array_to_string(list_transform({name}, lambda s: chr(39) || s || chr(39)), ',') || ']', '[]')")
        else:
            select.append(name)
    con.execute(f"""COPY (SELECT {', '.join(select)} FROM read_parquet('{lake}/{pattern}', hive_partitioning = false))
                    TO '{path}' (FORMAT csv, DELIMITER '\t', HEADER false, NULLSTR '\\N', QUOTE '', ESCAPE '')""")


def columns_of(database, table):
    rows = query(f"SELECT name, type FROM system.columns WHERE database = '{database}' AND table = '{table}' FORMAT TSV")
    return [tuple(line.split("\t")) for line in rows.splitlines()]


def main():
    # Older builds' files are deleted once builds/current.json names the new
    # one, so the glob reads exactly the current build.
    tables = [("resolved_events", "resolved_events/*/*/*.parquet"), ("profiles", "profiles/*.parquet")]

    best = {}
    for attempt in range(2):
        # cdp load into a fresh database.
        query("DROP DATABASE IF EXISTS bench_cdp")
        t0 = time.perf_counter()
        run = subprocess.run([cdp, "load", "--lake", lake, "--clickhouse", url, "--database", "bench_cdp"],
                             capture_output=True, text=True)
        cdp_total = time.perf_counter() - t0
        if run.returncode != 0:
            sys.exit(run.stderr)
        print(run.stdout if attempt == 0 else "", end="")
        seconds = {}
        for line in run.stdout.splitlines():
            parts = line.split()
            if parts and parts[0] in dict(tables):
                seconds[parts[0]] = float(parts[4])
        # clickhouse-client INSERT … FORMAT TSV of the same rows into an empty twin.
        query("DROP DATABASE IF EXISTS bench_tsv")
        query("CREATE DATABASE bench_tsv")
        for table, pattern in tables:
            query(f"CREATE TABLE bench_tsv.{table} AS bench_cdp.{table}")
            columns = columns_of("bench_cdp", table)
            tsv = os.path.join(out, f"{table}.tsv")
            export_tsv(table, pattern, columns, tsv)
            rows = int(query(f"SELECT count() FROM bench_cdp.{table}"))
            names = ", ".join(n for n, _ in columns)
            with open(tsv, "rb") as f:
                t0 = time.perf_counter()
                subprocess.run(["clickhouse-client", "--port", tcp_port, "--query",
                                f"INSERT INTO bench_tsv.{table} ({names}) FORMAT TSV"], stdin=f, check=True)
                client_s = time.perf_counter() - t0
            loaded = int(query(f"SELECT count() FROM bench_tsv.{table}"))
            assert loaded == rows, f"{table}: clickhouse-client loaded {loaded} rows, cdp {rows}"
            cdp_s = seconds[table]
            print(f"round {attempt + 1}: {table}: {rows} rows; cdp load {cdp_s:.2f}s ({rows / cdp_s:,.0f} rows/s, "
                  f"whole command {cdp_total:.2f}s); clickhouse-client TSV {client_s:.2f}s ({rows / client_s:,.0f} rows/s)")
            b = best.setdefault(table, [rows, cdp_s, client_s])
            b[1], b[2] = min(b[1], cdp_s), min(b[2], client_s)

    for table, (rows, cdp_s, client_s) in best.items():
        print(f"{table}: best of 2: cdp load {rows / cdp_s:,.0f} rows/s, clickhouse-client {rows / client_s:,.0f} rows/s, "
              f"ratio {client_s / cdp_s:.2f}x (goal >= 0.8x)")
    query("DROP DATABASE IF EXISTS bench_cdp")
    query("DROP DATABASE IF EXISTS bench_tsv")


if __name__ == "__main__":
    main()
