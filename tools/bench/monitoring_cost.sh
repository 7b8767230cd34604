#!/usr/bin/env bash
# monitoring_cost.sh BUILD_DIR [ROUNDS=5] [SECONDS=5]
#
# What recording metrics costs: tierbench L1-hit GET throughput (HTTP, 64 connections, one
# client thread, 10,000 keys of 100 bytes) against two tiercached side by side, one with
# monitoring on (the default: request counters, latency histograms, per-pattern statistics)
# and one with `monitoring.enabled: false`. Both run io_threads 1, L1 only, on free loopback
# ports; rounds alternate between them (on, off, on, off, ...) so that the machine's noise
# falls on both, and the medians are compared.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 3 ] || { echo "usage: $0 BUILD_DIR [ROUNDS=5] [SECONDS=5]" >&2; exit 2; }
BUILD_DIR=$(cd "$1" && pwd)
ROUNDS=${2:-5}
SECS=${3:-5}
TIERCACHED="$BUILD_DIR/server/tiercached"
TIERBENCH="$BUILD_DIR/tools/tierbench/tierbench"
for f in "$TIERCACHED" "$TIERBENCH"; do
  [ -x "$f" ] || { echo "$0: $f is missing (cmake --build $BUILD_DIR)" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/tiercache-monitoring.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
read -r ON_HTTP ON_GRPC OFF_HTTP OFF_GRPC < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)
start() {  # NAME ENABLED HTTP GRPC
  printf 'server: {io_threads: 1}\nmonitoring: {enabled: %s}\n' "$2" >"$TMP/$1.yaml"
  "$TIERCACHED" --config "$TMP/$1.yaml" --http-listen "127.0.0.1:$3" --grpc-listen "127.0.0.1:$4" \
    >"$TMP/$1.log" 2>&1 &
  PIDS+=($!)
  until curl -fs "127.0.0.1:$3/readyz" >/dev/null 2>&1; do sleep 0.1; done
  # Every key in L1 for the whole run.
  "$TIERBENCH" --server "127.0.0.1:$3" --connections 8 --duration 0.1 --warmup 0 --keys 10000 \
    --read-ratio 1 --value-size 100 --ttl 3600 --json >/dev/null
}
start on true "$ON_HTTP" "$ON_GRPC"
start off false "$OFF_HTTP" "$OFF_GRPC"

bench() {  # HTTP_PORT -> "req/s p99_ms"
  "$TIERBENCH" --server "127.0.0.1:$1" --connections 64 --duration "$SECS" --warmup 1 \
    --keys 10000 --read-ratio 1 --value-size 100 --ttl 3600 --no-prefill --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["throughput_rps"], d["latency_us"]["p99"] / 1000)'
}
ON=(); OFF=()
for round in $(seq "$ROUNDS"); do
  ON+=("$(bench "$ON_HTTP")")
  OFF+=("$(bench "$OFF_HTTP")")
  echo "[monitoring-cost] round $round: on ${ON[-1]}, off ${OFF[-1]} (req/s p99_ms)" >&2
done
python3 - "${ON[@]}" -- "${OFF[@]}" <<'PY'
import statistics, sys
args = sys.argv[1:]
cut = args.index("--")
on = [tuple(map(float, x.split())) for x in args[:cut]]
off = [tuple(map(float, x.split())) for x in args[cut + 1:]]
on_rps, off_rps = statistics.median(r for r, _ in on), statistics.median(r for r, _ in off)
print(f"monitoring on:  {on_rps:,.0f} req/s median, p99 {statistics.median(p for _, p in on):.2f} ms "
      f"({', '.join(f'{r:,.0f}' for r, _ in on)})")
print(f"monitoring off: {off_rps:,.0f} req/s median, p99 {statistics.median(p for _, p in off):.2f} ms "
      f"({', '.join(f'{r:,.0f}' for r, _ in off)})")
print(f"on / off: {on_rps / off_rps:.3f} ({(1 - on_rps / off_rps) * 100:+.1f}% lower with monitoring)")
PY
