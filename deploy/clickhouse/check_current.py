#!/usr/bin/env python3
"""Runs the migrations and BI queries of deploy/clickhouse/ on current
ClickHouse (chdb, ClickHouse in-process), over a lake's Parquet, and computes
the reference figures with DuckDB from the same Parquet.

    check_current.py LAKE_DIR REFERENCE_DIR OUT_JSON

LAKE_DIR: a lake with resolved_events/ and identity_map/ (Hive folders).
REFERENCE_DIR: <query>.sql in DuckDB's dialect, the same figures computed
independently of ClickHouse (and _views.sql, run first).
Writes {"clickhouse_version", "queries": {name: {"chdb": rows, "reference":
rows or null}}} with every cell as text (NULL as null).

The cdp-clickhouse integration tests call it (with CDP_TEST_PYTHON, the
venv of `make venv`, which has chdb and duckdb) and compare both with
ClickHouse 18.16's figures.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def statements(text):
    """The statements of a SQL file: `--` comments dropped, split on `;`
    outside quotes (the same rule as the Rust loader's sql_text.rs)."""
    out, cur, quote, i = [], [], None, 0
    while i < len(text):
        c = text[i]
        if quote:
            cur.append(c)
            if c == "\\" and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 1
            elif c == quote:
                if i + 1 < len(text) and text[i + 1] == quote:
                    cur.append(text[i + 1])
                    i += 1
                else:
                    quote = None
        elif c in "'`\"":
            quote = c
            cur.append(c)
        elif c == "-" and text[i + 1 : i + 2] == "-":
            while i < len(text) and text[i] != "\n":
                i += 1
            cur.append("\n")
        elif c == ";":
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur).strip())
    return [s for s in out if s]


def tsv_rows(text):
    rows = []
    for line in text.splitlines():
        rows.append([None if cell == "\\N" else cell for cell in line.split("\t")])
    return rows


def run_chdb(lake, queries):
    from chdb import session

    s = session.Session()
    version = str(s.query("SELECT version()", "TSV")).strip()
    s.query("CREATE DATABASE IF NOT EXISTS cdp")
    s.query("USE cdp")
    migrations = sorted(f for f in os.listdir(HERE) if f.endswith(".sql"))
    for name in migrations:
        with open(os.path.join(HERE, name)) as f:
            for statement in statements(f.read()):
                s.query(statement)
    for table, pattern in [
        ("resolved_events", "resolved_events/*/*/*.parquet"),
        ("identity_map", "identity_map/*.parquet"),
    ]:
        columns = tsv_rows(
            str(s.query(f"SELECT name, type FROM system.columns WHERE database = 'cdp' AND table = '{table}'", "TSV"))
        )
        select = []
        for name, ctype in columns:
            ctype = ctype.replace("\\'", "'")
            if name == "_load_version":
                select.append("toUInt64(1)")
            elif name.endswith("_us") and name != "_us":
                select.append(f"toUnixTimestamp64Micro({name[:-3]})")
            else:
                select.append(f"CAST({name} AS {ctype})")
        path = os.path.join(os.path.abspath(lake), pattern)
        s.query(
            f"INSERT INTO cdp.{table} ({', '.join(n for n, _ in columns)}) "
            f"SELECT {', '.join(select)} FROM file('{path}', Parquet)"
        )
    results = {}
    for name, sql in queries.items():
        results[name] = tsv_rows(str(s.query(sql, "TSV")))
    counts = {
        "resolved_events": str(s.query("SELECT count() FROM resolved_events FINAL", "TSV")).strip(),
    }
    return version, results, counts


def run_reference(lake, reference_dir, names):
    import duckdb

    # No progress bar: stdout carries the JSON answer.
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    lake = os.path.abspath(lake)
    con.execute(
        f"CREATE VIEW resolved_events AS SELECT * FROM read_parquet('{lake}/resolved_events/*/*/*.parquet', hive_partitioning = false)"
    )
    con.execute(f"CREATE VIEW identity_map AS SELECT * FROM read_parquet('{lake}/identity_map/*.parquet')")
    with open(os.path.join(reference_dir, "_views.sql")) as f:
        for statement in statements(f.read()):
            con.execute(statement)
    results = {}
    for name in names:
        path = os.path.join(reference_dir, name + ".sql")
        if not os.path.exists(path):
            results[name] = None
            continue
        with open(path) as f:
            rows = con.execute(f.read()).fetchall()
        results[name] = [[None if v is None else str(v) for v in row] for row in rows]
    return results


def main():
    lake, reference_dir, out = sys.argv[1:4]
    qdir = os.path.join(HERE, "queries")
    queries = {}
    for f in sorted(os.listdir(qdir)):
        if f.endswith(".sql"):
            with open(os.path.join(qdir, f)) as fh:
                queries[f[:-4]] = statements(fh.read())[0]
    version, chdb_results, counts = run_chdb(lake, queries)
    reference = run_reference(lake, reference_dir, list(queries))
    with open(out, "w") as f:
        json.dump(
            {
                "clickhouse_version": version,
                "counts": counts,
                "queries": {n: {"chdb": chdb_results[n], "reference": reference[n]} for n in queries},
            },
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
