#!/usr/bin/env bash
# LTV benchmark: cdp-ltv (BG/NBD + Gamma-Gamma in Rust) against the Python
# `lifetimes` package doing the same work on the same transactions, in the
# same run: summary_data_from_transaction_data, BetaGeoFitter and
# GammaGammaFitter fits, per-customer P(alive), expected purchases in 90 and
# 365 days, expected average spend and CLV. Prints seconds (fits alone, end to
# end), the ratios, and the parameter and prediction differences.
#
# Usage: benches/ltv_vs_lifetimes.sh [CUSTOMERS] [TRANSACTIONS_CSV AS_OF]
#   CUSTOMERS (default 1000000): size of the simulated population when no
#   CSV is given. TRANSACTIONS_CSV: customer_id,date,amount with a header
#   (date YYYY-MM-DD), e.g. a world's paid orders; AS_OF: YYYY-MM-DD.
#
#       benches/ltv_vs_lifetimes.sh world [PERSONS] [AS_OF]
#   The same transactions `cdp build` fits on: the world and lake of
#   benches/build_vs_duckdb.sh PERSONS (default 1000000; run it first),
#   resolved by `cdp resolve`; times `cdp build` with LTV, then exports its
#   net paid orders (benches/ltv_world_transactions.py) and compares on them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cdp-target}"
if [ "${1:-}" = world ]; then
  persons="${2:-1000000}"
  as_of="${3:-2026-11-30}"
  build="${BENCH_OUT:-/work/bench-out}/build-$persons"
  [ -f "$build/lake/identity/current.json" ] || {
    echo "no resolved lake in $build: run benches/build_vs_duckdb.sh $persons first" >&2
    exit 1
  }
  build_venv="${VENV:-$HOME/.cache/cdp-venv}"
  [ -x "$build_venv/bin/python" ] || python3 -m venv "$build_venv"
  "$build_venv/bin/python" -c 'import duckdb' 2>/dev/null || "$build_venv/bin/pip" install --quiet duckdb
  cargo build --release --quiet -p cdp
  csv="$build/ltv-transactions.csv"
  "$build_venv/bin/python" benches/ltv_world_transactions.py \
    "$CARGO_TARGET_DIR/release/cdp" "$build/lake" "$as_of" "$csv"
  set -- "$persons" "$csv" "$as_of"
fi
customers="${1:-1000000}"
shift || true
# Its own venv: lifetimes 0.11.3 (the last release) pulls autograd and dill,
# and works with these current pandas / numpy / scipy on Python 3.11.
venv="${LTV_VENV:-$HOME/.cache/cdp-venv-ltv}"
out="${BENCH_OUT:-/work/bench-out}/ltv"

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import lifetimes, pandas, numpy, scipy' 2>/dev/null ||
  "$venv/bin/pip" install --quiet lifetimes==0.11.3 autograd==1.9.1 pandas==3.1.1 numpy==2.4.6 scipy==1.17.1
cargo build --release --quiet -p cdp-ltv --example ltv_csv
mkdir -p "$out"
exec "$venv/bin/python" benches/ltv_vs_lifetimes.py "$CARGO_TARGET_DIR/release/examples/ltv_csv" "$out" "$customers" "$@"
