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

ENTRIES=("$@")
[ ${#ENTRIES[@]} -gt 0 ] || ENTRIES=(1000 10000)
for n in "${ENTRIES[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ENTRIES...]" >&2; exit 2; }
done
NAME=policy-daemon
source "$(dirname "$0")/daemon.sh"
POLICY_SIM=${POLICY_SIM:-$ROOT/build/tools/bench/policy_sim}
PY=/usr/bin/python3
[ -x "$POLICY_SIM" ] || die "$POLICY_SIM is missing; build the policy_sim target or set POLICY_SIM"
"$PY" -c 'import redis' 2>/dev/null || die "python3-redis is missing (tools/install-deps.sh installs it)"

start_daemon() {  # ENTRIES POLICY
  cat >"$TMP/tiercache.yaml" <<EOF
l1:
  shards: 1
  max_entries: $1
  policy: $2
EOF
  start_tiercached "$TMP/tiercache.yaml"
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
      stop_tiercached
      echo "| $trace | $n | $policy | $expected | $got |"
    done
  done
done
