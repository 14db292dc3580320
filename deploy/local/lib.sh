# Shared helpers for deploy/local/*.sh (sourced, not executed).
# Every service runs as a user process under ${CDP_LOCAL_STATE}/<service>/
# with a pid file, a log file and (for ClickHouse) its own config.

CDP_LOCAL_STATE="${CDP_LOCAL_STATE:-/tmp/cdp-local}"

log() { printf '[%s] %s\n' "${SERVICE:-cdp-local}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# as_root CMD...: run as root (directly, or through sudo without a prompt).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root to run: $*"
  fi
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") >/dev/null 2>&1
}

# pid_alive PIDFILE: true when the pid file names a running process.
pid_alive() {
  local pidfile=$1 pid
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# stop_pidfile PIDFILE [TIMEOUT_SECS]: TERM, wait, then KILL; removes the pid file.
stop_pidfile() {
  local pidfile=$1 timeout=${2:-20} pid i
  if ! pid_alive "$pidfile"; then
    log "not running"
    rm -f "$pidfile"
    return 0
  fi
  pid=$(cat "$pidfile")
  log "stopping pid $pid"
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still alive after ${timeout}s: kill -9"
    kill -9 "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$pidfile"
  log "stopped"
}
