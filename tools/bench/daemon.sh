# Sourced by the benchmark scripts that run tiercached (and maybe redis-server) without
# root: a temporary directory, free loopback ports, servers started and waited for with a
# time bound, and everything stopped by the EXIT trap (the directory kept if the script
# failed). The caller sets NAME (for messages and the directory) and may set TIERCACHED.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TIERCACHED=${TIERCACHED:-$ROOT/build/server/tiercached}
export LC_ALL=C

log() { echo "[$NAME] $*" >&2; }
die() { echo "$NAME: error: $*" >&2; exit 1; }
[ -x "$TIERCACHED" ] || die "$TIERCACHED is missing; build it first or set TIERCACHED"

TMP=$(mktemp -d "/tmp/tiercache-$NAME.XXXXXX")
SERVER_PIDS=()
cleanup() {
  local rc=$?
  set +e
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  if [ $rc -ne 0 ]; then log "logs kept in $TMP"; else rm -rf "$TMP"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() {  # N: prints N distinct free loopback ports (bound together, then released)
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])' "$1"
}

wait_for() {  # SECONDS PID WHAT COMMAND...: polls COMMAND every 0.1 s; fails if PID dies
  local secs=$1 pid=$2 what=$3; shift 3
  for ((t = 0; t < secs * 10; t++)); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || die "$what exited during start-up (see $TMP)"
    sleep 0.1
  done
  die "$what did not become ready within ${secs}s (see $TMP)"
}

# start_tiercached YAML_FILE: runs the daemon on it, with fresh HTTP, gRPC and RESP ports
# (HTTP_PORT, GRPC_PORT, RESP_PORT), until /readyz answers; TC_PID is its pid.
start_tiercached() {
  read -r HTTP_PORT GRPC_PORT RESP_PORT < <(free_ports 3)
  "$TIERCACHED" --config "$1" --http-listen "127.0.0.1:$HTTP_PORT" \
    --grpc-listen "127.0.0.1:$GRPC_PORT" --resp-listen "127.0.0.1:$RESP_PORT" \
    >>"$TMP/tiercached.log" 2>&1 &
  TC_PID=$!
  SERVER_PIDS+=("$TC_PID")
  wait_for 20 "$TC_PID" tiercached curl -fsS -o /dev/null "http://127.0.0.1:$HTTP_PORT/readyz"
}

stop_tiercached() {
  kill "$TC_PID" 2>/dev/null || true
  wait "$TC_PID" 2>/dev/null || true
}

# start_redis: a redis-server without persistence on a fresh port (REDIS_PORT, REDIS_PID).
start_redis() {
  read -r REDIS_PORT < <(free_ports 1)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --dir "$TMP" --logfile "$TMP/redis.log" &
  REDIS_PID=$!
  SERVER_PIDS+=("$REDIS_PID")
  wait_for 10 "$REDIS_PID" redis-server redis-cli -p "$REDIS_PORT" ping
}
