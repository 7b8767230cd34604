#!/usr/bin/python3
"""python_client_vs_redis_py.py [ROUNDS=3] [SECONDS=5]

GET round trips per second from one Python thread: the tiercache client against
tiercached (embedded default, L1 only) side by side with redis-py against redis-server,
both on loopback, a 100-byte value, one request in flight. Rounds interleave the two
(redis-py, tiercache, redis-py, ...) so a change in the machine's load falls on both; the
table gives the median over rounds of req/s and of the per-request p50/p99, and the ratio
tiercache / redis-py. Also SET, and get_many of 100 keys (one pipelined batch) against
redis-py's mget.

Builds nothing: TIERCACHED names the daemon (default build/server/tiercached under the
source root). Both servers run in a temporary directory on free ports and are stopped.
redis-py runs as Debian installs it (python3-redis, no hiredis parser).
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "python"))

import redis  # noqa: E402
import tiercache  # noqa: E402

TIERCACHED = Path(os.environ.get("TIERCACHED", ROOT / "build" / "server" / "tiercached"))
VALUE = b"v" * 100


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, redis.ConnectionError):
            pass
        time.sleep(0.05)
    raise SystemExit(f"{what} did not start")


def measure(call, seconds):
    """(requests per second, p50 us, p99 us) of `call` looped for `seconds`."""
    samples = []
    clock = time.perf_counter
    end = clock() + seconds
    while True:
        t0 = clock()
        call()
        t1 = clock()
        samples.append(t1 - t0)
        if t1 >= end:
            break
    samples.sort()
    total = sum(samples)
    return (len(samples) / total, samples[len(samples) // 2] * 1e6,
            samples[int(len(samples) * 0.99)] * 1e6)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    if not TIERCACHED.exists():
        raise SystemExit(f"{TIERCACHED} is missing; build it first")
    tmp = tempfile.mkdtemp(prefix="tiercache-pybench-")
    procs = []
    try:
        rport, hport, gport = free_port(), free_port(), free_port()
        procs.append(subprocess.Popen(
            ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL))
        procs.append(subprocess.Popen(
            [str(TIERCACHED), "--http-listen", f"127.0.0.1:{hport}",
             "--grpc-listen", f"127.0.0.1:{gport}", "--resp-listen", ""],
            stdout=open(os.path.join(tmp, "tiercached.log"), "wb"), stderr=subprocess.STDOUT))
        r = redis.Redis(host="127.0.0.1", port=rport)
        wait_for(r.ping, "redis-server")
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{hport}/readyz").status == 200,
                 "tiercached")
        t = tiercache.Client(f"http://127.0.0.1:{hport}")
        keys = [f"key:{i}" for i in range(100)]
        for k in keys:
            r.set(k, VALUE)
            t.set(k, VALUE)
        cases = [
            ("GET", lambda: r.get("key:1"), lambda: t.get("key:1")),
            ("SET", lambda: r.set("key:2", VALUE), lambda: t.set("key:2", VALUE)),
            ("get_many 100", lambda: r.mget(keys), lambda: t.get_many(keys)),
        ]
        results = {name: {"redis-py": [], "tiercache": []} for name, _, _ in cases}
        for n in range(rounds):
            for name, redis_call, tier_call in cases:
                print(f"[py-bench] round {n + 1}/{rounds}: {name}", file=sys.stderr)
                results[name]["redis-py"].append(measure(redis_call, seconds))
                results[name]["tiercache"].append(measure(tier_call, seconds))
        print(f"## Python client vs redis-py, one thread, medians of {rounds} rounds of "
              f"{seconds:g} s\n")
        print(f"- python {sys.version.split()[0]}, redis-py {redis.__version__}, "
              f"tiercache {tiercache.__version__}; redis-server "
              f"{r.info()['redis_version']}; {os.cpu_count()} CPUs\n")
        print("| call | redis-py req/s | tiercache req/s | ratio | redis-py p50/p99 us "
              "| tiercache p50/p99 us |")
        print("|---|---|---|---|---|---|")
        for name, _, _ in cases:
            med = {who: [statistics.median(x[i] for x in runs) for i in range(3)]
                   for who, runs in results[name].items()}
            rp, tc = med["redis-py"], med["tiercache"]
            print(f"| {name} | {rp[0]:,.0f} | {tc[0]:,.0f} | {tc[0] / rp[0]:.2f} "
                  f"| {rp[1]:.0f} / {rp[2]:.0f} | {tc[1]:.0f} / {tc[2]:.0f} |")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
