#!/usr/bin/env python3
"""Runs the migrations and BI queries of deploy/clickhouse/ on current
ClickHouse (chdb, ClickHouse in-process), over a lake's Parquet.

    check_current.py LAKE_DIR OUT_JSON

LAKE_DIR: a lake after `cdp resolve` and `cdp build` (resolved_events/,
identity_map/, and the tables builds/current.json lists).
Writes {"clickhouse_version", "counts", "queries": {name: rows}} with every
cell as text (NULL as null).

The cdp-clickhouse integration tests call it (with CDP_TEST_PYTHON, the
venv of `make venv`, which has chdb) and compare its figures with
ClickHouse 18.16's and with DataFusion's over the same lake.
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
    with open(os.path.join(lake, "builds", "current.json")) as f:
        build = json.load(f)
    sources = [
        ("resolved_events", [os.path.join(lake, "resolved_events/*/*/*.parquet")]),
        ("identity_map", [os.path.join(lake, "identity_map/*.parquet")]),
    ] + [
        (table, [os.path.join(lake, file) for file in build["tables"][table]])
        for table in ("profiles", "tags", "ltv", "ltv_model")
    ]
    for table, paths in sources:
        columns = tsv_rows(
            str(s.query(f"SELECT name, type FROM system.columns WHERE database = 'cdp' AND table = '{table}'", "TSV"))
        )
        select = []
        for name, ctype in columns:
            ctype = ctype.replace("\\'", "'")
            if name == "_load_version":
                select.append("toUInt64(1)")
            elif name.endswith("_us"):
                # A DateTime column's full precision: see 002_resolved_events.sql.
                select.append(f"toUnixTimestamp64Micro({name[:-3]})")
            else:
                select.append(f"CAST({name} AS {ctype})")
        for path in paths:
            s.query(
                f"INSERT INTO cdp.{table} ({', '.join(n for n, _ in columns)}) "
                f"SELECT {', '.join(select)} FROM file('{os.path.abspath(path)}', Parquet)"
            )
    results = {}
    for name, sql in queries.items():
        results[name] = tsv_rows(str(s.query(sql, "TSV")))
    counts = {
        "resolved_events": str(s.query("SELECT count() FROM resolved_events FINAL", "TSV")).strip(),
    }
    return version, results, counts


def main():
    lake, out = sys.argv[1:3]
    qdir = os.path.join(HERE, "queries")
    queries = {}
    for f in sorted(os.listdir(qdir)):
        if f.endswith(".sql"):
            with open(os.path.join(qdir, f)) as fh:
                queries[f[:-4]] = statements(fh.read())[0]
    version, chdb_results, counts = run_chdb(lake, queries)
    with open(out, "w") as f:
        json.dump(
            {
                "clickhouse_version": version,
                "counts": counts,
                "queries": chdb_results,
            },
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
