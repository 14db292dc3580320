#!/usr/bin/env bash
# Kafka ingest benchmark: `cdp ingest` from a consumer group into the lake
# against a bare rdkafka consumer that only counts the same topics on the same
# broker, in the same run. Usage:
#   benches/kafka_ingest_vs_bare_consumer.sh [PERSONS]   (default 100000, ~1M messages)
# BROKERS (default: the local broker of deploy/local/kafka.sh, started if needed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
persons="${1:-100000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cdp-target}"
out="${BENCH_OUT:-$PWD/bench-out}/kafka-$persons"
mkdir -p "$out"

cargo build --release -p cdp
cargo build --release -p cdp-ingest --example kafka_count
cdp="$CARGO_TARGET_DIR/release/cdp"
count="$CARGO_TARGET_DIR/release/examples/kafka_count"

if [ -z "${BROKERS:-}" ]; then
  deploy/local/kafka.sh status >/dev/null 2>&1 || deploy/local/kafka.sh start >&2
  BROKERS=$(deploy/local/kafka.sh brokers)
fi
if [ ! -f "$out/world/truth/summary.json" ]; then
  rm -rf "$out/world"
  "$cdp" generate --out "$out/world" --persons "$persons" --seed 3 >/dev/null
fi
exec python3 benches/kafka_ingest_vs_bare_consumer.py "$cdp" "$count" "$BROKERS" "$out"
