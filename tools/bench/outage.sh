#!/usr/bin/env bash
# outage.sh BUILD_DIR redis|postgres [SECONDS=30] [OUTAGE=10]
#
# A tierbench run of SECONDS with 50% writes against tiercached with Redis (L2, sync) and
# PostgreSQL (L3, async); a third of the way in, the chosen backend is stopped for OUTAGE
# seconds and started again. Prints tierbench's summary (failed requests are its errors),
# when /v1/status first showed the tier down after the stop, and when up after the start.
#
# One redis-server, one PostgreSQL 15 and one tiercached run in a temporary directory on
# free loopback ports and are stopped on exit. Run as root (PostgreSQL runs as postgres).
set -euo pipefail

[ $# -ge 2 ] && [ $# -le 4 ] || { echo "usage: $0 BUILD_DIR redis|postgres [SECONDS=30] [OUTAGE=10]" >&2; exit 2; }
BUILD_DIR=$(cd "$1" && pwd)
BACKEND=$2
SECS=${3:-30}
OUTAGE=${4:-10}
case "$BACKEND" in redis) TIER=L2 ;; postgres) TIER=L3 ;; *) echo "outage.sh: backend must be redis or postgres" >&2; exit 2 ;; esac
log() { echo "[outage] $(date +%T.%3N) $*" >&2; }
source "$(dirname "$0")/backends.sh"

start_redis
start_pg

cat >"$TMP/tiercache.yaml" <<EOF
server: {io_threads: 1}
tier_health: {interval: 250ms}
tiers:
  - type: redis
    url: redis://127.0.0.1:$REDIS_PORT
  - type: postgres
    dsn: "$PG_DSN"
    write_mode: async
EOF
start_tiercached "$TMP/tiercache.yaml"

state() {
  curl -fs "127.0.0.1:$HTTP_PORT/v1/status" |
    python3 -c "import json,sys; print(next(t['state'] for t in json.load(sys.stdin)['tiers'] if t['name'] == '$TIER'))"
}
wait_for_state() {  # WANT [not] -> seconds until the tier's state is (or is not) WANT
  local start now
  start=$(date +%s.%N)
  while :; do
    local s; s=$(state)
    if { [ "${2:-}" = not ] && [ "$s" != "$1" ]; } || { [ "${2:-}" != not ] && [ "$s" = "$1" ]; }; then
      now=$(date +%s.%N); python3 -c "print(f'{$now - $start:.2f}')"; return
    fi
    sleep 0.05
  done
}

log "tierbench: $SECS s, 50% writes, 64 connections; $BACKEND stops after $((SECS / 3)) s for $OUTAGE s"
"$TIERBENCH" --server "127.0.0.1:$HTTP_PORT" --connections 64 --duration "$SECS" --warmup 0 \
  --keys 100000 --read-ratio 0.5 --value-size 100 --ttl 600 --no-prefill >"$TMP/bench.txt" 2>&1 &
BENCH=$!
sleep $((SECS / 3))
log "stopping $BACKEND"
if [ "$BACKEND" = redis ]; then stop_redis; else stop_pg; fi
log "$TIER marked down $(wait_for_state down) s after the stop"
sleep "$OUTAGE"
log "starting $BACKEND"
if [ "$BACKEND" = redis ]; then start_redis; else start_pg; fi
log "$TIER no longer down $(wait_for_state down not) s after the start (now $(state))"
bench_rc=0
wait "$BENCH" || bench_rc=$?
cat "$TMP/bench.txt"
log "tierbench exit status $bench_rc; $TIER errors counted: $(curl -fs "127.0.0.1:$HTTP_PORT/v1/status" |
  python3 -c "import json,sys; print(next(t['errors'] for t in json.load(sys.stdin)['tiers'] if t['name'] == '$TIER'))")"
