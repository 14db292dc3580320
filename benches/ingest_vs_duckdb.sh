#!/usr/bin/env bash
# Ingest benchmark: `cdp ingest` of a generated world against DuckDB turning
# the same JSONL files into Parquet (read_json → COPY), in the same run.
# DuckDB does less work (no normalisation, dedup or dead letters): it is the
# bar to chase. Usage: benches/ingest_vs_duckdb.sh [PERSONS] (default 1000000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
persons="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cdp-target}"
venv="${VENV:-$HOME/.cache/cdp-venv}"
out="${BENCH_OUT:-$PWD/bench-out}/ingest-$persons"

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb' 2>/dev/null || "$venv/bin/pip" install --quiet duckdb
cargo build --release -p cdp
cdp="$CARGO_TARGET_DIR/release/cdp"

if [ ! -f "$out/world/truth/summary.json" ]; then
  rm -rf "$out/world"
  "$cdp" generate --out "$out/world" --persons "$persons" --seed 1 >/dev/null
fi
exec "$venv/bin/python" benches/ingest_vs_duckdb.py "$cdp" "$out"
