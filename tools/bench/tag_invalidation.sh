#!/usr/bin/env bash
# tag_invalidation.sh BUILD_DIR [KEYS=100000] [ROUNDS=3]
#
# Time to invalidate one tag shared by KEYS entries:
#   tiercached  POST /v1/invalidate {"tags": [...]} over L1 + Redis (L2) + PostgreSQL (L3),
#               the entries written through tiercached with that tag;
#   by hand     the same removal done directly in Redis the usual way: a set per tag,
#               SMEMBERS, then UNLINK of every member in one command (KEYS plain string
#               keys written with SET and SADD beforehand).
# Each round writes the entries again; medians of ROUNDS. Starts throwaway servers on free
# loopback ports (tools/bench/backends.sh); run as root.
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 3 ] || { echo "usage: $0 BUILD_DIR [KEYS=100000] [ROUNDS=3]" >&2; exit 2; }
BUILD_DIR=$(cd "$1" && pwd)
KEYS=${2:-100000}
ROUNDS=${3:-3}
log() { echo "[tag-invalidation] $*" >&2; }
source "$(dirname "$0")/backends.sh"

start_redis
start_pg
cat >"$TMP/tiercache.yaml" <<EOF
server: {io_threads: 1}
coherence: {enabled: false}
tiers:
  - type: redis
    url: redis://127.0.0.1:$REDIS_PORT
  - type: postgres
    dsn: "$PG_DSN"
    write_mode: sync
EOF
start_tiercached "$TMP/tiercache.yaml"

python3 - "$HTTP_PORT" "$REDIS_PORT" "$KEYS" "$ROUNDS" <<'PY'
import http.client, json, socket, statistics, sys, threading, time

http_port, redis_port, keys, rounds = (int(a) for a in sys.argv[1:])

def fill_tiercached(tag):
    def worker(lo, hi):
        c = http.client.HTTPConnection("127.0.0.1", http_port)
        for i in range(lo, hi):
            c.request("PUT", f"/v1/keys/item:{i}?ttl=600&tags={tag}", body=b"v" * 100)
            r = c.getresponse(); r.read()
            assert r.status == 204, r.status
    n = 8
    ts = [threading.Thread(target=worker, args=(keys * t // n, keys * (t + 1) // n)) for t in range(n)]
    for t in ts: t.start()
    for t in ts: t.join()

def invalidate_tiercached(tag):
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=600)
    body = json.dumps({"tags": [tag]})
    t0 = time.perf_counter()
    c.request("POST", "/v1/invalidate", body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse(); data = json.loads(r.read())
    return time.perf_counter() - t0, data

class Redis:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", redis_port))
        self.f = self.s.makefile("rb")
    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
    def reply(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t in (b"+", b"-"): return rest
        if t == b":": return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0: return None
            d = self.f.read(n + 2); return d[:-2]
        if t == b"*": return [self.reply() for _ in range(int(rest))]
        raise RuntimeError(line)
    def call(self, *args):
        self.send(*args); return self.reply()

def fill_redis(r, tag):
    for lo in range(0, keys, 1000):
        members = [f"hand:{i}" for i in range(lo, min(keys, lo + 1000))]
        for m in members: r.send("SET", m, "v" * 100)
        r.send("SADD", tag, *members)
        for _ in range(len(members) + 1): r.reply()

def invalidate_by_hand(r, tag):
    t0 = time.perf_counter()
    members = r.call("SMEMBERS", tag)
    removed = r.call("UNLINK", tag, *members)
    return time.perf_counter() - t0, removed

tc, hand = [], []
r = Redis()
for i in range(rounds):
    tag = f"big{i}"
    fill_tiercached(tag)
    s, data = invalidate_tiercached(tag)
    assert data["tiers"] == {"L1": keys, "L2": keys, "L3": keys}, data
    tc.append(s)
    fill_redis(r, "hand" + tag)
    s, removed = invalidate_by_hand(r, "hand" + tag)
    assert removed == keys + 1, removed
    hand.append(s)
    print(f"round {i + 1}: tiercached (L1+L2+L3) {tc[-1]:.3f} s, Redis by hand {hand[-1]:.3f} s")
m_tc, m_hand = statistics.median(tc), statistics.median(hand)
print(f"median over {rounds} rounds, {keys:,} keys: tiercached L1+L2+L3 {m_tc:.3f} s, "
      f"Redis SMEMBERS+UNLINK {m_hand:.3f} s, ratio {m_tc / m_hand:.1f}x")
PY
