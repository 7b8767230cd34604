#!/usr/bin/env bash
# tiers_bench.sh BUILD_DIR [ROUNDS=3] [SECONDS=10]
#
# Side-by-side throughput of tiercached's lower tiers and of Redis itself, on this machine:
#   get-l2     tierbench GETs that all miss L1 and hit Redis (L1 keeps entries ~0 s)
#   redis-get  redis-benchmark -t get -c 64 -P 1 -d 100 against the same Redis
#   set-l2l3   tierbench SETs through L1 + Redis (sync) + PostgreSQL (async)
#   redis-set  redis-benchmark -t set -c 64 -P 1 -d 100
# Rounds are interleaved and the table reports medians. Then the write-behind rate: rows
# per second PostgreSQL took from the queue while a SET run kept it busy, measured from
# tiercache_write_behind_flushed_total until the queue was empty again.
#
# One redis-server, one PostgreSQL 15 and one tiercached (server.io_threads 1) run in a
# temporary directory on free loopback ports and are stopped on exit. Run as root (the
# PostgreSQL server runs as the postgres user).
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 3 ] || { echo "usage: $0 BUILD_DIR [ROUNDS=3] [SECONDS=10]" >&2; exit 2; }
BUILD_DIR=$(cd "$1" && pwd)
ROUNDS=${2:-3}
SECS=${3:-10}
CONNECTIONS=${CONNECTIONS:-64}
KEYS=100000
log() { echo "[tiers-bench] $*" >&2; }
source "$(dirname "$0")/backends.sh"

log "starting redis-server on $REDIS_PORT and PostgreSQL 15 on $PG_PORT"
start_redis
start_pg

cat >"$TMP/tiercache.yaml" <<EOF
server: {io_threads: 1}
# Entries live ~0 s in L1, so every GET goes to L2.
l1: {ttl_factor: 0.000001}
tiers:
  - type: redis
    url: redis://127.0.0.1:$REDIS_PORT
  - type: postgres
    dsn: "$PG_DSN"
    write_mode: async
    write_behind: {capacity: 1000000, batch_size: 1000}
EOF
start_tiercached "$TMP/tiercache.yaml"

metric() {  # the value of one sample line of /metrics
  curl -fs "127.0.0.1:$HTTP_PORT/metrics" | awk -v name="$1" '$1 == name { print $2 }'
}
tierbench() {  # READ_RATIO -> "req/s p99_ms errors"
  "$TIERBENCH" --server "127.0.0.1:$HTTP_PORT" --connections "$CONNECTIONS" --duration "$SECS" \
    --warmup 1 --keys "$KEYS" --read-ratio "$1" --value-size 100 --ttl 600 --no-prefill --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["throughput_rps"], d["latency_us"]["p99"] / 1000, d["errors"])'
}
redisbench() {  # TEST -> "req/s p99_ms"
  redis-benchmark -p "$REDIS_PORT" -t "$1" -c "$CONNECTIONS" -P 1 -d 100 -r "$KEYS" \
    -n $((SECS * 100000)) --csv 2>/dev/null | python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
print(rows[1][1], rows[1][6] if len(rows[1]) > 6 else "nan")'
}

log "filling Redis with $KEYS keys through tiercached"
"$TIERBENCH" --server "127.0.0.1:$HTTP_PORT" --connections "$CONNECTIONS" --duration 1 --warmup 0 \
  --keys "$KEYS" --read-ratio 1 --value-size 100 --ttl 600 --json >/dev/null

declare -A RESULTS
for round in $(seq "$ROUNDS"); do
  log "round $round/$ROUNDS"
  RESULTS[get-l2]+="$(tierbench 1.0);"
  RESULTS[redis-get]+="$(redisbench get);"
  RESULTS[set-l2l3]+="$(tierbench 0.0);"
  RESULTS[redis-set]+="$(redisbench set);"
done

log "write-behind: a SET run, then until the queue is empty"
flushed0=$(metric 'tiercache_write_behind_flushed_total{tier="L3"}')
t0=$(date +%s.%N)
tierbench 0.0 >/dev/null
while [ "$(metric 'tiercache_write_behind_depth{tier="L3"}')" != "0" ]; do sleep 0.1; done
t1=$(date +%s.%N)
flushed1=$(metric 'tiercache_write_behind_flushed_total{tier="L3"}')
dropped=$(metric 'tiercache_write_behind_dropped_total{tier="L3"}')

python3 - "$ROUNDS" "$flushed0" "$flushed1" "$t0" "$t1" "$dropped" <<EOF
import statistics, sys
rounds = int(sys.argv[1])
results = {
$(for k in get-l2 redis-get set-l2l3 redis-set; do echo "  '$k': '${RESULTS[$k]}',"; done)
}
def parse(v):
    return [tuple(float(x) for x in r.split()) for r in v.strip(';').split(';')]
med = {}
print(f"{'target':<12} {'median req/s':>14} {'median p99 ms':>14}  rounds (req/s / p99 ms)")
for name, raw in results.items():
    rows = parse(raw)
    rps = statistics.median(r[0] for r in rows)
    p99 = statistics.median(r[1] for r in rows)
    med[name] = rps
    extra = f", errors {sum(r[2] for r in rows):.0f}" if len(rows[0]) > 2 else ""
    print(f"{name:<12} {rps:>14,.0f} {p99:>14.2f}  " +
          ", ".join(f"{r[0]:,.0f}/{r[1]:.2f}" for r in rows) + extra)
print(f"GET  tiercached (L1 miss, L2 hit) / redis-benchmark: {med['get-l2'] / med['redis-get']:.2f}x")
print(f"SET  tiercached (L2 sync + L3 async) / redis-benchmark: {med['set-l2l3'] / med['redis-set']:.2f}x")
f0, f1, t0, t1 = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
print(f"write-behind into PostgreSQL: {f1 - f0:,.0f} rows in {t1 - t0:.1f} s = "
      f"{(f1 - f0) / (t1 - t0):,.0f} rows/s (dropped so far: {sys.argv[6]})")
EOF
