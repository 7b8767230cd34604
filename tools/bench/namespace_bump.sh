#!/usr/bin/env bash
# namespace_bump.sh [BUMPS=20]
#
# Time tiercached takes to answer POST /v1/namespaces/app/bump while the namespace holds
# 1,000,000 entries (16-byte keys after the namespace's "app:v1:" prefix, 100-byte values),
# in L1 and in a Redis L2 (which keeps the version: one INCRBY per bump), and checks that
# after each bump none of 1,000 sampled old keys is served (404 with X-Cache-Namespace:
# app). The entries are written over the Redis protocol under their stored keys
# (redis-cli --pipe). Beside each bump, the client times a GET /healthz on the same
# connection: the request's own round trip. Prints medians, p90 and max.
#
# Builds nothing. TIERCACHED names the daemon (default: build/server/tiercached).
set -euo pipefail

[ $# -le 1 ] || { echo "usage: $0 [BUMPS=20]" >&2; exit 2; }
BUMPS=${1:-20}
[[ $BUMPS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [BUMPS=20]" >&2; exit 2; }
NAME=namespace-bump
source "$(dirname "$0")/daemon.sh"
for cmd in redis-cli redis-server curl python3; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd is missing (tools/install-deps.sh installs it)"
done

python3 - "$TMP" <<'PY'
import sys
value = b"v" * 100
with open(sys.argv[1] + "/keys.resp", "wb") as f:
    for i in range(1_000_000):
        key = b"app:v1:key:%012d" % i
        f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n" % (len(key), key, value))
PY

start_redis
cat >"$TMP/tiercache.yaml" <<YAML
l1: {max_entries: 2000000, max_bytes: 8GiB, ttl_factor: 1.0}
strategies: {default_timeout: 1h}
namespaces:
  - {name: app}
tiers:
  - {type: redis, url: "redis://127.0.0.1:$REDIS_PORT", pool_size: 2}
YAML
start_tiercached "$TMP/tiercache.yaml"
log "loading 1,000,000 entries through tiercached into L1 and Redis"
redis-cli -p "$RESP_PORT" --pipe <"$TMP/keys.resp" >"$TMP/pipe.log" 2>&1 ||
  die "loading failed: $(tail -n 3 "$TMP/pipe.log")"

python3 - "$HTTP_PORT" "$REDIS_PORT" "$BUMPS" <<'PY'
import http.client, json, random, statistics, subprocess, sys, time
port, redis_port, bumps = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
def call(method, path, headers={}):
    t0 = time.perf_counter()
    conn.request(method, path, headers=headers)
    r = conn.getresponse(); body = r.read()
    return r.status, body, (time.perf_counter() - t0) * 1000
def l1_entries():
    return json.loads(call("GET", "/v1/status")[1])["tiers"][0]["entries"]
in_redis = int(subprocess.check_output(["redis-cli", "-p", redis_port, "DBSIZE"]))
if l1_entries() < 1_000_000 or in_redis < 1_000_000:
    sys.exit("expected 1,000,000 entries in L1 and Redis, got %d and %d" % (l1_entries(), in_redis))
ns = {"X-Cache-Namespace": "app"}
sample = ["key:%012d" % random.randrange(1_000_000) for _ in range(1000)]
for k in sample[:10]:
    s = call("GET", "/v1/keys/" + k, ns)[0]
    if s != 200: sys.exit("before any bump, %s answered %d" % (k, s))
bump_ms, rtt_ms = [], []
for n in range(bumps):
    rtt_ms.append(call("GET", "/healthz")[2])
    s, body, ms = call("POST", "/v1/namespaces/app/bump")
    if s != 200 or json.loads(body)["version"] != n + 2:
        sys.exit("bump %d answered %d %s" % (n + 1, s, body[:200]))
    bump_ms.append(ms)
    served = sum(1 for k in sample if call("GET", "/v1/keys/" + k, ns)[0] != 404)
    if served: sys.exit("after bump %d, %d of 1,000 old keys were served" % (n + 1, served))
q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))]
print("## Namespace bump with 1,000,000 entries in L1 and Redis (%d bumps)\n" % bumps)
print("| request | median ms | p90 ms | max ms |\n|---|---|---|---|")
for name, v in (("POST /v1/namespaces/app/bump", bump_ms), ("GET /healthz (round trip)", rtt_ms)):
    print("| %s | %.3f | %.3f | %.3f |" % (name, statistics.median(v), q(v, .9), max(v)))
print("\nAfter every bump, 0 of 1,000 sampled old keys were served; L1 still held %d entries "
      "and Redis %d keys (left to age out)." % (l1_entries(), in_redis))
PY
