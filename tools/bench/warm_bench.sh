#!/usr/bin/env bash
# warm_bench.sh BUILD_DIR [ROUNDS=3]
#
# A `sql` warm of 100,000 rows into L1 + Redis (L2): keys per second alone and under load,
# and the p99 of tierbench L1-hit GETs (64 connections) idle and while the warm runs, side
# by side. Each round: a warm with no other traffic; tierbench idle for 5 s; then a warm
# started together with a second 5 s tierbench. Medians of ROUNDS. The first warm finds L1
# and Redis empty; every later one rewrites the keys of the run before (a scheduled
# re-warm), which costs Redis less. Throwaway servers on free loopback ports
# (tools/bench/backends.sh); run as root. WARM_SOURCE_EXTRA: more lines for the source's
# YAML (e.g. '      max_keys_per_second: 30000'); WARMING_EXTRA: for the warming section
# (e.g. '  busy_requests_per_second: 1000').
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 BUILD_DIR [ROUNDS=3]" >&2; exit 2; }
BUILD_DIR=$(cd "$1" && pwd)
ROUNDS=${2:-3}
log() { echo "[warm-bench] $*" >&2; }
source "$(dirname "$0")/backends.sh"

start_redis
start_pg
runuser -u postgres -- psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c \
  "CREATE TABLE app_users (id int PRIMARY KEY, name text, email text, active bool);
   INSERT INTO app_users SELECT i, 'user ' || i, 'u' || i || '@example.com', true
   FROM generate_series(1, 100000) AS i;"
cat >"$TMP/tiercache.yaml" <<EOF
server: {io_threads: 1}
coherence: {enabled: false}
tiers:
  - type: redis
    url: redis://127.0.0.1:$REDIS_PORT
warming:
${WARMING_EXTRA:-}
  sources:
    - name: users
      type: sql
      dsn: "$PG_DSN"
      query: SELECT id, name, email FROM app_users WHERE active
      key: "user:{id}"
      tags: ["user:{id}", user_list]
      ttl: 1h
${WARM_SOURCE_EXTRA:-}
EOF
start_tiercached "$TMP/tiercache.yaml"

bench() {  # -> "req/s p99_ms"
  "$TIERBENCH" --server "127.0.0.1:$HTTP_PORT" --connections 64 --duration 5 --warmup 0 \
    --keys 10000 --key-prefix bench: --read-ratio 1 --value-size 100 --ttl 3600 --no-prefill --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["throughput_rps"], d["latency_us"]["p99"] / 1000)'
}
warm_status() {
  curl -fs "127.0.0.1:$HTTP_PORT/v1/status" | python3 -c '
import json, sys
w = json.load(sys.stdin)["warming"][0]
print(w["runs"], w["running"], w.get("last_run", {}).get("duration_seconds", 0), w.get("last_run", {}).get("written", 0))'
}
# The GET keys, in L1 for the whole run.
"$TIERBENCH" --server "127.0.0.1:$HTTP_PORT" --connections 8 --duration 0.1 --warmup 0 --keys 10000 \
  --key-prefix bench: --read-ratio 1 --value-size 100 --ttl 3600 --json >/dev/null

start_warm() {  # -> the number of runs before this one
  warm_status | cut -d' ' -f1
  curl -fs -X POST "127.0.0.1:$HTTP_PORT/v1/warm" -d '{"source": "users"}' >/dev/null
}
finish_warm() {  # RUNS_BEFORE -> "keys/s keys seconds", once the run has ended
  while :; do
    read -r runs running duration written < <(warm_status)
    [ "$runs" -gt "$1" ] && [ "$running" = False ] && break
    sleep 0.2
  done
  echo "$(python3 -c "print($written / $duration)") $written $duration"
}

IDLE=(); DURING=(); RATES=(); ALONE=()
for round in $(seq "$ROUNDS"); do
  before=$(start_warm)
  ALONE+=("$(finish_warm "$before" | cut -d' ' -f1)")
  IDLE+=("$(bench)")
  before=$(start_warm)
  DURING+=("$(bench)")
  read -r rate written duration < <(finish_warm "$before")
  RATES+=("$rate")
  log "round $round: warm alone ${ALONE[-1]} keys/s; GETs idle ${IDLE[-1]}, during warm" \
    "${DURING[-1]} (req/s p99_ms); warm under load $written keys in $duration s"
done
python3 - "${IDLE[@]}" -- "${DURING[@]}" -- "${RATES[@]}" -- "${ALONE[@]}" <<'PY'
import statistics, sys
args = sys.argv[1:]
a = args.index("--"); b = args.index("--", a + 1); c = args.index("--", b + 1)
idle = [tuple(map(float, x.split())) for x in args[:a]]
during = [tuple(map(float, x.split())) for x in args[a + 1:b]]
rates = [float(x) for x in args[b + 1:c]]
alone = [float(x) for x in args[c + 1:]]
mi, md = statistics.median(p for _, p in idle), statistics.median(p for _, p in during)
print(f"L1 GET p99 idle: {mi:.2f} ms ({', '.join(f'{p:.2f}' for _, p in idle)}), "
      f"{statistics.median(r for r, _ in idle):,.0f} req/s")
print(f"L1 GET p99 during the warm: {md:.2f} ms ({', '.join(f'{p:.2f}' for _, p in during)}), "
      f"{statistics.median(r for r, _ in during):,.0f} req/s; ratio {md / mi:.2f}x")
print(f"sql warm of 100,000 rows into L1+L2, alone: {statistics.median(alone):,.0f} keys/s "
      f"({', '.join(f'{r:,.0f}' for r in alone)}); the first into empty tiers, the others "
      f"over the keys of the run before")
print(f"sql warm of 100,000 rows into L1+L2, beside the GET load: "
      f"{statistics.median(rates):,.0f} keys/s ({', '.join(f'{r:,.0f}' for r in rates)})")
PY
