#!/usr/bin/env bash
# compare.sh BUILD_DIR [ROUNDS=3] [SECONDS=10]
#
# Side-by-side GET throughput and p99 latency on this machine, for one 100-byte value:
#   tiercached over HTTP (wrk), nginx serving a static file (wrk), varnish in front of that
#   nginx (wrk, cache hit), redis-server (redis-benchmark), then tiercached through
#   tierbench over HTTP and over gRPC. Rounds are interleaved (every target once per round,
#   in that order) and the table reports medians over rounds; then the L1 microbenchmark.
#
# Every server runs in a temporary directory on free loopback ports and is stopped by pid
# on exit. Servers get the same number of worker threads (SERVER_THREADS, default 1: on a
# 2-core machine the load generator takes the other core): nginx worker_processes,
# tiercached server.io_threads, varnish thread_pools; redis is single-threaded anyway.
#
# Environment: SERVER_THREADS (1), CONNECTIONS (64), KEEP_TMP=1 keeps the temp dir.
# Missing tools are installed with apt-get when run as root; otherwise the script stops
# and names them. Runs without a terminal (CI=true).
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR [ROUNDS=3] [SECONDS=10]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 3 ] || usage
BUILD_DIR=$(cd "$1" 2>/dev/null && pwd) || { echo "compare.sh: no such build directory: $1" >&2; exit 2; }
ROUNDS=${2:-3}
SECS=${3:-10}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: ROUNDS must be a positive integer" >&2; exit 2; }
[[ $SECS =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: SECONDS must be a positive integer" >&2; exit 2; }
SERVER_THREADS=${SERVER_THREADS:-1}
CONNECTIONS=${CONNECTIONS:-64}
KEY="bench:compare"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

log() { echo "[compare] $*" >&2; }
die() { echo "compare.sh: error: $*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
TIERCACHED="$BUILD_DIR/server/tiercached"
TIERBENCH="$BUILD_DIR/tools/tierbench/tierbench"
L1BENCH="$BUILD_DIR/tools/bench/l1_bench"
for f in "$TIERCACHED" "$TIERBENCH" "$L1BENCH"; do
  [ -x "$f" ] || die "$f is missing; build it first: cmake --build $BUILD_DIR --target tiercached tierbench l1_bench"
done

export PATH="$PATH:/usr/sbin:/sbin"
# command -> Debian package
declare -A PKG=(
  [wrk]=wrk [nginx]=nginx-light [varnishd]=varnish [redis-server]=redis-server
  [redis-cli]=redis-tools [redis-benchmark]=redis-tools [curl]=curl [python3]=python3
)
path_has() { command -v "$1" >/dev/null 2>&1; }
missing_pkgs=()
for cmd in "${!PKG[@]}"; do
  path_has "$cmd" || missing_pkgs+=("${PKG[$cmd]}")
done
if [ ${#missing_pkgs[@]} -gt 0 ]; then
  mapfile -t missing_pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u)
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${missing_pkgs[*]}"
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${missing_pkgs[@]}" >&2
  else
    die "missing packages: ${missing_pkgs[*]} (run as root to install them, or: sudo apt-get install ${missing_pkgs[*]})"
  fi
fi
# The Debian packages start system services on install; this script uses its own instances.

# ---------------------------------------------------------------- temp dir and cleanup
TMP=$(mktemp -d /tmp/tiercache-compare.XXXXXX)
chmod 755 "$TMP"  # nginx workers and varnish's child drop privileges and must read it
PIDS=()
cleanup() {
  local rc=$?
  set +e
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[i]}" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$(ps -o comm= -p "$pid" 2>/dev/null || echo "pid $pid") did not exit within 5 s of SIGTERM; killing it"
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

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_until SECONDS DESCRIPTION PID COMMAND...: polls COMMAND every 0.1 s; fails if PID dies.
wait_until() {
  local secs=$1 what=$2 pid=$3; shift 3
  local tries=$((secs * 10))
  for ((t = 0; t < tries; t++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || die "$what exited during start-up (see $TMP)"
    sleep 0.1
  done
  die "$what did not become ready within ${secs}s (see $TMP)"
}

alive() { kill -0 "$1" 2>/dev/null; }

# ---------------------------------------------------------------- the value
VALUE_FILE="$TMP/value.bin"
python3 -c 'import sys; sys.stdout.write(("0123456789abcdefghijklmnopqrstuvwxyz" * 3)[:100])' >"$VALUE_FILE"
[ "$(wc -c <"$VALUE_FILE")" -eq 100 ] || die "could not write the 100-byte value"

# ---------------------------------------------------------------- servers
TC_HTTP=$(free_port); TC_GRPC=$(free_port); NGINX_PORT=$(free_port)
VARNISH_PORT=$(free_port); REDIS_PORT=$(free_port)

# tiercached: embedded defaults (L1 only) with the I/O threads pinned, if the config loader
# accepts that file; else the embedded default.
TC_ARGS=(--http-listen "127.0.0.1:$TC_HTTP" --grpc-listen "127.0.0.1:$TC_GRPC")
cat >"$TMP/tiercache.yaml" <<EOF
server:
  io_threads: $SERVER_THREADS
logging:
  level: warn
EOF
TC_CONFIG_NOTE="server.io_threads=$SERVER_THREADS"
if "$TIERCACHED" --check-config "$TMP/tiercache.yaml" >"$TMP/check-config.log" 2>&1; then
  TC_ARGS=(--config "$TMP/tiercache.yaml" "${TC_ARGS[@]}")
else
  log "tiercached rejected the benchmark config ($(head -c 200 "$TMP/check-config.log")); using its embedded default"
  TC_CONFIG_NOTE="embedded default config (io_threads = cores)"
fi
log "starting tiercached on http :$TC_HTTP grpc :$TC_GRPC"
"$TIERCACHED" "${TC_ARGS[@]}" >"$TMP/tiercached.log" 2>&1 &
TC_PID=$!; PIDS+=("$TC_PID")
wait_until 20 tiercached "$TC_PID" curl -fsS -o /dev/null "http://127.0.0.1:$TC_HTTP/healthz"

# nginx: one static file, access log off, keep-alive connections never recycled.
mkdir -p "$TMP/nginx/html/v1/keys" "$TMP/nginx/tmp" "$TMP/nginx/logs"
cp "$VALUE_FILE" "$TMP/nginx/html/v1/keys/$KEY"
chmod -R a+rX "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
worker_processes $SERVER_THREADS;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/octet-stream;
  keepalive_requests 100000000;
  keepalive_timeout 65s;
  open_file_cache max=16 inactive=3600s;
  open_file_cache_valid 3600s;
  client_body_temp_path $TMP/nginx/tmp;
  proxy_temp_path $TMP/nginx/tmp;
  fastcgi_temp_path $TMP/nginx/tmp;
  uwsgi_temp_path $TMP/nginx/tmp;
  scgi_temp_path $TMP/nginx/tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $TMP/nginx/html;
  }
}
EOF
log "starting nginx on :$NGINX_PORT ($SERVER_THREADS worker)"
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" >"$TMP/nginx/logs/stdout.log" 2>&1 &
NGINX_PID=$!; PIDS+=("$NGINX_PID")
wait_until 10 nginx "$NGINX_PID" curl -fsS -o /dev/null "http://127.0.0.1:$NGINX_PORT/v1/keys/$KEY"

# varnish in front of nginx, objects cached for an hour.
log "starting varnishd on :$VARNISH_PORT -> nginx"
varnishd -F -a "127.0.0.1:$VARNISH_PORT" -b "127.0.0.1:$NGINX_PORT" -s malloc,64m \
  -n "$TMP/varnish" -t 3600 -p thread_pools="$SERVER_THREADS" >"$TMP/varnishd.log" 2>&1 &
VARNISH_PID=$!; PIDS+=("$VARNISH_PID")
wait_until 30 varnishd "$VARNISH_PID" curl -fsS -o /dev/null "http://127.0.0.1:$VARNISH_PORT/v1/keys/$KEY"
# The object is in the cache when a response carries two ids in X-Varnish (request, hit).
curl -fsS -o /dev/null "http://127.0.0.1:$VARNISH_PORT/v1/keys/$KEY"
hdrs=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$VARNISH_PORT/v1/keys/$KEY" | tr -d '\r')
grep -Eq '^X-Varnish: [0-9]+ [0-9]+' <<<"$hdrs" || die "varnish does not serve the object from cache: $(tr '\n' ' ' <<<"$hdrs")"
log "varnish hit confirmed ($(grep -E '^(X-Varnish|Age):' <<<"$hdrs" | tr '\n' ' '))"

# redis
log "starting redis-server on :$REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --dir "$TMP" --logfile "$TMP/redis.log" &
REDIS_PID=$!; PIDS+=("$REDIS_PID")
wait_until 10 redis-server "$REDIS_PID" redis-cli -p "$REDIS_PORT" ping

# The same value in tiercached and redis. redis-benchmark -t get without -r reads the
# literal key "key:__rand_int__", so that key holds the value too (every GET is a hit).
code=$(curl -sS -o "$TMP/put.out" -w '%{http_code}' -X PUT --data-binary "@$VALUE_FILE" \
  "http://127.0.0.1:$TC_HTTP/v1/keys/$KEY?ttl=86400")
[[ $code == 2* ]] || die "PUT to tiercached answered $code: $(head -c 300 "$TMP/put.out")"
got=$(curl -fsS "http://127.0.0.1:$TC_HTTP/v1/keys/$KEY")
[ "$got" = "$(cat "$VALUE_FILE")" ] || die "tiercached returned a different value: $got"
redis-cli -p "$REDIS_PORT" -x SET "$KEY" <"$VALUE_FILE" >/dev/null
redis-cli -p "$REDIS_PORT" -x SET "key:__rand_int__" <"$VALUE_FILE" >/dev/null
[ "$(redis-cli -p "$REDIS_PORT" STRLEN "$KEY")" = 100 ] || die "redis does not hold the 100-byte value"

# ---------------------------------------------------------------- runners
RESULTS="$TMP/results.tsv"  # target, round, rps, p99_ms, errors, note
: >"$RESULTS"
FAILED=0

record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "${6:-}" >>"$RESULTS"; }

# run_wrk TARGET ROUND URL PID
run_wrk() {
  local target=$1 round=$2 url=$3 pid=$4 out="$TMP/wrk-$1-$2.txt"
  if ! alive "$pid"; then record "$target" "$round" "" "" "" "server not running"; FAILED=1; return; fi
  if ! wrk -t1 -c"$CONNECTIONS" -d"${SECS}s" --latency "$url" >"$out" 2>&1; then
    record "$target" "$round" "" "" "" "wrk failed"; FAILED=1; return
  fi
  python3 - "$out" "$target" "$round" >>"$RESULTS" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([0-9.]+)", text)
p99 = re.search(r"^\s*99%\s+([0-9.]+)(us|ms|s)\s*$", text, re.M)
def ms(v, unit): return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
nerr = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errs.groups())) if errs else 0)
note = "" if nerr == 0 else "wrk: %s" % ("; ".join(x.group(0) for x in (non2xx, errs) if x))
print("\t".join([sys.argv[2], sys.argv[3], rps.group(1) if rps else "",
                 "%.3f" % ms(*p99.groups()) if p99 else "", str(nerr), note]))
PY
}

REDIS_N=""
run_redis() {
  local round=$1 out="$TMP/redis-$1.csv"
  if ! alive "$REDIS_PID"; then record redis "$round" "" "" "" "server not running"; FAILED=1; return; fi
  if ! redis-benchmark -p "$REDIS_PORT" -t get -d 100 -c "$CONNECTIONS" -P 1 -n "$REDIS_N" --csv \
      >"$out" 2>"$TMP/redis-$round.err"; then
    record redis "$round" "" "" "" "redis-benchmark failed"; FAILED=1; return
  fi
  python3 - "$out" "$round" >>"$RESULTS" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r.get("test") == "GET"]
if not rows:
    print("\t".join(["redis", sys.argv[2], "", "", "", "no GET row in redis-benchmark output"]))
else:
    r = rows[0]
    print("\t".join(["redis", sys.argv[2], r["rps"], r.get("p99_latency_ms", ""), "0", ""]))
PY
}

# run_tierbench TARGET ROUND PROTOCOL PORT
run_tierbench() {
  local target=$1 round=$2 proto=$3 port=$4 out="$TMP/tierbench-$1-$2.json" rc=0
  if ! alive "$TC_PID"; then record "$target" "$round" "" "" "" "server not running"; FAILED=1; return; fi
  "$TIERBENCH" --protocol "$proto" --server "127.0.0.1:$port" --read-ratio 1.0 --value-size 100 \
    --connections "$CONNECTIONS" --duration "$SECS" --ttl 86400 --json \
    >"$out" 2>"$TMP/tierbench-$target-$round.err" || rc=$?
  python3 - "$out" "$target" "$round" "$rc" >>"$RESULTS" <<'PY'
import json, sys
target, rnd, rc = sys.argv[2], sys.argv[3], sys.argv[4]
try:
    j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
except Exception as e:
    print("\t".join([target, rnd, "", "", "", "tierbench exit %s, no JSON" % rc])); sys.exit()
if "error" in j:
    print("\t".join([target, rnd, "", "", "", "tierbench: " + j["error"]])); sys.exit()
note = ""
if j["errors"]:
    note = "errors: " + ", ".join("%s x%d" % kv for kv in j.get("error_kinds", {}).items())
if j["misses"]:
    note += (" " if note else "") + "misses %d" % j["misses"]
print("\t".join([target, rnd, "%.2f" % j["throughput_rps"], "%.3f" % (j["latency_us"]["p99"] / 1000.0),
                 str(j["errors"]), note]))
PY
  [ "$rc" -eq 0 ] || FAILED=1
}

# ---------------------------------------------------------------- warm-up and calibration
log "warming up every target (1 s each) and sizing redis-benchmark for ${SECS}s"
for url in "http://127.0.0.1:$TC_HTTP/v1/keys/$KEY" "http://127.0.0.1:$NGINX_PORT/v1/keys/$KEY" \
           "http://127.0.0.1:$VARNISH_PORT/v1/keys/$KEY"; do
  wrk -t1 -c"$CONNECTIONS" -d1s "$url" >/dev/null 2>&1 || die "wrk cannot load $url"
done
cal=$(redis-benchmark -p "$REDIS_PORT" -t get -d 100 -c "$CONNECTIONS" -P 1 -n 100000 --csv 2>/dev/null |
      python3 -c 'import csv,sys; print([r for r in csv.DictReader(sys.stdin) if r["test"]=="GET"][0]["rps"])') ||
  die "redis-benchmark calibration failed"
REDIS_N=$(python3 -c "print(max(10000, int(float('$cal') * $SECS)))")
log "redis-benchmark: ~$cal req/s in calibration, -n $REDIS_N per round"

# ---------------------------------------------------------------- rounds
for ((r = 1; r <= ROUNDS; r++)); do
  log "round $r/$ROUNDS: tiercached (wrk)"
  run_wrk tiercached-http "$r" "http://127.0.0.1:$TC_HTTP/v1/keys/$KEY" "$TC_PID"
  log "round $r/$ROUNDS: nginx (wrk)"
  run_wrk nginx "$r" "http://127.0.0.1:$NGINX_PORT/v1/keys/$KEY" "$NGINX_PID"
  log "round $r/$ROUNDS: varnish (wrk)"
  run_wrk varnish "$r" "http://127.0.0.1:$VARNISH_PORT/v1/keys/$KEY" "$VARNISH_PID"
  log "round $r/$ROUNDS: redis (redis-benchmark)"
  run_redis "$r"
  log "round $r/$ROUNDS: tiercached (tierbench http)"
  run_tierbench tierbench-http "$r" http "$TC_HTTP"
  log "round $r/$ROUNDS: tiercached (tierbench grpc)"
  run_tierbench tierbench-grpc "$r" grpc "$TC_GRPC"
done
alive "$TC_PID" || { FAILED=1; log "tiercached is no longer running; last log lines:"; tail -n 20 "$TMP/tiercached.log" >&2; }
# The server's own view of the run.
curl -fsS "http://127.0.0.1:$TC_HTTP/v1/status" >"$TMP/tiercached-status.json" 2>/dev/null || true

# ---------------------------------------------------------------- L1 microbenchmark
log "l1_bench (3 repetitions)"
L1_JSON="$TMP/l1_bench.json"
if ! "$L1BENCH" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_min_time=0.2 --benchmark_out="$L1_JSON" --benchmark_out_format=json \
    >"$TMP/l1_bench.txt" 2>&1; then
  log "l1_bench failed:"; tail -n 20 "$TMP/l1_bench.txt" >&2; FAILED=1
fi

# ---------------------------------------------------------------- report
versions() {
  echo "- machine: $(nproc) CPUs, $(uname -sr); SERVER_THREADS=$SERVER_THREADS, $CONNECTIONS connections, ${SECS}s per run, $ROUNDS round(s)"
  echo "- $("$TIERCACHED" --version 2>&1 | head -n1) ($TC_CONFIG_NOTE, L1 only); $(nginx -v 2>&1 | sed 's/.*: //'), worker_processes $SERVER_THREADS, open_file_cache on; $(varnishd -V 2>&1 | head -n1 | grep -o 'varnish-[0-9.]*'), thread_pools $SERVER_THREADS, malloc 64m; redis $(redis-server --version | grep -o 'v=[0-9.]*' | cut -d= -f2)"
  echo "- load: wrk -t1 -c$CONNECTIONS --latency (HTTP GET of one key), redis-benchmark -t get -d 100 -c $CONNECTIONS -P 1, tierbench --read-ratio 1.0 --value-size 100 --connections $CONNECTIONS (10000 prefilled keys, uniform)"
}
versions >"$TMP/header.md"
python3 - "$RESULTS" "$ROUNDS" "$L1_JSON" "$TMP/header.md" <<'PY'
import json, os, statistics, sys
results, rounds, l1_json, header = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
order = [("tiercached-http", "tiercached HTTP", "wrk"), ("nginx", "nginx static file", "wrk"),
         ("varnish", "varnish (hit) -> nginx", "wrk"), ("redis", "redis GET", "redis-benchmark"),
         ("tierbench-http", "tiercached HTTP", "tierbench"), ("tierbench-grpc", "tiercached gRPC", "tierbench")]
data = {}
for line in open(results):
    f = line.rstrip("\n").split("\t")
    while len(f) < 6: f.append("")
    data.setdefault(f[0], {})[int(f[1])] = f[1:]

def num(s):
    try: return float(s)
    except ValueError: return None

med = {}
print("## tiercached vs nginx, varnish, redis (medians over %d round%s)\n" % (rounds, "" if rounds == 1 else "s"))
print(open(header).read())
cols = ["target", "tool", "median req/s", "median p99 (ms)"] + ["round %d req/s / p99 ms" % r for r in range(1, rounds + 1)] + ["errors", "notes"]
print("| " + " | ".join(cols) + " |")
print("|" + "|".join(["---"] * len(cols)) + "|")
for key, name, tool in order:
    rows = data.get(key, {})
    rps = [num(rows[r][1]) for r in sorted(rows) if num(rows[r][1]) is not None]
    p99 = [num(rows[r][2]) for r in sorted(rows) if num(rows[r][2]) is not None]
    m_rps = statistics.median(rps) if rps else None
    m_p99 = statistics.median(p99) if p99 else None
    med[key] = (m_rps, m_p99)
    cells = []
    for r in range(1, rounds + 1):
        if r in rows and num(rows[r][1]) is not None:
            cells.append("%s / %s" % (format(round(num(rows[r][1])), ","), "%.2f" % num(rows[r][2]) if num(rows[r][2]) is not None else "?"))
        else:
            cells.append("failed")
    errs = sum(int(rows[r][3]) for r in rows if rows[r][3].isdigit())
    notes = "; ".join(sorted({"r%d: %s" % (r, rows[r][4]) for r in rows if rows[r][4]}))
    print("| " + " | ".join([name, tool, format(round(m_rps), ",") if m_rps else "n/a",
                             "%.2f" % m_p99 if m_p99 is not None else "n/a"] + cells + [str(errs), notes or ""]) + " |")

def ratio(a, b, label):
    ra, rb = med.get(a, (None,))[0], med.get(b, (None,))[0]
    pa, pb = med.get(a, (None, None))[1], med.get(b, (None, None))[1]
    r = "%.2f" % (ra / rb) if ra and rb else "n/a"
    p = "%.2f" % (pa / pb) if pa and pb else "n/a"
    print("| %s | %s | %s |" % (label, r, p))

print("\n| ratio (of medians) | req/s | p99 |")
print("|---|---|---|")
ratio("tiercached-http", "redis", "tiercached HTTP (wrk) / redis")
ratio("tiercached-http", "nginx", "tiercached HTTP (wrk) / nginx")
ratio("tiercached-http", "varnish", "tiercached HTTP (wrk) / varnish")
ratio("tierbench-grpc", "tierbench-http", "tiercached gRPC / HTTP (tierbench)")

if os.path.exists(l1_json) and os.path.getsize(l1_json) > 0:
    j = json.load(open(l1_json))
    print("\n## L1 microbenchmark (l1_bench, median of 3 repetitions)\n")
    print("| benchmark | ns/op (real) | ops/s (all threads) |")
    print("|---|---|---|")
    for b in j["benchmarks"]:
        if b.get("aggregate_name") != "median": continue
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        ips = b.get("items_per_second")
        print("| %s | %.0f | %s |" % (b["run_name"], b["real_time"] * scale, format(round(ips), ",") if ips else ""))
PY
if [ "$FAILED" -ne 0 ]; then
  log "some runs failed or reported errors (see notes above; logs in $TMP)"
  exit 1
fi
