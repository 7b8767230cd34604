#!/usr/bin/env bash
# l1_memory.sh [ENTRIES=1000000] [VALUE_BYTES=100]
#
# Resident memory per entry, tiercached's L1 against redis-server, on the same load:
# ENTRIES string keys of 16 bytes ("key:" and 12 digits) with VALUE_BYTES-byte values,
# written over the Redis protocol (redis-cli --pipe) into each server in turn. Each
# server's resident set (VmRSS) is read before and after the load; the difference over
# ENTRIES is its cost per entry, and that less the key and value bytes its overhead. For
# tiercached, the bytes L1 charges (/v1/status) are given beside it: the two agree when
# the charge rule (docs/architecture.md, "L1 memory") is right.
#
# Builds nothing. TIERCACHED names the daemon (default: build/server/tiercached under the
# source root); it runs L1 only with room for every entry. Both servers run on free
# loopback ports in a temporary directory and are stopped on exit.
set -euo pipefail

usage() { echo "usage: $0 [ENTRIES=1000000] [VALUE_BYTES=100]" >&2; exit 2; }
[ $# -le 2 ] || usage
ENTRIES=${1:-1000000}
VALUE_BYTES=${2:-100}
[[ $ENTRIES =~ ^[1-9][0-9]*$ && $VALUE_BYTES =~ ^[1-9][0-9]*$ ]] || usage
NAME=l1-memory
source "$(dirname "$0")/daemon.sh"
for cmd in redis-server redis-cli curl python3; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd is missing (tools/install-deps.sh installs it)"
done

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# The load, once, as Redis protocol: SET key:000000000000 <value> ...
python3 - "$ENTRIES" "$VALUE_BYTES" >"$TMP/load.resp" <<'PY'
import sys
n, size = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
value = b"v" * size
for i in range(n):
    key = b"key:%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, size, value))
PY

start_redis
cat >"$TMP/tiercache.yaml" <<EOF
l1:
  max_entries: $((ENTRIES * 2))
  max_bytes: 64GiB
EOF
start_tiercached "$TMP/tiercache.yaml"
sleep 1  # let start-up allocations settle before the first reading

measure() {  # NAME PORT PID
  local name=$1 port=$2 pid=$3 before after
  before=$(rss_kib "$pid")
  redis-cli -p "$port" --pipe <"$TMP/load.resp" >"$TMP/$name.pipe.log" 2>&1 ||
    die "loading $name failed: $(tail -n 3 "$TMP/$name.pipe.log")"
  sleep 1
  after=$(rss_kib "$pid")
  local keys
  keys=$(redis-cli -p "$port" dbsize)
  [ "$keys" = "$ENTRIES" ] || die "$name holds $keys keys after the load, not $ENTRIES"
  echo "$name $before $after"
}
log "loading $ENTRIES entries into redis-server"
R=$(measure redis "$REDIS_PORT" "$REDIS_PID")
log "loading $ENTRIES entries into tiercached"
T=$(measure tiercached "$RESP_PORT" "$TC_PID")
CHARGED=$(curl -fsS "http://127.0.0.1:$HTTP_PORT/v1/status" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["tiers"][0]["bytes"])')

python3 - "$ENTRIES" "$VALUE_BYTES" "$CHARGED" "$R" "$T" <<'PY'
import sys
n, size, charged = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rows = [line.split() for line in sys.argv[4:]]
payload = 16 + size
print("## Resident memory per entry: %s entries, 16-byte keys, %d-byte values\n" % (format(n, ","), size))
print("| server | RSS before MiB | RSS after MiB | bytes per entry | overhead per entry |")
print("|---|---|---|---|---|")
per = {}
for name, before, after in rows:
    b = (int(after) - int(before)) * 1024 / n
    per[name] = b
    print("| %s | %.1f | %.1f | %.1f | %.1f |" % (name, int(before) / 1024, int(after) / 1024, b, b - payload))
print("\n- tiercached / redis-server: %.2fx" % (per["tiercached"] / per["redis"]))
print("- L1 charged %.1f bytes per entry (%.1f%% of resident)"
      % (charged / n, 100.0 * charged / n / per["tiercached"]))
PY
