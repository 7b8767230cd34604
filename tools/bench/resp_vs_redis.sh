#!/usr/bin/env bash
# resp_vs_redis.sh [ROUNDS=3]
#
# redis-benchmark against redis-server and against tiercached's RESP front end, on this
# machine: SET and GET of a 100-byte value over 64 connections, one command in flight per
# connection (-P 1, 200,000 requests a run) and sixteen (-P 16, 2,000,000 requests). Rounds
# interleave the servers (redis, tiercached, redis, tiercached, ...) so that a change in the
# machine's load during the run falls on both; the table gives medians over rounds and the
# ratio tiercached / redis.
#
# Builds nothing. TIERCACHED names the daemon (default: build/server/tiercached under the
# source root); it runs on its embedded default (L1 only) with --resp-listen. Both servers
# run in a temporary directory on free loopback ports and are stopped by pid on exit.
# redis-server is single-threaded; tiercached's I/O threads are its default (half the
# cores), so on a 2-core machine each server gets one core and redis-benchmark the other.
#
# Environment: TIERCACHED, CONNECTIONS (64), N_P1 (200000), N_P16 (2000000), KEEP_TMP=1
# keeps the temporary directory (kept anyway when a run failed).
set -euo pipefail

usage() { echo "usage: $0 [ROUNDS=3]" >&2; exit 2; }
[ $# -le 1 ] || usage
ROUNDS=${1:-3}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "resp_vs_redis.sh: ROUNDS must be a positive integer" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TIERCACHED=${TIERCACHED:-$ROOT/build/server/tiercached}
CONNECTIONS=${CONNECTIONS:-64}
N_P1=${N_P1:-200000}
N_P16=${N_P16:-2000000}
VALUE_BYTES=100
export LC_ALL=C

log() { echo "[resp-vs-redis] $*" >&2; }
die() { echo "resp_vs_redis.sh: error: $*" >&2; exit 1; }

[ -x "$TIERCACHED" ] || die "$TIERCACHED is missing; build it first (cmake --build build --target tiercached) or set TIERCACHED"
for cmd in redis-server redis-benchmark redis-cli curl python3; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd is missing (tools/install-deps.sh installs it)"
done

# ---------------------------------------------------------------- temp dir and cleanup
TMP=$(mktemp -d /tmp/tiercache-resp-bench.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not exit within 5 s of SIGTERM; killing it"
      kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  if [ "${KEEP_TMP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    log "logs kept in $TMP"
  else
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

alive() { kill -0 "$1" 2>/dev/null; }

# wait_until SECONDS DESCRIPTION PID COMMAND...: polls COMMAND every 0.1 s; fails if PID dies.
wait_until() {
  local secs=$1 what=$2 pid=$3; shift 3
  local tries=$((secs * 10))
  for ((t = 0; t < tries; t++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    alive "$pid" || die "$what exited during start-up (see $TMP)"
    sleep 0.1
  done
  die "$what did not become ready within ${secs}s (see $TMP)"
}

# Four distinct free ports at once (all bound together, then released).
read -r REDIS_PORT TC_HTTP TC_GRPC TC_RESP < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)

# ---------------------------------------------------------------- servers
log "starting redis-server on :$REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --dir "$TMP" --logfile "$TMP/redis.log" &
REDIS_PID=$!; PIDS+=("$REDIS_PID")
wait_until 10 redis-server "$REDIS_PID" redis-cli -p "$REDIS_PORT" ping

log "starting tiercached on resp :$TC_RESP (http :$TC_HTTP, grpc :$TC_GRPC)"
"$TIERCACHED" --http-listen "127.0.0.1:$TC_HTTP" --grpc-listen "127.0.0.1:$TC_GRPC" \
  --resp-listen "127.0.0.1:$TC_RESP" >"$TMP/tiercached.log" 2>&1 &
TC_PID=$!; PIDS+=("$TC_PID")
tc_ready() {
  curl -fsS -o /dev/null "http://127.0.0.1:$TC_HTTP/readyz" &&
    [ "$(redis-cli -p "$TC_RESP" ping)" = PONG ]
}
wait_until 20 tiercached "$TC_PID" tc_ready

# ---------------------------------------------------------------- runs
RESULTS="$TMP/results.tsv"  # target, pipeline, round, test, rps, p99_ms, note
: >"$RESULTS"
FAILED=0

# bench TARGET PORT PID PIPELINE ROUND [REQUESTS]: one redis-benchmark run, rows to RESULTS
# (ROUND 0 is the warm-up and is not recorded).
bench() {
  local target=$1 port=$2 pid=$3 pipeline=$4 round=$5
  local n=${6:-$([ "$pipeline" -eq 1 ] && echo "$N_P1" || echo "$N_P16")}
  local out="$TMP/$target-P$pipeline-r$round.csv" err="$TMP/$target-P$pipeline-r$round.err"
  if ! alive "$pid"; then
    printf '%s\t%s\t%s\t\t\t\t%s\n' "$target" "$pipeline" "$round" "server not running" >>"$RESULTS"
    FAILED=1; return
  fi
  # Exit 1 at the first error reply, so a run that ends well had none.
  if ! redis-benchmark -h 127.0.0.1 -p "$port" -t set,get -d "$VALUE_BYTES" -c "$CONNECTIONS" \
      -n "$n" -P "$pipeline" --csv >"$out" 2>"$err"; then
    printf '%s\t%s\t%s\t\t\t\t%s\n' "$target" "$pipeline" "$round" \
      "redis-benchmark failed: $(tr '\n' ' ' <"$err" | head -c 200)" >>"$RESULTS"
    FAILED=1; return
  fi
  [ "$round" -eq 0 ] && return
  python3 - "$out" "$target" "$pipeline" "$round" >>"$RESULTS" <<'PY'
import csv, sys
path, target, pipeline, rnd = sys.argv[1:]
rows = {r["test"]: r for r in csv.DictReader(open(path))}
for test in ("SET", "GET"):
    r = rows.get(test)
    if r is None:
        print("\t".join([target, pipeline, rnd, test, "", "", "no %s row in the CSV" % test]))
    else:
        print("\t".join([target, pipeline, rnd, test, r["rps"], r.get("p99_latency_ms", ""), ""]))
PY
}

log "warm-up: one short run per server and pipeline depth"
for pipeline in 1 16; do
  bench redis "$REDIS_PORT" "$REDIS_PID" "$pipeline" 0 20000
  bench tiercached "$TC_RESP" "$TC_PID" "$pipeline" 0 20000
done
[ "$FAILED" -eq 0 ] || die "a warm-up run failed: $(cut -f7 "$RESULTS" | sort -u | tr '\n' ' ')"

for ((r = 1; r <= ROUNDS; r++)); do
  for pipeline in 1 16; do
    log "round $r/$ROUNDS, -P $pipeline: redis"
    bench redis "$REDIS_PORT" "$REDIS_PID" "$pipeline" "$r"
    log "round $r/$ROUNDS, -P $pipeline: tiercached"
    bench tiercached "$TC_RESP" "$TC_PID" "$pipeline" "$r"
  done
done
alive "$TC_PID" || { FAILED=1; log "tiercached is no longer running; last log lines:"; tail -n 20 "$TMP/tiercached.log" >&2; }

# ---------------------------------------------------------------- report
{
  echo "- machine: $(nproc) CPUs, $(uname -sr); $ROUNDS round(s), interleaved"
  echo "- $("$TIERCACHED" --version 2>&1 | head -n1) (embedded default, L1 only); redis $(redis-server --version | grep -o 'v=[0-9.]*' | cut -d= -f2) (--save '' --appendonly no)"
  echo "- load: redis-benchmark -t set,get -d $VALUE_BYTES -c $CONNECTIONS, -P 1 -n $N_P1 and -P 16 -n $N_P16"
} >"$TMP/header.md"
python3 - "$RESULTS" "$ROUNDS" "$TMP/header.md" <<'PY'
import statistics, sys
results, rounds, header = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rps, p99, notes = {}, {}, []
for line in open(results):
    target, pipeline, rnd, test, r, p, note = (line.rstrip("\n").split("\t") + [""] * 7)[:7]
    if note:
        notes.append("%s -P %s round %s: %s" % (target, pipeline, rnd, note))
    for d, v in ((rps, r), (p99, p)):
        try:
            d.setdefault((target, pipeline, test), []).append(float(v))
        except ValueError:
            pass

def median(d, key):
    v = d.get(key)
    return statistics.median(v) if v else None

def fmt_rps(v): return format(round(v), ",") if v is not None else "n/a"
def fmt_ms(v): return "%.3f" % v if v is not None else "n/a"

print("## tiercached RESP vs redis-server (redis-benchmark, medians over %d round%s)\n"
      % (rounds, "" if rounds == 1 else "s"))
print(open(header).read())
print("| pipeline | test | redis req/s | tiercached req/s | ratio | redis p99 ms | tiercached p99 ms |")
print("|---|---|---|---|---|---|---|")
for pipeline in ("1", "16"):
    for test in ("SET", "GET"):
        rr, tr = median(rps, ("redis", pipeline, test)), median(rps, ("tiercached", pipeline, test))
        rp, tp = median(p99, ("redis", pipeline, test)), median(p99, ("tiercached", pipeline, test))
        ratio = "%.2f" % (tr / rr) if rr and tr else "n/a"
        print("| -P %s | %s | %s | %s | %s | %s | %s |"
              % (pipeline, test, fmt_rps(rr), fmt_rps(tr), ratio, fmt_ms(rp), fmt_ms(tp)))
if notes:
    print("\nfailed runs:")
    for n in notes:
        print("- " + n)
PY
if [ "$FAILED" -ne 0 ]; then
  log "some runs failed (see above; logs in $TMP)"
  exit 1
fi
