#!/usr/bin/python3
"""A Django application's cache session through django-redis (Debian's python3-django-redis
5.2 on Django 3.2), unchanged, against tiercached's RESP front end.

    /usr/bin/python3 django_redis_session.py --port PORT [--reference]

Run by tests/e2e/resp_clients_test.cc. Every check is a plain assert: the first one that
fails ends the run with its traceback and a non-zero exit; a run that gets through prints
OK. The backend is used through django.core.cache only, as a Django project would; the
Redis commands it sends are those of django_redis/client/default.py (SET PX/NX, MGET, a
MULTI/EXEC pipeline for set_many, SCAN, KEYS, EXISTS, TTL, PEXPIRE, PERSIST, FLUSHDB, and
EVAL for incr, which falls back to GET + SET when EVAL answers an error).

`--reference` runs the session against a real redis-server and skips what tiercached does
differently on purpose (nothing lives forever: a key stored without a timeout gets the
server's default timeout).
"""

import argparse

import django
from django.conf import settings


def assert_between(value, low, high, what):
    assert value is not None and low <= value <= high, f"{what}: {value!r} not in [{low}, {high}]"


class Session:
    def __init__(self, cache, reference):
        self.cache = cache
        self.reference = reference

    def check_forever_ttl(self, key, what):
        """A key stored with timeout=None: Redis keeps it forever (django-redis's ttl() is
        None); tiercached gives it the server's default timeout."""
        ttl = self.cache.ttl(key)
        if self.reference:
            assert ttl is None, f"{what}: ttl {ttl!r}"
        else:
            assert ttl is not None and ttl > 0, f"{what}: ttl {ttl!r}, want the default timeout"

    # ------------------------------------------------------------------ checks

    def values(self):
        cache = self.cache
        samples = {
            "v:str": "hello",
            "v:unicode": "zürich ✓ 東京",
            "v:int": 42,
            "v:negative": -7,
            "v:float": 2.5,
            "v:bool": True,
            "v:bytes": b"\x00\xff\r\n",
            "v:dict": {"id": 5, "name": "Ada", "tags": ["a", "b"], "nested": {"x": None}},
            "v:list": [1, "two", 3.0],
            "v:large": {"blob": "x" * 300_000},
        }
        for key, value in samples.items():
            assert cache.set(key, value) is True, f"set {key}"
        for key, value in samples.items():
            got = cache.get(key)
            assert got == value and type(got) is type(value), f"get {key}: {got!r}"
        assert cache.get("v:missing") is None
        assert cache.get("v:missing", "fallback") == "fallback"
        assert cache.set("ключ:unicode", "значение") is True, "a non-ASCII key"
        assert cache.get("ключ:unicode") == "значение"

    def timeouts(self):
        cache = self.cache
        assert cache.set("t:default", "v") is True
        # Django's default TIMEOUT is 300 s, sent as SET PX 300000.
        assert_between(cache.ttl("t:default"), 295, 300, "ttl of a key set with the default timeout")
        assert cache.set("t:30", "v", timeout=30) is True
        assert_between(cache.ttl("t:30"), 25, 30, "ttl after set(timeout=30)")
        assert_between(cache.pttl("t:30"), 25_000, 30_000, "pttl after set(timeout=30)")
        assert cache.set("t:fraction", "v", timeout=2.5) is True
        assert_between(cache.pttl("t:fraction"), 1, 2500, "pttl after set(timeout=2.5)")
        assert cache.set("t:none", "v", timeout=None) is True
        self.check_forever_ttl("t:none", "set(timeout=None)")
        assert cache.ttl("t:missing") == 0, "django-redis answers 0 for an absent key"

        # timeout=0 means "expire now": django-redis deletes the key.
        assert cache.set("t:zero", "v") is True
        cache.set("t:zero", "v2", timeout=0)
        assert cache.get("t:zero") is None

    def add(self):
        cache = self.cache
        assert cache.add("a:once", "first") is True
        assert cache.add("a:once", "second") is False, "add of an existing key"
        assert cache.get("a:once") == "first"
        assert cache.add("a:timed", "v", timeout=40) is True
        assert_between(cache.ttl("a:timed"), 35, 40, "ttl after add(timeout=40)")

    def many(self):
        cache = self.cache
        data = {"m:1": "one", "m:2": 2, "m:3": {"three": 3}}
        cache.set_many(data, timeout=60)  # one MULTI/EXEC pipeline
        assert cache.get_many(["m:1", "m:2", "m:3", "m:missing"]) == data
        for key in data:
            assert_between(cache.ttl(key), 55, 60, f"ttl of {key} after set_many(timeout=60)")
        assert cache.delete_many(["m:1", "m:2", "m:missing"]) == 2
        assert cache.get_many(["m:1", "m:2", "m:3"]) == {"m:3": {"three": 3}}
        cache.delete_many([])  # no keys: no command at all

    def delete_has_key(self):
        cache = self.cache
        assert cache.set("d:k", "v") is True
        assert cache.has_key("d:k") is True
        assert "d:k" in cache
        assert cache.delete("d:k") is True
        assert cache.delete("d:k") is False, "delete of an absent key"
        assert cache.has_key("d:k") is False
        assert cache.get("d:k") is None

    def counters(self):
        cache = self.cache
        assert cache.set("n:count", 10) is True
        assert cache.incr("n:count") == 11
        assert cache.incr("n:count", 5) == 16
        assert cache.decr("n:count") == 15
        assert cache.decr("n:count", 20) == -5
        assert cache.get("n:count") == -5
        assert cache.set("n:ttl", 1, timeout=100) is True
        assert cache.incr("n:ttl") == 2
        assert_between(cache.ttl("n:ttl"), 90, 100, "incr keeps the timeout")
        # Beyond 64 bits Redis's INCRBY refuses the value; django-redis then reads, adds
        # and writes back.
        assert cache.set("n:big", 2**70) is True
        assert cache.incr("n:big") == 2**70 + 1
        assert cache.get("n:big") == 2**70 + 1
        assert cache.set("n:edge", 2**63 - 1) is True
        assert cache.incr("n:edge") == 2**63
        assert cache.get("n:edge") == 2**63
        assert cache.decr("n:edge", 2) == 2**63 - 2

    def incr_missing(self):
        # Django's contract for every backend: incr and decr of an absent key raise
        # ValueError (applications catch it to start a counter).
        cache = self.cache
        for op in (cache.incr, cache.decr):
            try:
                result = op("n:missing")
            except ValueError:
                pass
            else:
                raise AssertionError(f"{op.__name__} of an absent key answered {result!r}")
        assert cache.get("n:missing") is None, "a failed incr creates nothing"

    def expiry(self):
        cache = self.cache
        assert cache.set("x:k", "v", timeout=1000) is True
        assert cache.touch("x:k", 100) is True
        assert_between(cache.ttl("x:k"), 95, 100, "ttl after touch(100)")
        assert cache.touch("x:missing", 100) is False
        assert cache.expire("x:k", 50) is True
        assert_between(cache.ttl("x:k"), 45, 50, "ttl after expire(50)")
        assert cache.pexpire("x:k", 40_000) is True
        assert_between(cache.pttl("x:k"), 35_000, 40_000, "pttl after pexpire(40000)")
        assert cache.persist("x:k") is True
        assert cache.get("x:k") == "v"
        ttl = cache.ttl("x:k")
        if self.reference:
            assert ttl is None, f"ttl after persist: {ttl!r}"
        else:
            # Nothing lives forever in tiercached: no lifetime, or the default timeout.
            assert ttl is None or ttl > 40, f"ttl after persist: {ttl!r}"
        assert cache.expire("x:k", 30) is True
        assert cache.touch("x:k", None) is True, "touch(timeout=None) is PERSIST"
        assert cache.get("x:k") == "v"
        assert cache.touch("x:k", 0) is True, "touch(timeout=0) expires the key now"
        assert cache.get("x:k") is None

    def patterns(self):
        cache = self.cache
        for i in range(25):  # more than one SCAN page of DJANGO_REDIS_SCAN_ITERSIZE (10)
            assert cache.set(f"prefix:{i}", i) is True
        assert cache.set("prefixless", "v") is True
        assert cache.set("other:1", "v") is True
        want = sorted(f"prefix:{i}" for i in range(25))
        assert sorted(cache.keys("prefix:*")) == want
        assert sorted(cache.iter_keys("prefix:*")) == want
        assert sorted(cache.keys("prefix:1?")) == sorted(f"prefix:{i}" for i in range(10, 20))
        assert cache.keys("nomatch:*") == []
        assert cache.delete_pattern("prefix:*") == 25
        assert cache.keys("prefix:*") == []
        assert cache.get("prefixless") == "v", "delete_pattern('prefix:*') keeps 'prefixless'"
        assert cache.get("other:1") == "v"

    def get_or_set(self):
        cache = self.cache
        assert cache.get_or_set("g:k", "computed") == "computed"
        assert cache.get_or_set("g:k", "other") == "computed", "the stored value wins"
        calls = []

        def compute():
            calls.append(1)
            return {"expensive": True}

        assert cache.get_or_set("g:callable", compute, timeout=60) == {"expensive": True}
        assert cache.get_or_set("g:callable", compute, timeout=60) == {"expensive": True}
        assert len(calls) == 1, "the callable runs on the miss only"
        assert_between(cache.ttl("g:callable"), 55, 60, "ttl after get_or_set(timeout=60)")

    def versions(self):
        cache = self.cache
        assert cache.set("ver:k", "v1", timeout=100) is True
        assert cache.incr_version("ver:k") == 2
        assert cache.get("ver:k") is None, "the version-1 key is gone"
        assert cache.get("ver:k", version=2) == "v1"
        assert_between(cache.ttl("ver:k", version=2), 90, 100, "incr_version keeps the timeout")
        assert cache.set("ver:k", "v-one", version=1) is True
        assert cache.get("ver:k") == "v-one"
        assert cache.get("ver:k", version=2) == "v1", "versions are separate keys"
        try:
            cache.incr_version("ver:missing")
            raise AssertionError("incr_version of an absent key succeeded")
        except ValueError:
            pass

    def clear(self):
        cache = self.cache
        assert cache.set("c:1", "v") is True
        cache.clear()
        assert cache.get("c:1") is None
        assert cache.keys("*") == []

    def run(self):
        self.cache.clear()
        assert self.cache.keys("*") == []
        steps = [self.values, self.timeouts, self.add, self.many, self.delete_has_key,
                 self.counters, self.expiry, self.patterns, self.get_or_set, self.versions,
                 # Last, so that a failure here still shows that everything else works.
                 self.incr_missing, self.clear]
        for step in steps:
            step()
            print(f"{step.__name__}: ok", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reference", action="store_true",
                        help="the server is a real redis-server: skip tiercached's own behaviour")
    args = parser.parse_args()
    settings.configure(
        CACHES={
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{args.port}/0",
                "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
            }
        },
        INSTALLED_APPS=[],
    )
    django.setup()
    from django.core.cache import cache

    Session(cache, args.reference).run()
    cache.close()
    print("OK")


if __name__ == "__main__":
    main()
