#!/usr/bin/env bash
# Starts/stops every local service the tests and the demo need (Kafka via tansu,
# ClickHouse), each as a user process under ${CDP_LOCAL_STATE:-/tmp/cdp-local}.
#
#   deploy/local/services.sh start    # installs what is missing, starts, waits for readiness
#   deploy/local/services.sh stop
#   deploy/local/services.sh status
#   deploy/local/services.sh env      # the variables below, for a running set of services
#
# `start` and `env` print, on stdout, the environment the tests read:
#   export CDP_TEST_KAFKA_BROKERS=127.0.0.1:19092
#   export CDP_TEST_CLICKHOUSE_URL=http://127.0.0.1:18123
# so `eval "$(deploy/local/services.sh start)"` sets them in your shell. Ports and
# the state dir are overridable, see kafka.sh and clickhouse.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

print_env() {
  echo "export CDP_TEST_KAFKA_BROKERS=$("$HERE/kafka.sh" brokers)"
  echo "export CDP_TEST_CLICKHOUSE_URL=$("$HERE/clickhouse.sh" url)"
}

case "${1:-}" in
  start)
    # Both to stderr/log; stdout only carries the exports.
    "$HERE/clickhouse.sh" start >&2
    "$HERE/kafka.sh" start >&2
    print_env
    ;;
  stop)
    rc=0
    "$HERE/kafka.sh" stop || rc=$?
    "$HERE/clickhouse.sh" stop || rc=$?
    exit "$rc"
    ;;
  status)
    rc=0
    "$HERE/kafka.sh" status || rc=$?
    "$HERE/clickhouse.sh" status || rc=$?
    exit "$rc"
    ;;
  install)
    "$HERE/clickhouse.sh" install
    "$HERE/kafka.sh" install
    # Not a service: the browser the report tests render with.
    "$HERE/chromium.sh" install
    ;;
  env) print_env ;;
  *) echo "usage: $0 {start|stop|status|install|env}" >&2; exit 2 ;;
esac
