# Sourced by the benchmark scripts: throwaway redis-server, PostgreSQL 15 and tiercached in
# a temporary directory on free loopback ports, all stopped by the EXIT trap. Needs root
# (PostgreSQL runs as the postgres user) and BUILD_DIR set by the caller.
PGBIN=/usr/lib/postgresql/15/bin
TIERCACHED="$BUILD_DIR/server/tiercached"
TIERBENCH="$BUILD_DIR/tools/tierbench/tierbench"
TIERCTL="$BUILD_DIR/tools/tierctl/tierctl"
for f in "$TIERCACHED" "$TIERBENCH" "$TIERCTL" /usr/bin/redis-server /usr/bin/redis-benchmark "$PGBIN/pg_ctl"; do
  [ -x "$f" ] || { echo "$0: $f is missing (tools/install-deps.sh; cmake --build $BUILD_DIR)" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/tiercache-bench.XXXXXX)
chmod 755 "$TMP"
PIDS=()
REDIS_PID=""
cleanup() {
  set +e
  for pid in "${PIDS[@]}" $REDIS_PID; do kill "$pid" 2>/dev/null; done
  [ -d "$TMP/pg/data" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg/data" -m fast -w stop >/dev/null 2>&1
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

read -r REDIS_PORT PG_PORT HTTP_PORT GRPC_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)
PG_DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"

start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    >>"$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done
}
stop_redis() { kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; REDIS_PID=""; }

pg_ctl() { runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/pg/data" "$@" >/dev/null; }
start_pg() {  # the first call also makes the cluster
  if [ ! -d "$TMP/pg/data" ]; then
    mkdir -p "$TMP/pg" && chown postgres:postgres "$TMP/pg"
    runuser -u postgres -- "$PGBIN/initdb" -D "$TMP/pg/data" -A trust -U postgres >/dev/null
  fi
  pg_ctl -l "$TMP/pg/log" -w start -o "-p $PG_PORT -k $TMP/pg -c listen_addresses=127.0.0.1 -c fsync=off"
}
stop_pg() { pg_ctl -m fast -w stop; }

start_tiercached() {  # CONFIG_FILE; returns once /readyz answers
  "$TIERCACHED" --config "$1" --http-listen "127.0.0.1:$HTTP_PORT" \
    --grpc-listen "127.0.0.1:$GRPC_PORT" >"$TMP/tiercached.log" 2>&1 &
  PIDS+=($!)
  until curl -fs "127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1; do sleep 0.1; done
}
