#!/usr/bin/env bash
# Lookup API load benchmark (issue 8): `cdp serve` (release) over a synthetic
# build of PERSONS profiles (identity_map, profiles with the 32 columns of
# `cdp build`, tags, ltv), loaded by a bounded load generator on loopback: a
# fixed number of requests, then it stops by itself and prints requests/s and
# p50/p90/p99 latency. Open loop at RATE requests/s (latency counted from each
# request's scheduled time, so queueing is charged), then closed loop (the most
# this machine does). The peer: the same HTTP stack answering one fixed
# document without a lookup (examples/static_peer.rs), run the same way.
#
# Usage: benches/serve_load.sh [PERSONS] [REQUESTS] [RATE]
#        (default 1000000 150000 5000). The lake goes to $BENCH_OUT
#        (default /work/bench-out)/serve-$PERSONS and is reused.
# The machine is shared: the script prints `uptime` beside the figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
persons="${1:-1000000}"
requests="${2:-150000}"
rate="${3:-5000}"
port="${SERVE_PORT:-18480}"
peer_port="${PEER_PORT:-18481}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cdp-target}"
out="${BENCH_OUT:-/work/bench-out}/serve-$persons"
mkdir -p "$out"

cargo build --release -p cdp --bin cdp
cargo build --release -p cdp-serve --example synth_lake --example serve_load --example static_peer
bin="$CARGO_TARGET_DIR/release"

if [ ! -f "$out/lake/builds/current.json" ]; then
  rm -rf "$out/lake"
  "$bin/examples/synth_lake" "$out/lake" "$persons"
fi

token="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export CDP_SERVE_TOKENS="$token"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_ready() { # URL what
  for _ in $(seq 1 1200); do
    if curl -fsS -H "Authorization: Bearer $token" "$1" 2>/dev/null | grep -q "$2"; then return 0; fi
    sleep 0.5
  done
  echo "not ready: $1" >&2; return 1
}

rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

load() { # label port
  echo "-- $1"
  echo "uptime before: $(uptime)"
  "$bin/examples/serve_load" --addr "127.0.0.1:$2" --token "$token" --persons "$persons" \
    --requests "$requests" --rate "$rate"
  "$bin/examples/serve_load" --addr "127.0.0.1:$2" --token "$token" --persons "$persons" \
    --requests "$requests" --mode closed --connections 16
  echo "uptime after:  $(uptime)"
}

started=$(date +%s.%N)
RUST_LOG=warn "$bin/cdp" serve --lake "$out/lake" --listen "127.0.0.1:$port" >"$out/serve.log" 2>&1 &
pids+=($!)
serve_pid=$!
wait_ready "http://127.0.0.1:$port/healthz" build_id
echo "cdp serve: $persons profiles loaded in $(echo "$(date +%s.%N) - $started" | bc) s, RSS $(rss_mib "$serve_pid") MiB"
# One real answer, the peer's fixed document.
curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/profiles/phone/13000000001" >"$out/profile.json"
echo "a profile document: $(wc -c <"$out/profile.json") bytes"
load "cdp serve (lookups over $persons profiles)" "$port" | tee "$out/serve.txt"
echo "cdp serve RSS after the load: $(rss_mib "$serve_pid") MiB"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; pids=()

"$bin/examples/static_peer" "127.0.0.1:$peer_port" "$out/profile.json" >"$out/peer.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$peer_port/healthz" ok
load "peer: the same HTTP stack answering a fixed document (no lookup)" "$peer_port" | tee "$out/peer.txt"

# p99 of each open-loop run, and the ratio.
p99() { grep -m1 'latency ms' "$1" | sed -E 's/.*p99 ([0-9.]+).*/\1/'; }
rps() { grep 'closed loop' "$1" | sed -E 's/.*= ([0-9]+) requests\/s.*/\1/'; }
echo "== open loop at $rate requests/s: p99 cdp serve $(p99 "$out/serve.txt") ms, peer $(p99 "$out/peer.txt") ms (ratio $(echo "scale=2; $(p99 "$out/serve.txt") / $(p99 "$out/peer.txt")" | bc))"
echo "== closed loop: cdp serve $(rps "$out/serve.txt") requests/s, peer $(rps "$out/peer.txt") requests/s (ratio $(echo "scale=2; $(rps "$out/serve.txt") / $(rps "$out/peer.txt")" | bc))"
