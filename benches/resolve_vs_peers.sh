#!/usr/bin/env bash
# Identity benchmark: `cdp resolve` of a generated world (1M persons, ~10M
# events by default) end to end against, on the same edges and in the same
# run: petgraph's UnionFind over integer edges (the floor), pandas factorize
# + scipy connected_components, and DuckDB label propagation (dbt-style).
# Usage: benches/resolve_vs_peers.sh [PERSONS] (default 1000000).
# The world (~4 GB for 1M) and lakes go to $BENCH_OUT (default /work/bench-out).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
persons="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cdp-target}"
venv="${VENV:-$HOME/.cache/cdp-venv}"
out="${BENCH_OUT:-/work/bench-out}/resolve-$persons"
mkdir -p "$out"

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb, pandas, scipy, pyarrow' 2>/dev/null \
  || "$venv/bin/pip" install --quiet duckdb pandas scipy pyarrow
cargo build --release -p cdp
cargo build --release -p cdp-identity --example resolve_floor
cdp="$CARGO_TARGET_DIR/release/cdp"
floor="$CARGO_TARGET_DIR/release/examples/resolve_floor"

if [ ! -f "$out/ingested.done" ]; then
  if [ ! -f "$out/world/truth/summary.json" ]; then
    rm -rf "$out/world"
    "$cdp" generate --out "$out/world" --persons "$persons" --seed 1 >/dev/null
  fi
  rm -rf "$out/lake-events"
  "$cdp" ingest --lake "$out/lake-events" \
    --input "online=$out/world/online.jsonl" --input "offline=$out/world/offline.jsonl" \
    --input "ad=$out/world/ad.jsonl" --input "transaction=$out/world/transaction.jsonl" >/dev/null
  touch "$out/ingested.done"
fi
exec "$venv/bin/python" benches/resolve_vs_peers.py "$cdp" "$floor" "$out"
