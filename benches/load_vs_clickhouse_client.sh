#!/usr/bin/env bash
# Load benchmark: `cdp load` (Parquet → RowBinary over HTTP, staged and
# attached) against `clickhouse-client --query 'INSERT … FORMAT TSV'` of the
# same rows (the same Parquet exported to TSV beforehand, not timed) into the
# same ClickHouse server, in the same run. Prints rows/s of both and the ratio.
#
#   benches/load_vs_clickhouse_client.sh [PERSONS]   (default 300000)
#
# Measures resolved_events and profiles of a lake made by `cdp generate`,
# `cdp ingest`, `cdp resolve` and `cdp build`, shared with
# benches/build_vs_duckdb.sh (the same $BENCH_OUT/build-PERSONS).
# Starts its own ClickHouse (deploy/local/clickhouse.sh) on ports 18125/19002
# under $BENCH_OUT and stops it at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
persons="${1:-300000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cdp-target}"
venv="${VENV:-$HOME/.cache/cdp-venv}"
bench_out="${BENCH_OUT:-/work/bench-out}"
out="$bench_out/build-$persons"

export CDP_LOCAL_STATE="$bench_out/load-clickhouse"
export CDP_CLICKHOUSE_HTTP_PORT="${CDP_CLICKHOUSE_HTTP_PORT:-18125}"
export CDP_CLICKHOUSE_TCP_PORT="${CDP_CLICKHOUSE_TCP_PORT:-19002}"

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb' 2>/dev/null || "$venv/bin/pip" install --quiet duckdb
cargo build --release -p cdp
cdp="$CARGO_TARGET_DIR/release/cdp"

if [ ! -f "$out/world/truth/summary.json" ]; then
  rm -rf "$out/world" "$out/lake"
  "$cdp" generate --out "$out/world" --persons "$persons" --seed 1 >/dev/null
fi
if [ ! -d "$out/lake/events" ]; then
  "$cdp" ingest --lake "$out/lake" \
    --input online="$out/world/online.jsonl" --input offline="$out/world/offline.jsonl" \
    --input ad="$out/world/ad.jsonl" --input transaction="$out/world/transaction.jsonl" >/dev/null
fi
[ -f "$out/lake/identity/current.json" ] || RUST_LOG=warn "$cdp" resolve --lake "$out/lake" >/dev/null
[ -f "$out/lake/builds/current.json" ] || RUST_LOG=warn "$cdp" build --lake "$out/lake" --as-of "${AS_OF:-2026-11-30}" >/dev/null

deploy/local/clickhouse.sh start >&2
trap 'deploy/local/clickhouse.sh stop >&2' EXIT
"$venv/bin/python" benches/load_vs_clickhouse_client.py "$cdp" "$out" \
  "http://127.0.0.1:$CDP_CLICKHOUSE_HTTP_PORT" "$CDP_CLICKHOUSE_TCP_PORT"
