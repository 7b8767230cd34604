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
PGBIN=/usr/lib/postgresql/15/bin
TIERCACHED="$BUILD_DIR/server/tiercached"
TIERBENCH="$BUILD_DIR/tools/tierbench/tierbench"
log() { echo "[outage] $(date +%T.%3N) $*" >&2; }
for f in "$TIERCACHED" "$TIERBENCH" /usr/bin/redis-server "$PGBIN/pg_ctl"; do
  [ -x "$f" ] || { echo "outage.sh: $f is missing (tools/install-deps.sh; cmake --build $BUILD_DIR)" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/tiercache-outage.XXXXXX)
chmod 755 "$TMP"
PIDS=()
REDIS_PID=""
cleanup() {
  set +e
  for pid in "${PIDS[@]}" $REDIS_PID; do kill "$pid" 2>/dev/null; done
  [ -d "$TMP/pg" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg/data" -m fast -w stop >/dev/null 2>&1
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

read -r REDIS_PORT PG_PORT HTTP_PORT GRPC_PORT < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
)

start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    >>"$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done
}
stop_redis() { kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; REDIS_PID=""; }
pg_ctl() { runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg/data" "$@" >/dev/null; }
start_pg() { pg_ctl -l "$TMP/pg/log" -w start -o "-p $PG_PORT -k $TMP/pg -c listen_addresses=127.0.0.1 -c fsync=off"; }
stop_pg() { pg_ctl -m fast -w stop; }

start_redis
mkdir -p "$TMP/pg" && chown postgres:postgres "$TMP/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$TMP/pg/data" -A trust -U postgres >/dev/null
start_pg

cat >"$TMP/tiercache.yaml" <<EOF
server: {io_threads: 1}
tier_health: {interval: 250ms}
tiers:
  - type: redis
    url: redis://127.0.0.1:$REDIS_PORT
  - type: postgres
    dsn: "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
    write_mode: async
EOF
"$TIERCACHED" --config "$TMP/tiercache.yaml" --http-listen "127.0.0.1:$HTTP_PORT" \
  --grpc-listen "127.0.0.1:$GRPC_PORT" >"$TMP/tiercached.log" 2>&1 &
PIDS+=($!)
until curl -fs "127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1; do sleep 0.1; done

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
  --keys 100000 --read-ratio 0.5 --value-size 100 --ttl 600 >"$TMP/bench.txt" 2>&1 &
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
