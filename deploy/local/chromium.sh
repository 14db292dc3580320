#!/usr/bin/env bash
# Headless Chromium for the report tests (crates/cdp-report: the HTML report is
# rendered to a PNG). Debian's `chromium`, installed with apt-get when missing.
#
#   deploy/local/chromium.sh install   # no-op when chromium is on the PATH
#   deploy/local/chromium.sh path      # prints the binary
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVICE=chromium
# shellcheck source=lib.sh
. "$HERE/lib.sh"

find_chromium() {
  command -v chromium || command -v chromium-browser
}

install() {
  if find_chromium >/dev/null; then
    return 0
  fi
  log "chromium not found: installing with apt-get (chromium)"
  local t0=$SECONDS
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  find_chromium >/dev/null || die "apt-get install finished but no chromium binary found"
  log "installed in $((SECONDS - t0))s"
}

case "${1:-}" in
  install) install ;;
  path) find_chromium ;;
  *) echo "usage: $0 {install|path}" >&2; exit 2 ;;
esac
