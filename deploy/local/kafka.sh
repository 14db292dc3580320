#!/usr/bin/env bash
# Local Kafka-compatible broker for tests and the demo: tansu (a single-binary
# Kafka-protocol broker from crates.io), as a user process. Clients use the plain
# Kafka protocol; nothing in the pipeline depends on tansu (users run real Kafka,
# see deploy/docker-compose.yml).
#
#   deploy/local/kafka.sh start|stop|status|install
#   deploy/local/kafka.sh topics NAME...     create topics (if missing) on the running broker
#
# Environment (all optional):
#   CDP_LOCAL_STATE        state root (default /tmp/cdp-local); log and pid file in $CDP_LOCAL_STATE/kafka/
#   CDP_KAFKA_HOST         listen/advertised address  (default 127.0.0.1)
#   CDP_KAFKA_PORT         listen/advertised port     (default 19092)
#   CDP_KAFKA_STORAGE      tansu storage engine URL   (default memory://tansu/ : empty at every start)
#   CDP_KAFKA_TOPICS       topics created at start    (default: the reference topics, see below)
#   CDP_KAFKA_PARTITIONS   partitions of created topics (default 3)
#   CDP_KAFKA_START_TIMEOUT seconds to wait for readiness (default 60)
#   TANSU                  tansu binary (default: `tansu` on PATH, else ~/.cargo/bin/tansu)
#   CDP_TANSU_VERSION      version cargo installs when missing (default 0.6.0)
#   CDP_TANSU_FEATURES     cargo features for that install (default dynostore: the memory/S3 engines;
#                          a default-features tansu has no storage engine at all)
set -euo pipefail

SERVICE=kafka
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

K_HOST="${CDP_KAFKA_HOST:-127.0.0.1}"
K_PORT="${CDP_KAFKA_PORT:-19092}"
K_STORAGE="${CDP_KAFKA_STORAGE:-memory://tansu/}"
K_TOPICS="${CDP_KAFKA_TOPICS:-cdp.online cdp.offline cdp.ad cdp.transaction cdp.dlq}"
K_PARTITIONS="${CDP_KAFKA_PARTITIONS:-3}"
K_START_TIMEOUT="${CDP_KAFKA_START_TIMEOUT:-60}"
TANSU_VERSION="${CDP_TANSU_VERSION:-0.6.0}"
TANSU_FEATURES="${CDP_TANSU_FEATURES:-dynostore}"
K_DIR="$CDP_LOCAL_STATE/kafka"
K_PIDFILE="$K_DIR/tansu.pid"
K_LOG="$K_DIR/tansu.log"
K_URL="tcp://$K_HOST:$K_PORT"

tansu_bin() {
  if [ -n "${TANSU:-}" ]; then echo "$TANSU"; return 0; fi
  if command -v tansu >/dev/null 2>&1; then command -v tansu; return 0; fi
  local cargo_home="${CARGO_HOME:-$HOME/.cargo}"
  if [ -x "$cargo_home/bin/tansu" ]; then echo "$cargo_home/bin/tansu"; return 0; fi
  return 1
}

# True when the installed tansu can open $K_STORAGE (a build without the right
# cargo feature exits at once with FeatureNotEnabled).
tansu_supports_storage() {
  local bin=$1 probe_log
  probe_log=$(mktemp)
  (cd "$K_DIR" && timeout 3 "$bin" broker --listener-url tcp://127.0.0.1:0 \
    --advertised-listener-url tcp://127.0.0.1:0 --storage-engine "$K_STORAGE" \
    >"$probe_log" 2>&1 </dev/null) || true
  if grep -q FeatureNotEnabled "$probe_log"; then
    rm -f "$probe_log"
    return 1
  fi
  rm -f "$probe_log"
  return 0
}

install() {
  mkdir -p "$K_DIR"
  local bin
  if bin=$(tansu_bin) && tansu_supports_storage "$bin"; then
    return 0
  fi
  if [ -n "${bin:-}" ]; then
    log "$bin cannot open storage $K_STORAGE (built without feature '$TANSU_FEATURES'): reinstalling"
  fi
  command -v cargo >/dev/null 2>&1 || die "cargo is needed to install tansu (https://rustup.rs)"
  log "installing tansu $TANSU_VERSION (features: $TANSU_FEATURES) with cargo install; this takes ~15 minutes"
  local t0=$SECONDS
  # A target dir of its own: kept between installs, away from the workspace's lock.
  CARGO_TARGET_DIR="${CDP_TOOLS_TARGET_DIR:-$HOME/.cache/cdp-tools-target}" \
    cargo install tansu --locked --version "$TANSU_VERSION" --features "$TANSU_FEATURES"
  log "tansu installed in $((SECONDS - t0))s"
  bin=$(tansu_bin) || die "cargo install finished but no tansu binary found (is ~/.cargo/bin on PATH?)"
  tansu_supports_storage "$bin" || die "$bin still cannot open storage $K_STORAGE"
}

list_topics() {
  "$(tansu_bin)" topic list --broker "$K_URL" 2>>"$K_DIR/cli.log"
}

# create_topics NAME...: creates each missing topic with $K_PARTITIONS partitions.
create_topics() {
  local existing name bin
  bin=$(tansu_bin)
  existing=$(list_topics) || die "cannot list topics on $K_URL (see $K_DIR/cli.log)"
  for name in "$@"; do
    if grep -qxF -- "$name" <<<"$existing" || grep -qF -- "\"$name\"" <<<"$existing"; then
      continue
    fi
    (cd "$K_DIR" && "$bin" topic create --broker "$K_URL" --partitions "$K_PARTITIONS" "$name" \
      >>"$K_DIR/cli.log" 2>&1) || die "could not create topic $name (see $K_DIR/cli.log)"
    log "created topic $name ($K_PARTITIONS partitions)"
  done
}

ready() {
  port_open "$K_HOST" "$K_PORT" && list_topics >/dev/null
}

start() {
  mkdir -p "$K_DIR"
  if pid_alive "$K_PIDFILE"; then
    if port_open "$K_HOST" "$K_PORT"; then
      log "already running (pid $(cat "$K_PIDFILE")) at $K_HOST:$K_PORT"
      # shellcheck disable=SC2086
      create_topics $K_TOPICS
      return 0
    fi
  elif port_open "$K_HOST" "$K_PORT"; then
    die "something else already listens on $K_HOST:$K_PORT (not started by this script); stop it or set CDP_KAFKA_PORT"
  fi
  install
  local bin
  bin=$(tansu_bin)
  log "starting: $bin broker --listener-url $K_URL --advertised-listener-url $K_URL --storage-engine $K_STORAGE"
  # cd: tansu reads a .env file from its working directory.
  (cd "$K_DIR" && exec nohup "$bin" broker --listener-url "$K_URL" --advertised-listener-url "$K_URL" \
    --storage-engine "$K_STORAGE" >"$K_LOG" 2>&1 </dev/null) &
  echo $! >"$K_PIDFILE"
  local i
  for ((i = 0; i < K_START_TIMEOUT * 4; i++)); do
    if ! pid_alive "$K_PIDFILE"; then
      tail -n 30 "$K_LOG" >&2 || true
      rm -f "$K_PIDFILE"
      die "tansu exited during start-up (log above, in $K_LOG)"
    fi
    if port_open "$K_HOST" "$K_PORT"; then
      break
    fi
    sleep 0.25
  done
  port_open "$K_HOST" "$K_PORT" || { stop_pidfile "$K_PIDFILE" 10; die "nothing listens on $K_HOST:$K_PORT after ${K_START_TIMEOUT}s (see $K_LOG)"; }
  # A real request (metadata) before calling it ready.
  for ((i = 0; i < K_START_TIMEOUT; i++)); do
    if ready; then break; fi
    sleep 1
  done
  ready || { stop_pidfile "$K_PIDFILE" 10; die "broker on $K_HOST:$K_PORT does not answer metadata requests (see $K_LOG, $K_DIR/cli.log)"; }
  # shellcheck disable=SC2086
  create_topics $K_TOPICS
  log "ready at $K_HOST:$K_PORT (pid $(cat "$K_PIDFILE"), log $K_LOG)"
}

status() {
  if pid_alive "$K_PIDFILE" && port_open "$K_HOST" "$K_PORT"; then
    echo "kafka: running (pid $(cat "$K_PIDFILE")) at $K_HOST:$K_PORT"
  elif pid_alive "$K_PIDFILE"; then
    echo "kafka: process $(cat "$K_PIDFILE") alive but $K_HOST:$K_PORT does not accept connections"
    return 1
  else
    echo "kafka: stopped"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop_pidfile "$K_PIDFILE" 20 ;;
  status) status ;;
  install) install ;;
  topics)
    shift
    [ $# -gt 0 ] || die "usage: $0 topics NAME..."
    pid_alive "$K_PIDFILE" || port_open "$K_HOST" "$K_PORT" || die "broker not running: $0 start"
    create_topics "$@"
    ;;
  brokers) echo "$K_HOST:$K_PORT" ;;
  *) echo "usage: $0 {start|stop|status|install|topics NAME...|brokers}" >&2; exit 2 ;;
esac
