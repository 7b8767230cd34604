#!/usr/bin/env bash
# invalidation_speed.sh [ROUNDS=3]
#
# Time tiercached takes to answer POST /v1/invalidate over L1 alone:
#   tag        one tag carried by 100,000 entries (beside 1,000,000 untagged ones);
#   prefix     the pattern ^key:0000001 over 1,000,000 keys (100,000 match);
#   suffix     the pattern 99$ over the 900,000 keys left (9,000 match): no prefix to narrow by;
#   all        the pattern ^key: over the 891,000 keys left (every one matches).
# Keys are "key:" and 12 digits, values 100 bytes, written over the Redis protocol
# (redis-cli --pipe; the tagged ones with SET ... TAGS t). Each round loads the entries
# again; the table gives the median time of ROUNDS, measured by the client around the
# HTTP request (so it includes the request's own round trip, about 0.2 ms here).
#
# Builds nothing. TIERCACHED names the daemon (default: build/server/tiercached).
set -euo pipefail

[ $# -le 1 ] || { echo "usage: $0 [ROUNDS=3]" >&2; exit 2; }
ROUNDS=${1:-3}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [ROUNDS=3]" >&2; exit 2; }
NAME=invalidation-speed
source "$(dirname "$0")/daemon.sh"
for cmd in redis-cli curl python3; do
  command -v "$cmd" >/dev/null 2>&1 || die "$cmd is missing (tools/install-deps.sh installs it)"
done

python3 - "$TMP" <<'PY'
import sys
tmp = sys.argv[1]
value = b"v" * 100
def set_cmd(key, tags=()):
    args = [b"SET", key, value] + ([b"TAGS"] + list(tags) if tags else [])
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
with open(tmp + "/keys.resp", "wb") as f:
    for i in range(1_000_000):
        f.write(set_cmd(b"key:%012d" % i))
with open(tmp + "/tagged.resp", "wb") as f:
    for i in range(100_000):
        f.write(set_cmd(b"tagged:%06d" % i, [b"t"]))
PY

cat >"$TMP/tiercache.yaml" <<EOF
l1:
  max_entries: 4000000
  max_bytes: 16GiB
strategies:
  default_timeout: 1h
EOF
start_tiercached "$TMP/tiercache.yaml"

load() {  # FILE...
  for f in "$@"; do
    redis-cli -p "$RESP_PORT" --pipe <"$TMP/$f" >"$TMP/pipe.log" 2>&1 ||
      die "loading $f failed: $(tail -n 3 "$TMP/pipe.log")"
  done
}

# invalidate CASE BODY EXPECTED: one timed request, a row to results.tsv
invalidate() {
  python3 - "$HTTP_PORT" "$1" "$2" "$3" >>"$TMP/results.tsv" <<'PY'
import http.client, json, sys, time
port, case, body, expected = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
conn = http.client.HTTPConnection("127.0.0.1", port)
conn.request("GET", "/healthz"); conn.getresponse().read()  # the connection is open first
t0 = time.perf_counter()
conn.request("POST", "/v1/invalidate", body, {"Content-Type": "application/json"})
resp = conn.getresponse(); data = resp.read()
ms = (time.perf_counter() - t0) * 1000
removed = json.loads(data).get("invalidated") if resp.status == 200 else None
if removed != expected:
    sys.exit("%s: expected %d removed, got %s (HTTP %d %s)" % (case, expected, removed, resp.status, data[:200]))
print("%s\t%.2f" % (case, ms))
PY
}

: >"$TMP/results.tsv"
for ((r = 1; r <= ROUNDS; r++)); do
  log "round $r/$ROUNDS"
  load keys.resp tagged.resp
  invalidate tag '{"tags": ["t"]}' 100000
  invalidate prefix '{"pattern": "^key:0000001"}' 100000
  invalidate suffix '{"pattern": "99$"}' 9000
  invalidate all '{"pattern": "^key:"}' 891000
done

python3 - "$TMP/results.tsv" "$ROUNDS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    case, ms = line.split()
    rows.setdefault(case, []).append(float(ms))
desc = {"tag": "one tag on 100,000 entries", "prefix": "^key:0000001 over 1,000,000 keys (100,000 match)",
        "suffix": "99$ over 900,000 keys (9,000 match)", "all": "^key: over 891,000 keys (all match)"}
print("## Invalidation at the HTTP API, L1 only (median of %s rounds)\n" % sys.argv[2])
print("| case | median ms | all rounds ms |\n|---|---|---|")
for case in ("tag", "prefix", "suffix", "all"):
    v = rows.get(case, [])
    print("| %s | %.1f | %s |" % (desc[case], statistics.median(v), ", ".join("%.1f" % x for x in v)))
PY
