#!/bin/sh
# Checks the files under deploy/ against the daemon built by this tree.
#   check_deploy.sh unit   DAEMON SOURCE_DIR   systemd-analyze verify deploy/tiercached.service
#   check_deploy.sh config DAEMON SOURCE_DIR   tiercached --check-config deploy/*.yaml
# Exits 0 when the check passes.
set -eu

if [ $# -ne 3 ]; then
  echo "usage: $0 unit|config DAEMON SOURCE_DIR" >&2
  exit 2
fi
mode=$1
daemon=$2
src=$3

case "$mode" in
  unit)
    if ! command -v systemd-analyze >/dev/null 2>&1; then
      echo "systemd-analyze not found" >&2
      exit 1
    fi
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # verify requires every ExecStart binary to exist: point the unit at the built daemon.
    sed "s|/usr/bin/tiercached|$daemon|g" "$src/deploy/tiercached.service" >"$tmp/tiercached.service"
    status=0
    systemd-analyze verify "$tmp/tiercached.service" >"$tmp/verify.log" 2>&1 || status=$?
    cat "$tmp/verify.log"
    if [ "$status" -ne 0 ]; then
      echo "FAIL: systemd-analyze verify exited $status" >&2
      exit 1
    fi
    # Unknown keys and bad values are only warnings to verify; treat any message about our
    # unit as a failure (messages about the host's own units are not ours to fix).
    if grep -q "tiercached" "$tmp/verify.log"; then
      echo "FAIL: systemd-analyze verify reported problems with tiercached.service" >&2
      exit 1
    fi
    echo "OK: deploy/tiercached.service verifies"
    ;;
  config)
    "$daemon" --check-config "$src/deploy/tiercache.yaml"
    "$daemon" --check-config "$src/deploy/tiercache-tiers.yaml"
    ;;
  *)
    echo "unknown check '$mode' (expected unit or config)" >&2
    exit 2
    ;;
esac
