#!/usr/bin/env bash
# warm_bench.sh BUILD_DIR [ROUNDS=3]
#
# A `sql` warm of 100,000 rows into L1 + Redis (L2): keys per second alone and under load,
# and the p99 of tierbench L1-hit GETs (64 connections) idle and while the warm runs, side
# by side. Each round: every tier emptied (`tierctl clear`); a warm with no other traffic
# into the empty tiers; a second one over the keys of the first (a scheduled re-warm, which
# costs Redis less); tierbench idle for 5 s; then a warm started together with a second 5 s
# tierbench. Medians of ROUNDS. Throwaway servers on free loopback ports
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

# Each measurement writes its JSON to a file and Python reads it afterwards: an interpreter
# starting beside a measurement (in a pipeline) would take CPU from it on a 2-core machine.
bench() {  # -> "req/s p99_ms"
  "$TIERBENCH" --server "127.0.0.1:$HTTP_PORT" --connections 64 --duration 5 --warmup 0 \
    --keys 10000 --key-prefix bench: --read-ratio 1 --value-size 100 --ttl 3600 --no-prefill \
    --json >"$TMP/bench.json"
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["throughput_rps"], d["latency_us"]["p99"] / 1000)' \
    <"$TMP/bench.json"
}
# Empties every tier, then puts back the GET keys (in L1 for the rest of the round).
empty_tiers() {
  "$TIERCTL" --server "127.0.0.1:$GRPC_PORT" clear --yes >/dev/null
  "$TIERBENCH" --server "127.0.0.1:$HTTP_PORT" --connections 8 --duration 0.1 --warmup 0 \
    --keys 10000 --key-prefix bench: --read-ratio 1 --value-size 100 --ttl 3600 --json >/dev/null
}

# Runs the source and follows it to its end with tierctl, which asks the daemon over gRPC
# once a second (a poll that starts a Python interpreter each time would itself take a good
# part of a core from the run); FILE gets tierctl's JSON, the daemon's own record of the run.
warm() { "$TIERCTL" --server "127.0.0.1:$GRPC_PORT" --json warm --source users >"$1"; }
rate() {  # FILE -> "keys/s keys seconds"
  python3 -c '
import json, sys
r = json.load(sys.stdin)["last_run"]
print(r["written"] / r["duration_seconds"], r["written"], r["duration_seconds"])' <"$1"
}

IDLE=(); DURING=(); RATES=(); COLD=(); ALONE=()
for round in $(seq "$ROUNDS"); do
  empty_tiers
  warm "$TMP/warm.json"
  COLD+=("$(rate "$TMP/warm.json" | cut -d' ' -f1)")
  warm "$TMP/warm.json"
  ALONE+=("$(rate "$TMP/warm.json" | cut -d' ' -f1)")
  IDLE+=("$(bench)")
  warm "$TMP/warm.json" &
  warm_pid=$!
  DURING+=("$(bench)")
  wait "$warm_pid"
  read -r rate written duration < <(rate "$TMP/warm.json")
  RATES+=("$rate")
  log "round $round: warm alone ${COLD[-1]} keys/s into empty tiers, ${ALONE[-1]} over full ones; GETs idle ${IDLE[-1]}, during warm" \
    "${DURING[-1]} (req/s p99_ms); warm under load $written keys in $duration s"
done
python3 - "${IDLE[@]}" -- "${DURING[@]}" -- "${RATES[@]}" -- "${COLD[@]}" -- "${ALONE[@]}" <<'PY'
import statistics, sys
groups, group = [], []
for arg in sys.argv[1:] + ["--"]:
    if arg == "--":
        groups.append(group)
        group = []
    else:
        group.append(arg)
idle, during = ([tuple(map(float, x.split())) for x in g] for g in groups[:2])
rates, cold, alone = ([float(x) for x in g] for g in groups[2:])
mi, md = statistics.median(p for _, p in idle), statistics.median(p for _, p in during)
listed = lambda xs, f: ", ".join(f.format(x) for x in xs)
print(f"L1 GET p99 idle: {mi:.2f} ms ({listed((p for _, p in idle), '{:.2f}')}), "
      f"{statistics.median(r for r, _ in idle):,.0f} req/s")
print(f"L1 GET p99 during the warm: {md:.2f} ms ({listed((p for _, p in during), '{:.2f}')}), "
      f"{statistics.median(r for r, _ in during):,.0f} req/s; ratio {md / mi:.2f}x")
print(f"sql warm of 100,000 rows into L1+L2, alone, into empty tiers: "
      f"{statistics.median(cold):,.0f} keys/s ({listed(cold, '{:,.0f}')})")
print(f"sql warm of 100,000 rows into L1+L2, alone, over the keys of the run before: "
      f"{statistics.median(alone):,.0f} keys/s ({listed(alone, '{:,.0f}')})")
print(f"sql warm of 100,000 rows into L1+L2, beside the GET load: "
      f"{statistics.median(rates):,.0f} keys/s ({listed(rates, '{:,.0f}')})")
PY
