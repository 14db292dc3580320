#!/usr/bin/env bash
# Build benchmark: `cdp build` (profiles + tags, DataFusion) against DuckDB
# running the same SQL (pipelines/sql/*.sql, as cdp emits it with its
# parameters filled in) over the same resolved_events Parquet, 2 threads
# each, in the same run. Prints both times and the ratio.
#
# Usage: benches/build_vs_duckdb.sh [PERSONS] (default 1000000)
# Data under $BENCH_OUT (default /work/bench-out): the world, its lake, and
# resolved_events written by `cdp resolve` (identity/current.json marks a
# finished resolve; a lake without one is resolved again).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
persons="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cdp-target}"
venv="${VENV:-$HOME/.cache/cdp-venv}"
out="${BENCH_OUT:-/work/bench-out}/build-$persons"

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb' 2>/dev/null || "$venv/bin/pip" install --quiet duckdb
cargo build --release -p cdp
cdp="$CARGO_TARGET_DIR/release/cdp"

if [ ! -f "$out/world/truth/summary.json" ]; then
  rm -rf "$out/world"
  "$cdp" generate --out "$out/world" --persons "$persons" --seed 1 >/dev/null
fi
if [ ! -d "$out/lake/ingest_reports" ]; then
  rm -rf "$out/lake"
  RUST_LOG=warn "$cdp" ingest --lake "$out/lake" \
    --input "online=$out/world/online.jsonl" --input "offline=$out/world/offline.jsonl" \
    --input "ad=$out/world/ad.jsonl" --input "transaction=$out/world/transaction.jsonl"
fi
if [ ! -f "$out/lake/identity/current.json" ]; then
  rm -rf "$out/lake/resolved_events"
  RUST_LOG=warn "$cdp" resolve --lake "$out/lake"
fi
exec "$venv/bin/python" benches/build_vs_duckdb.py "$cdp" "$out/lake" "${AS_OF:-2026-11-30}"
