#!/usr/bin/env bash
# policy_daemon.sh [ENTRIES...]   (default: 1000 10000)
#
# Replays tools/bench/policy_sim's traces (Zipf 0.99 over 100,000 keys, 400,000 requests,
# with and without a one-pass scan in 1 request of 4) against tiercached and prints its
# L1 hit ratio beside the simulator's, for both policies: the daemon runs with
# l1.shards: 1, l1.max_entries: N and l1.policy: lru or tinylfu, and each request is a
# read-through over the Redis protocol (GET, and on a miss SET with a day's lifetime), one
# at a time, as policy_sim does against the store. The two columns agree when the daemon
# serves from L1 exactly as the policy says.
#
# Builds nothing: needs build/server/tiercached and build/tools/bench/policy_sim (or
# TIERCACHED and POLICY_SIM), and python3-redis (/usr/bin/python3).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TIERCACHED=${TIERCACHED:-$ROOT/build/server/tiercached}
POLICY_SIM=${POLICY_SIM:-$ROOT/build/tools/bench/policy_sim}
PY=/usr/bin/python3
ENTRIES=("$@")
[ ${#ENTRIES[@]} -gt 0 ] || ENTRIES=(1000 10000)
for n in "${ENTRIES[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ENTRIES...]" >&2; exit 2; }
done
log() { echo "[policy-daemon] $*" >&2; }
die() { echo "policy_daemon.sh: error: $*" >&2; exit 1; }
[ -x "$TIERCACHED" ] || die "$TIERCACHED is missing; build it first or set TIERCACHED"
[ -x "$POLICY_SIM" ] || die "$POLICY_SIM is missing; build the policy_sim target or set POLICY_SIM"
"$PY" -c 'import redis' 2>/dev/null || die "python3-redis is missing (tools/install-deps.sh installs it)"

TMP=$(mktemp -d /tmp/tiercache-policy.XXXXXX)
TC_PID=
stop_daemon() {
  [ -n "$TC_PID" ] || return 0
  kill "$TC_PID" 2>/dev/null || true
  wait "$TC_PID" 2>/dev/null || true
  TC_PID=
}
cleanup() {
  local rc=$?
  stop_daemon
  if [ $rc -ne 0 ]; then log "logs kept in $TMP"; else rm -rf "$TMP"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_daemon() {  # ENTRIES POLICY
  local ports
  read -r -a ports < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
  HTTP_PORT=${ports[0]} RESP_PORT=${ports[2]}
  cat >"$TMP/tiercache.yaml" <<EOF
server:
  http_listen: 127.0.0.1:${ports[0]}
  grpc_listen: 127.0.0.1:${ports[1]}
  resp_listen: 127.0.0.1:${ports[2]}
l1:
  shards: 1
  max_entries: $1
  policy: $2
EOF
  "$TIERCACHED" --config "$TMP/tiercache.yaml" >>"$TMP/tiercached.log" 2>&1 &
  TC_PID=$!
  for _ in $(seq 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/readyz" 2>/dev/null && return 0
    kill -0 "$TC_PID" 2>/dev/null || die "tiercached exited during start-up (see $TMP)"
    sleep 0.1
  done
  die "tiercached did not become ready (see $TMP)"
}

replay() {  # TRACE_FILE -> hit ratio
  "$PY" - "$RESP_PORT" "$1" <<'PY'
import sys, redis
port, path = int(sys.argv[1]), sys.argv[2]
r = redis.Redis(host="127.0.0.1", port=port)
hits = total = 0
with open(path) as f:
    for line in f:
        key = line.rstrip("\n")
        total += 1
        if r.get(key) is not None:
            hits += 1
        else:
            r.set(key, b"v", ex=86400)
print("%.3f" % (hits / total))
PY
}

echo "| trace | entries | policy | policy_sim | tiercached |"
echo "|---|---|---|---|---|"
for trace in zipf zipf+scan; do
  "$POLICY_SIM" --trace "$trace" --write "$TMP/$trace.keys"
  for n in "${ENTRIES[@]}"; do
    # policy_sim's row: | file | entries | LRU | TinyLFU | OPT |
    sim=$("$POLICY_SIM" --read "$TMP/$trace.keys" --entries "$n" | tail -n 1)
    for policy in lru tinylfu; do
      col=$([ "$policy" = lru ] && echo 4 || echo 5)
      expected=$(echo "$sim" | awk -F'|' -v c="$col" '{gsub(/ /, "", $c); print $c}')
      log "$trace, $n entries, $policy: replaying"
      start_daemon "$n" "$policy"
      got=$(replay "$TMP/$trace.keys")
      stop_daemon
      echo "| $trace | $n | $policy | $expected | $got |"
    done
  done
done
