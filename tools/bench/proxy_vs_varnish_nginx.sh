#!/usr/bin/env bash
# proxy_vs_varnish_nginx.sh [ROUNDS=3]
#
# Cache hits through three caching reverse proxies on this machine, all in front of one
# origin: tiercached's proxy (proxy.routes, L1 only), Varnish and nginx proxy_cache. The
# origin is an nginx serving a static 1 KiB file with Cache-Control: max-age=3600 (and
# Expires) on three ports, one per cache, so that its log tells which cache fetched what.
# Each cache is warmed with curl and must answer a hit before anything is measured
# (tiercached: Cache-Status "tiercache; hit"; Varnish: two ids in X-Varnish; nginx:
# X-Cache-Status: HIT); then
#   wrk -t1 -c64 -d10s --latency http://127.0.0.1:PORT/page
# runs against each, interleaved in rounds (tiercached, varnish, nginx, tiercached, ...) so
# that a change in the machine's load falls on all three; one unrecorded 3 s warm-up run
# per cache comes first. The table gives, per cache, the median over rounds of wrk's
# Requests/sec and of its 99% latency (normalised to ms), and the throughput ratios
# tiercached / varnish and tiercached / nginx (above 1: tiercached served more). The
# origin's request count per cache at the end should be 1 (the first miss): more means the
# cache went back to the origin during the runs.
#
# Workers (nothing is pinned; on a 2-core machine wrk's one thread shares the cores):
#   tiercached  server.io_threads: 1
#   varnish     its defaults: 2 thread pools (thread_pool_min 100 each), -s malloc,256m
#   nginx       worker_processes 1, proxy_cache on a cache directory in the temp dir (hits
#               are read from the page cache), keepalive_requests raised to 1,000,000 so
#               that wrk's connections are not closed every 1,000 requests (the default),
#               keepalive 16 to the origin
#
# Needs varnish, nginx and wrk (Debian packages): missing ones are installed with
# apt-get install -y --no-install-recommends (as root, or through sudo), with a temporary
# /usr/sbin/policy-rc.d so that the packages' system services are not started. Nothing
# else leaves the machine. All servers run in a temporary directory on free loopback ports
# and are stopped by pid on exit. Builds nothing. TIERCACHED names the daemon (default:
# build/server/tiercached under the source root).
#
# Environment: TIERCACHED, DURATION (10s), CONNECTIONS (64), WARMUP (3s).
set -euo pipefail

usage() { echo "usage: $0 [ROUNDS=3]" >&2; exit 2; }
[ $# -le 1 ] || usage
ROUNDS=${1:-3}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || usage
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP:-3s}
NAME=proxy-vs-varnish-nginx
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# ---------------------------------------------------------------- packages
# Before daemon.sh, whose EXIT trap replaces the one that removes policy-rc.d.
install_missing() {
  local missing=() sudo="" policy=/usr/sbin/policy-rc.d
  command -v varnishd >/dev/null 2>&1 || missing+=(varnish)
  command -v nginx >/dev/null 2>&1 || missing+=(nginx)
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
      { echo "$NAME: error: ${missing[*]} missing; install as root" >&2; exit 1; }
    sudo=sudo
  fi
  echo "[$NAME] installing ${missing[*]} (apt-get)" >&2
  local own_policy=0
  if [ ! -e "$policy" ]; then
    # 101: "action not allowed", so postinst starts no nginx or varnish service.
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    own_policy=1
    trap "$sudo rm -f $policy" EXIT
  fi
  local rc=0
  $sudo env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}" >&2 || {
    $sudo apt-get update >&2 &&
      $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}" >&2
  } || rc=$?
  if [ $own_policy = 1 ]; then $sudo rm -f "$policy"; trap - EXIT; fi
  [ $rc -eq 0 ] || { echo "$NAME: error: apt-get install ${missing[*]} failed" >&2; exit 1; }
}
install_missing

source "$(dirname "$0")/daemon.sh"
for cmd in varnishd nginx wrk curl python3; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd is missing"
done
AS_ROOT=0; [ "$(id -u)" -eq 0 ] && AS_ROOT=1

# origin ports (one per cache), tiercached http/grpc/proxy, varnish, nginx cache
read -r O_TC O_VARNISH O_NGINX TC_HTTP TC_GRPC TC_PROXY VARNISH_PORT NGINX_PORT \
  < <(free_ports 8)

# ---------------------------------------------------------------- origin
mkdir -p "$TMP/origin/www" "$TMP/origin/tmp"
python3 -c 'import sys; sys.stdout.write(("0123456789abcdef" * 64)[:1024])' \
  >"$TMP/origin/www/page"
# nginx_common DIR: the lines every nginx here shares (paths under DIR, one worker).
nginx_common() {
  [ "$AS_ROOT" = 1 ] && echo "user root;"
  cat <<EOF
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
EOF
}
nginx_temp_paths() {
  local t
  for t in client_body proxy fastcgi uwsgi scgi; do
    echo "  ${t}_temp_path $1/tmp/$t;"
  done
}
{
  nginx_common "$TMP/origin"
  cat <<EOF
http {
$(nginx_temp_paths "$TMP/origin")
  default_type text/plain;
  log_format bycache '\$server_port \$request_method \$request_uri \$status';
  access_log $TMP/origin/access.log bycache;
  server {
    listen 127.0.0.1:$O_TC;
    listen 127.0.0.1:$O_VARNISH;
    listen 127.0.0.1:$O_NGINX;
    root $TMP/origin/www;
    location / { expires 1h; }
  }
}
EOF
} >"$TMP/origin/nginx.conf"

start_nginx() {  # DIR: nginx -p DIR -c DIR/nginx.conf in the foreground; sets STARTED_PID
  nginx -t -q -e "$1/error.log" -p "$1" -c "$1/nginx.conf" >>"$1/start.log" 2>&1 ||
    die "nginx rejected $1/nginx.conf: $(tail -n 3 "$1/start.log")"
  nginx -e "$1/error.log" -p "$1" -c "$1/nginx.conf" -g 'daemon off;' >>"$1/start.log" 2>&1 &
  STARTED_PID=$!
  SERVER_PIDS+=("$STARTED_PID")
}
log "starting the origin (nginx) on :$O_TC, :$O_VARNISH, :$O_NGINX"
start_nginx "$TMP/origin"
ORIGIN_PID=$STARTED_PID
wait_for 10 "$ORIGIN_PID" "origin nginx" curl -fsS -o /dev/null "http://127.0.0.1:$O_TC/page"
curl -fsS -D "$TMP/origin/headers" -o /dev/null "http://127.0.0.1:$O_TC/page"
grep -qi '^cache-control: max-age=3600' "$TMP/origin/headers" ||
  die "the origin does not send Cache-Control: max-age=3600"
: >"$TMP/origin/access.log"  # count only the caches' fetches

# ---------------------------------------------------------------- tiercached
cat >"$TMP/tiercache.yaml" <<EOF
server:
  http_listen: 127.0.0.1:$TC_HTTP
  grpc_listen: 127.0.0.1:$TC_GRPC
  resp_listen: ""
  io_threads: 1
proxy:
  listen: 127.0.0.1:$TC_PROXY
  routes:
    - name: app
      path_prefix: /
      origin: http://127.0.0.1:$O_TC
EOF
log "starting tiercached (proxy :$TC_PROXY, http :$TC_HTTP)"
"$TIERCACHED" --config "$TMP/tiercache.yaml" >"$TMP/tiercached.log" 2>&1 &
TC_PID=$!
SERVER_PIDS+=("$TC_PID")
wait_for 20 "$TC_PID" tiercached curl -fsS -o /dev/null "http://127.0.0.1:$TC_HTTP/readyz"

# ---------------------------------------------------------------- varnish
mkdir -p "$TMP/varnish"
cat >"$TMP/varnish/default.vcl" <<EOF
vcl 4.1;
backend origin { .host = "127.0.0.1"; .port = "$O_VARNISH"; }
EOF
# As root varnishd drops to its own user, which cannot enter the 0700 temp dir: no jail.
VARNISH_JAIL=(); [ "$AS_ROOT" = 1 ] && VARNISH_JAIL=(-j none)
log "starting varnishd on :$VARNISH_PORT"
varnishd -F "${VARNISH_JAIL[@]}" -n "$TMP/varnish/work" -a "127.0.0.1:$VARNISH_PORT" \
  -T 127.0.0.1:0 -f "$TMP/varnish/default.vcl" -s malloc,256m \
  >"$TMP/varnish/varnishd.log" 2>&1 &
VARNISH_PID=$!
SERVER_PIDS+=("$VARNISH_PID")
wait_for 30 "$VARNISH_PID" varnishd curl -sS -o /dev/null "http://127.0.0.1:$VARNISH_PORT/"

# ---------------------------------------------------------------- nginx proxy_cache
mkdir -p "$TMP/nginx/tmp" "$TMP/nginx/cache"
{
  nginx_common "$TMP/nginx"
  cat <<EOF
http {
$(nginx_temp_paths "$TMP/nginx")
  access_log off;
  keepalive_requests 1000000;
  proxy_cache_path $TMP/nginx/cache levels=1:2 keys_zone=bench:10m max_size=256m
                   inactive=1h use_temp_path=off;
  upstream origin { server 127.0.0.1:$O_NGINX; keepalive 16; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      add_header X-Cache-Status \$upstream_cache_status always;
    }
  }
}
EOF
} >"$TMP/nginx/nginx.conf"
log "starting nginx proxy_cache on :$NGINX_PORT"
start_nginx "$TMP/nginx"
NGINX_PID=$STARTED_PID
wait_for 10 "$NGINX_PID" "nginx cache" curl -sS -o /dev/null "http://127.0.0.1:$NGINX_PORT/"

# ---------------------------------------------------------------- warm and check hits
# warm TARGET PORT: three GETs of /page; the headers of the last one must show a hit.
warm() {
  local target=$1 port=$2 i hdr="$TMP/$1.warm-headers" ok=0
  for i in 1 2 3; do
    curl -fsS -D "$hdr" -o "$TMP/$target.warm-body" "http://127.0.0.1:$port/page" ||
      die "$target: GET /page failed"
    sleep 0.2
  done
  cmp -s "$TMP/$target.warm-body" "$TMP/origin/www/page" ||
    die "$target: the body differs from the origin's"
  case $target in
    tiercached) grep -qi '^cache-status: tiercache; hit' "$hdr" && ok=1 ;;
    varnish) grep -Eqi '^x-varnish: [0-9]+ [0-9]+' "$hdr" && ok=1 ;;
    nginx) grep -qi '^x-cache-status: HIT' "$hdr" && ok=1 ;;
  esac
  [ $ok = 1 ] || die "$target: no cache hit after three GETs; last headers: $(tr -d '\r' <"$hdr" |
    tr '\n' '|')"
  log "$target hit: $(tr -d '\r' <"$hdr" |
    grep -Ei '^(age|cache-status|x-varnish|x-cache-status):' | tr '\n' ' ')"
}
TARGETS=(tiercached varnish nginx)
declare -A PORT=([tiercached]=$TC_PROXY [varnish]=$VARNISH_PORT [nginx]=$NGINX_PORT)
declare -A PID=([tiercached]=$TC_PID [varnish]=$VARNISH_PID [nginx]=$NGINX_PID)
declare -A ORIGIN_PORT=([tiercached]=$O_TC [varnish]=$O_VARNISH [nginx]=$O_NGINX)
for t in "${TARGETS[@]}"; do warm "$t" "${PORT[$t]}"; done

# Versions and load now: a build may replace the daemon's file while the runs go on.
VERSIONS="$("$TIERCACHED" --version 2>&1 | head -n1) (proxy, L1 only, io_threads 1);\
 $(varnishd -V 2>&1 | grep -o 'varnish-[0-9.]*' | head -n1) (default VCL, 2 pools, malloc\
 256m); $(nginx -v 2>&1 | sed 's/^nginx version: //') (worker_processes 1, proxy_cache);\
 $({ wrk -v 2>&1 || true; } | head -n1 | cut -d' ' -f1,2)" || true
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- runs
RESULTS="$TMP/results.tsv"  # target, round, rps, p99_ms, note
: >"$RESULTS"
FAILED=0

# bench TARGET ROUND DURATION: one wrk run, a row to RESULTS (ROUND 0, the warm-up, only
# counts as failed if it failed).
bench() {
  local target=$1 round=$2 duration=$3 out="$TMP/$1-r$2.wrk"
  if ! kill -0 "${PID[$target]}" 2>/dev/null; then
    printf '%s\t%s\t\t\t%s\n' "$target" "$round" "server not running" >>"$RESULTS"
    FAILED=1; return
  fi
  if ! wrk -t1 -c"$CONNECTIONS" -d"$duration" --latency \
      "http://127.0.0.1:${PORT[$target]}/page" >"$out" 2>&1; then
    printf '%s\t%s\t\t\t%s\n' "$target" "$round" \
      "wrk failed: $(tr '\n' ' ' <"$out" | head -c 200)" >>"$RESULTS"
    FAILED=1; return
  fi
  python3 - "$out" "$target" "$round" >>"$RESULTS" <<'PY'
import re, sys
path, target, rnd = sys.argv[1:]
text = open(path).read()
rps = re.search(r"^Requests/sec:\s*([0-9.]+)", text, re.M)
p99 = re.search(r"^\s*99%\s+([0-9.]+)(us|ms|s)\b", text, re.M)
notes = []
for pattern in (r"Non-2xx or 3xx responses: \d+", r"Socket errors: [^\n]+"):
    m = re.search(pattern, text)
    if m:
        notes.append(m.group(0))
if not rps or not p99:
    notes.append("no Requests/sec or 99% line in wrk's output")
scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
print("\t".join([target, rnd,
                 rps.group(1) if rps else "",
                 "%.3f" % (float(p99.group(1)) * scale[p99.group(2)]) if p99 else "",
                 "; ".join(notes)]))
PY
  if [ -n "$(tail -n 1 "$RESULTS" | cut -f5)" ]; then FAILED=1; fi
}

log "warm-up: one $WARMUP wrk run per cache"
for t in "${TARGETS[@]}"; do bench "$t" 0 "$WARMUP"; done
for ((r = 1; r <= ROUNDS; r++)); do
  for t in "${TARGETS[@]}"; do
    log "round $r/$ROUNDS: $t"
    bench "$t" "$r" "$DURATION"
  done
done
kill -0 "$TC_PID" 2>/dev/null ||
  { FAILED=1; log "tiercached is no longer running; last log lines:"
    tail -n 20 "$TMP/tiercached.log" >&2; }

# ---------------------------------------------------------------- report
origin_fetches() {  # TARGET: requests the origin had on that cache's port
  awk -v p="${ORIGIN_PORT[$1]}" '$1 == p && $3 == "/page"' "$TMP/origin/access.log" | wc -l
}
{
  echo "- machine: $(nproc) CPUs, $(uname -sr); $ROUNDS round(s), interleaved, nothing pinned"
  echo "- $VERSIONS"
  echo "- load: wrk -t1 -c$CONNECTIONS -d$DURATION --latency GET /page, 1 KiB body" \
    "(Cache-Control: max-age=3600), all hits"
  echo "- load average (1, 5, 15 min) before the runs: $LOAD_BEFORE; after:" \
    "$(cut -d' ' -f1-3 /proc/loadavg) (over a full run the benchmark adds about 2)"
  echo "- origin fetches during the whole run: tiercached $(origin_fetches tiercached)," \
    "varnish $(origin_fetches varnish), nginx $(origin_fetches nginx)"
} >"$TMP/header.md"
python3 - "$RESULTS" "$ROUNDS" "$TMP/header.md" <<'PY'
import statistics, sys
results, rounds, header = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rps, p99, notes = {}, {}, []
for line in open(results):
    target, rnd, r, p, note = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
    if note:
        notes.append("%s round %s: %s" % (target, rnd, note))
    if rnd == "0":
        continue
    for d, v in ((rps, r), (p99, p)):
        try:
            d.setdefault(target, []).append(float(v))
        except ValueError:
            pass

def median(d, key):
    v = d.get(key)
    return statistics.median(v) if v else None

def fmt_rps(v): return format(round(v), ",") if v is not None else "n/a"
def fmt_ms(v): return "%.3f" % v if v is not None else "n/a"
def ratio(a, b): return "%.2f" % (a / b) if a and b else "n/a"

print("## tiercached proxy vs Varnish vs nginx proxy_cache (wrk, medians over %d round%s)\n"
      % (rounds, "" if rounds == 1 else "s"))
print(open(header).read())
print("| cache | req/s | p99 ms | req/s per round | p99 ms per round |")
print("|---|---|---|---|---|")
for t in ("tiercached", "varnish", "nginx"):
    print("| %s | %s | %s | %s | %s |" % (
        t, fmt_rps(median(rps, t)), fmt_ms(median(p99, t)),
        " ".join(fmt_rps(v) for v in rps.get(t, [])),
        " ".join(fmt_ms(v) for v in p99.get(t, []))))
tc, va, ng = (median(rps, t) for t in ("tiercached", "varnish", "nginx"))
tp, vp, np_ = (median(p99, t) for t in ("tiercached", "varnish", "nginx"))
print()
print("| ratio | req/s | p99 ms (tiercached vs other) |")
print("|---|---|---|")
print("| tiercached / varnish | %s | %s vs %s |" % (ratio(tc, va), fmt_ms(tp), fmt_ms(vp)))
print("| tiercached / nginx | %s | %s vs %s |" % (ratio(tc, ng), fmt_ms(tp), fmt_ms(np_)))
if notes:
    print("\nfailed runs:")
    for n in notes:
        print("- " + n)
PY
if [ "$FAILED" -ne 0 ]; then
  log "some runs failed (see above; logs in $TMP)"
  exit 1
fi
