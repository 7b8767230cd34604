#!/usr/bin/python3
"""An application's session with redis-py (Debian's python3-redis 4.3), unchanged, against
tiercached's RESP front end.

    /usr/bin/python3 redis_py_session.py --port PORT [--reference]

Run by tests/e2e/resp_clients_test.cc. Every check is a plain assert: the first one that
fails ends the run with its traceback and a non-zero exit; a run that gets through prints
OK. The expectations are Redis's own, except where tiercached differs on purpose (keys
always expire, one database, tags). `--reference` runs the session against a real
redis-server and skips those differences, to show that the rest is what Redis does.
"""

import argparse
import time

import redis
from redis.exceptions import ExecAbortError, ResponseError, WatchError

WRONGTYPE = "Operation against a key holding the wrong kind of value"
NOT_AN_INTEGER = "value is not an integer or out of range"


def expect_error(call, *fragments):
    """Runs `call`, which must fail with a server error whose text holds every fragment;
    returns the error."""
    try:
        result = call()
    except ResponseError as e:
        for fragment in fragments:
            assert fragment in str(e), f"error {str(e)!r} lacks {fragment!r}"
        return e
    raise AssertionError(f"expected an error holding {fragments!r}, got {result!r}")


def assert_between(value, low, high, what):
    assert value is not None and low <= value <= high, f"{what}: {value!r} not in [{low}, {high}]"


def raw_command(conn, *args):
    """One command on a bare redis.Connection: for the transaction states (MULTI, QUEUED,
    EXECABORT) that redis-py's pipeline hides. A server error is raised."""
    conn.send_command(*args)
    return conn.read_response()


class Session:
    def __init__(self, port, reference):
        self.port = port
        self.reference = reference
        # The pooled client every application uses, and a one-connection client for the
        # connection's own state (SELECT, CLIENT SETNAME), which a pool could spread over
        # several connections.
        self.r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
        self.one = redis.Redis(host="127.0.0.1", port=port, decode_responses=True,
                               single_connection_client=True)
        self.binary = redis.Redis(host="127.0.0.1", port=port)

    def new_connection(self):
        conn = redis.Connection(host="127.0.0.1", port=self.port, decode_responses=True)
        conn.connect()
        return conn

    def check_default_ttl(self, key):
        """A key stored without a lifetime: Redis keeps it forever (-1); tiercached gives it
        the server's default timeout."""
        ttl = self.r.ttl(key)
        if self.reference:
            assert ttl == -1, f"TTL {key}: {ttl!r}"
        else:
            assert ttl > 0, f"TTL of {key}, stored without EX, should be the default timeout: {ttl!r}"

    # ------------------------------------------------------------------ checks

    def ping_echo_time(self):
        r = self.r
        assert r.ping() is True
        assert r.echo("hello") == "hello"
        seconds, micros = r.time()
        assert abs(seconds - time.time()) < 5, f"TIME {seconds} is far from the local clock"
        assert 0 <= micros < 1_000_000

    def set_get(self):
        r = self.r
        assert r.set("s:plain", "v1") is True
        assert r.get("s:plain") == "v1"
        assert r.get("s:missing") is None
        self.check_default_ttl("s:plain")
        assert r.set("s:plain", "v2") is True, "SET replaces"
        assert r.get("s:plain") == "v2"
        assert r.set("s:empty", "") is True
        assert r.get("s:empty") == ""
        assert r.exists("s:empty") == 1, "an empty value is still a key"
        # Binary-safe: every byte value, CR LF and NUL inside the bulk string.
        blob = bytes(range(256)) * 4 + b"\r\n\x00$-1\r\n*1\r\n"
        assert self.binary.set(b"s:bin\x00\xff", blob) is True
        assert self.binary.get(b"s:bin\x00\xff") == blob
        # A value of 1 MiB, read by the server over many socket reads.
        big = "x" * (1 << 20)
        assert r.set("s:big", big) is True
        assert r.get("s:big") == big
        assert r.strlen("s:big") == 1 << 20

    def set_options(self):
        r = self.r
        assert r.set("o:ex", "v", ex=100) is True
        assert_between(r.ttl("o:ex"), 95, 100, "TTL after SET EX 100")
        assert_between(r.pttl("o:ex"), 95_000, 100_000, "PTTL after SET EX 100")

        assert r.set("o:px", "v", px=300) is True
        assert_between(r.pttl("o:px"), 1, 300, "PTTL after SET PX 300")
        time.sleep(0.5)
        assert r.get("o:px") is None, "a key set with PX 300 is gone 500 ms later"
        assert r.exists("o:px") == 0
        assert r.ttl("o:px") == -2

        assert r.set("o:exat", "v", exat=int(time.time()) + 100) is True
        assert_between(r.ttl("o:exat"), 95, 100, "TTL after SET EXAT now+100")
        assert r.set("o:pxat", "v", pxat=int(time.time() * 1000) + 100_000) is True
        assert_between(r.pttl("o:pxat"), 95_000, 100_000, "PTTL after SET PXAT now+100s")

        assert r.set("o:nx", "first", nx=True) is True
        assert r.set("o:nx", "second", nx=True) is None, "SET NX on an existing key is nil"
        assert r.get("o:nx") == "first"

        assert r.set("o:xx", "v", xx=True) is None, "SET XX on an absent key is nil"
        assert r.exists("o:xx") == 0
        assert r.set("o:xx", "a") is True
        assert r.set("o:xx", "b", xx=True) is True
        assert r.get("o:xx") == "b"

        assert r.set("o:get", "new", get=True) is None, "SET GET of an absent key answers nil"
        assert r.get("o:get") == "new"
        assert r.set("o:get", "newer", get=True) == "new", "SET GET answers the old value"
        assert r.get("o:get") == "newer"

        assert r.set("o:keep", "a", ex=100) is True
        assert r.set("o:keep", "b", keepttl=True) is True
        assert r.get("o:keep") == "b"
        assert_between(r.ttl("o:keep"), 95, 100, "TTL after SET KEEPTTL")

        expect_error(lambda: r.execute_command("SET", "o:bad", "v", "NX", "XX"), "syntax error")
        expect_error(lambda: r.execute_command("SET", "o:bad", "v", "EX", "0"))
        expect_error(lambda: r.execute_command("SET", "o:bad", "v", "EX", "soon"))
        assert r.exists("o:bad") == 0, "a rejected SET stores nothing"

        assert r.setex("o:setex", 100, "v") is True
        assert_between(r.ttl("o:setex"), 95, 100, "TTL after SETEX 100")
        assert r.psetex("o:psetex", 100_000, "v") is True
        assert_between(r.pttl("o:psetex"), 95_000, 100_000, "PTTL after PSETEX 100000")
        assert r.setnx("o:setnx", "a") is True
        assert r.setnx("o:setnx", "b") is False
        assert r.get("o:setnx") == "a"
        assert r.getset("o:setnx", "c") == "a"
        assert r.getdel("o:setnx") == "c"
        assert r.exists("o:setnx") == 0
        assert r.getdel("o:setnx") is None
        assert r.set("o:getex", "v") is True
        assert r.getex("o:getex", ex=50) == "v"
        assert_between(r.ttl("o:getex"), 45, 50, "TTL after GETEX EX 50")
        assert r.getex("o:missing", ex=50) is None

    def expiry(self):
        r = self.r
        assert r.set("e:k", "v", ex=1000) is True
        assert r.expire("e:k", 7) is True
        assert_between(r.ttl("e:k"), 1, 7, "TTL after EXPIRE 7")
        assert r.pexpire("e:k", 6000) is True
        assert_between(r.pttl("e:k"), 1, 6000, "PTTL after PEXPIRE 6000")
        assert r.expireat("e:k", int(time.time()) + 100) is True
        assert_between(r.ttl("e:k"), 95, 100, "TTL after EXPIREAT now+100")
        at_ms = int(time.time() * 1000) + 50_000
        assert r.pexpireat("e:k", at_ms) is True
        assert_between(r.pttl("e:k"), 45_000, 50_000, "PTTL after PEXPIREAT now+50s")
        # tiercache keeps the time left, not the instant: read back within a millisecond.
        assert abs(r.execute_command("PEXPIRETIME", "e:k") - at_ms) <= 1
        assert r.execute_command("EXPIRETIME", "e:k") in (at_ms // 1000, at_ms // 1000 + 1)
        assert r.get("e:k") == "v", "changing the lifetime keeps the value"

        assert r.expire("e:missing", 10) is False
        assert r.ttl("e:missing") == -2
        assert r.pttl("e:missing") == -2
        assert r.execute_command("EXPIRETIME", "e:missing") == -2

        assert r.persist("e:k") is True
        assert r.get("e:k") == "v"
        ttl = r.ttl("e:k")
        if self.reference:
            assert ttl == -1, f"TTL after PERSIST: {ttl}"
        else:
            # Nothing lives forever in tiercached: PERSIST drops the 50 s lifetime for no
            # lifetime (-1) or the server's default timeout (300 s in the embedded default).
            assert ttl == -1 or ttl > 50, f"TTL after PERSIST: {ttl}"

        # A lifetime in the past removes the key.
        assert r.set("e:gone", "v") is True
        assert r.pexpire("e:gone", 0) is True
        assert r.exists("e:gone") == 0

    def counters(self):
        r = self.r
        assert r.set("c:n", "10") is True
        assert r.incr("c:n") == 11
        assert r.incrby("c:n", 5) == 16
        assert r.decr("c:n") == 15
        assert r.decrby("c:n", 20) == -5
        assert r.get("c:n") == "-5", "counters are stored as decimal strings"
        assert r.incr("c:new") == 1, "INCR of an absent key starts from 0"
        assert r.decr("c:new2") == -1

        # INCR keeps the key's lifetime (a rate limiter's INCR + EXPIRE relies on it).
        assert r.set("c:ttl", "1", ex=100) is True
        assert r.incr("c:ttl") == 2
        assert_between(r.ttl("c:ttl"), 95, 100, "TTL after INCR of a key set with EX 100")

        assert r.incrbyfloat("c:f", 1.5) == 1.5
        assert r.incrbyfloat("c:f", 0.25) == 1.75
        assert r.get("c:f") == "1.75"

        assert r.set("c:text", "abc") is True
        expect_error(lambda: r.incr("c:text"), NOT_AN_INTEGER)
        expect_error(lambda: r.incrby("c:n", "x"), NOT_AN_INTEGER)
        expect_error(lambda: r.incrbyfloat("c:text", 1), "value is not a valid float")
        assert r.get("c:text") == "abc", "a failed INCR leaves the value"
        assert r.set("c:max", str(2**63 - 1)) is True
        expect_error(lambda: r.incr("c:max"), "increment or decrement would overflow")
        assert r.get("c:max") == str(2**63 - 1)

    def strings(self):
        r = self.r
        assert r.append("str:a", "Hello") == 5, "APPEND creates an absent key"
        assert r.append("str:a", " World") == 11
        assert r.get("str:a") == "Hello World"
        assert r.strlen("str:a") == 11
        assert r.strlen("str:missing") == 0
        assert r.getrange("str:a", 0, 4) == "Hello"
        assert r.getrange("str:a", -5, -1) == "World"
        assert r.getrange("str:a", 100, 200) == ""
        assert r.getrange("str:missing", 0, 10) == ""
        assert r.setrange("str:a", 6, "Redis") == 11
        assert r.get("str:a") == "Hello Redis"
        assert r.setrange("str:pad", 3, "x") == 4, "SETRANGE past the end pads with NULs"
        assert r.get("str:pad") == "\x00\x00\x00x"

    def multi_key(self):
        r = self.r
        assert r.mset({"m:1": "a", "m:2": "b"}) is True
        assert r.mget("m:1", "m:missing", "m:2") == ["a", None, "b"]
        assert r.msetnx({"m:2": "z", "m:3": "c"}) is False, "MSETNX with one existing key"
        assert r.exists("m:3") == 0, "a refused MSETNX sets none of its keys"
        assert r.get("m:2") == "b"
        assert r.msetnx({"m:3": "c", "m:4": "d"}) is True
        assert r.mget("m:3", "m:4") == ["c", "d"]
        assert r.exists("m:1", "m:2", "m:missing") == 2
        assert r.exists("m:1", "m:1") == 2, "EXISTS counts a key named twice twice"
        assert r.delete("m:1", "m:missing") == 1
        assert r.delete("m:1") == 0
        assert r.unlink("m:2", "m:3") == 2
        assert r.exists("m:1", "m:2", "m:3", "m:4") == 1
        assert r.touch("m:4", "m:missing") == 1

    def keyspace(self):
        r = self.r
        assert r.flushdb() is True
        assert r.dbsize() == 0
        assert r.randomkey() is None
        every = {"user:1", "user:2", "user:3", "other"}
        assert r.mset({k: "v" for k in every}) is True
        assert r.dbsize() == 4
        assert sorted(r.keys("user:*")) == ["user:1", "user:2", "user:3"]
        assert sorted(r.keys("*")) == sorted(every)
        assert sorted(r.keys("user:[12]")) == ["user:1", "user:2"]
        assert r.keys("user:?0") == []
        assert r.keys("nomatch*") == []
        assert set(r.scan_iter(match="user:*", count=2)) == {"user:1", "user:2", "user:3"}
        assert set(r.scan_iter()) == every
        assert r.randomkey() in every
        assert r.type("user:1") == "string"
        assert r.type("missing") == "none"

        assert r.rename("user:3", "user:33") is True
        assert r.get("user:33") == "v"
        assert r.exists("user:3") == 0
        expect_error(lambda: r.rename("missing", "elsewhere"), "no such key")
        assert r.renamenx("user:33", "user:1") is False, "RENAMENX onto an existing key"
        assert r.exists("user:33") == 1
        assert r.renamenx("user:33", "user:4") is True
        assert r.exists("user:33") == 0 and r.get("user:4") == "v"
        assert r.set("ren:ttl", "v", ex=100) is True
        assert r.rename("ren:ttl", "ren:ttl2") is True
        assert_between(r.ttl("ren:ttl2"), 95, 100, "RENAME keeps the lifetime")

    def pipelines(self):
        r = self.r
        p = r.pipeline(transaction=True)
        p.set("tx:a", "1").incr("tx:a").get("tx:a")
        assert p.execute() == [True, 2, "2"]

        p = r.pipeline(transaction=False)
        p.set("tx:b", "1").incr("tx:b").get("tx:missing").mget("tx:a", "tx:b")
        assert p.execute() == [True, 2, None, ["2", "2"]]

        # A thousand commands in one write, answered in order.
        p = r.pipeline(transaction=False)
        for i in range(1000):
            p.set(f"pipe:{i}", str(i))
        for i in range(1000):
            p.get(f"pipe:{i}")
        results = p.execute()
        assert results[:1000] == [True] * 1000
        assert results[1000:] == [str(i) for i in range(1000)]

        # Errors in a plain pipeline are per command.
        p = r.pipeline(transaction=False)
        p.set("tx:c", "x").incr("tx:c").get("tx:c")
        res = p.execute(raise_on_error=False)
        assert res[0] is True and res[2] == "x", res
        assert isinstance(res[1], ResponseError) and NOT_AN_INTEGER in str(res[1]), res

        # A command failing inside EXEC does not undo the others (Redis has no rollback).
        p = r.pipeline(transaction=True)
        p.set("tx:d", "x").incr("tx:d").set("tx:e", "y")
        res = p.execute(raise_on_error=False)
        assert res[0] is True and res[2] is True, res
        assert isinstance(res[1], ResponseError), res
        assert r.get("tx:e") == "y"

    def watch(self):
        r = self.r
        other = redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)
        assert r.set("w:k", "start") is True

        with r.pipeline() as p:
            p.watch("w:k")
            assert p.get("w:k") == "start"
            p.multi()
            p.set("w:k", "mine")
            assert p.execute() == [True], "EXEC with an unchanged watched key runs"
        assert r.get("w:k") == "mine"

        with r.pipeline() as p:
            p.watch("w:k")
            other.set("w:k", "theirs")  # another client changes the key before EXEC
            p.multi()
            p.set("w:k", "mine again")
            try:
                p.execute()
                raise AssertionError("EXEC ran although a watched key changed")
            except WatchError:
                pass
        assert r.get("w:k") == "theirs", "the aborted transaction wrote nothing"

        # A watched key that expires or is deleted counts as changed, too.
        with r.pipeline() as p:
            p.watch("w:k")
            other.delete("w:k")
            p.multi()
            p.set("w:k", "mine")
            try:
                p.execute()
                raise AssertionError("EXEC ran although a watched key was deleted")
            except WatchError:
                pass
        assert r.exists("w:k") == 0

        with r.pipeline() as p:
            p.watch("w:k")
            p.unwatch()
            other.set("w:k", "theirs")
            p.multi()
            p.set("w:k", "mine")
            assert p.execute() == [True], "after UNWATCH a change does not abort EXEC"
        assert r.get("w:k") == "mine"
        other.close()

    def transaction_errors(self):
        r = self.r
        # redis-py raises the queued command's error when EXEC answers EXECABORT.
        p = r.pipeline(transaction=True)
        p.execute_command("GET")
        p.set("tx:h", "1")
        try:
            p.execute()
            raise AssertionError("a transaction with a wrong-arity command ran")
        except (ExecAbortError, ResponseError) as e:
            assert "wrong number of arguments" in str(e) or "EXECABORT" in str(e), str(e)
        assert r.exists("tx:h") == 0, "an aborted transaction runs none of its commands"

        # The same on the wire: the error when queued, QUEUED, then EXECABORT.
        conn = self.new_connection()
        assert raw_command(conn, "MULTI") == "OK"
        try:
            raw_command(conn, "GET")
            raise AssertionError("GET without a key was queued")
        except ResponseError as e:
            assert "wrong number of arguments for 'get' command" in str(e), str(e)
        assert raw_command(conn, "SET", "tx:g", "1") == "QUEUED"
        try:
            raw_command(conn, "EXEC")
            raise AssertionError("EXEC ran a transaction holding a rejected command")
        except ExecAbortError as e:
            assert "previous errors" in str(e), str(e)
        assert r.exists("tx:g") == 0

        assert raw_command(conn, "MULTI") == "OK"
        assert raw_command(conn, "SET", "tx:f", "1") == "QUEUED"
        assert raw_command(conn, "DISCARD") == "OK"
        assert r.exists("tx:f") == 0, "DISCARD drops the queued commands"
        try:
            raw_command(conn, "EXEC")
            raise AssertionError("EXEC without MULTI succeeded")
        except ResponseError as e:
            assert "EXEC without MULTI" in str(e), str(e)
        assert raw_command(conn, "MULTI") == "OK"
        try:
            raw_command(conn, "MULTI")
            raise AssertionError("a nested MULTI succeeded")
        except ResponseError as e:
            assert "MULTI calls can not be nested" in str(e), str(e)
        assert raw_command(conn, "DISCARD") == "OK"
        assert raw_command(conn, "PING") == "PONG", "the connection works after all that"
        conn.disconnect()

    def errors(self):
        r = self.r
        expect_error(lambda: r.execute_command("GET"),
                     "wrong number of arguments for 'get' command")
        expect_error(lambda: r.execute_command("SET", "only-a-key"),
                     "wrong number of arguments for 'set' command")
        expect_error(lambda: r.execute_command("NOSUCHCOMMAND", "x"), "unknown command")

        assert r.set("wt", "v") is True
        expect_error(lambda: r.lpush("wt", "x"), WRONGTYPE)
        expect_error(lambda: r.hset("wt", "field", "x"), WRONGTYPE)
        expect_error(lambda: r.sadd("wt", "x"), WRONGTYPE)
        assert r.get("wt") == "v", "a WRONGTYPE command leaves the value"
        if not self.reference:
            expect_error(lambda: r.eval("return 1", 0))
        assert r.ping() is True, "errors leave the connection usable"

    def connection_state(self):
        one = self.one
        assert one.select(0) is True
        if not self.reference:
            expect_error(lambda: one.select(1))
        assert one.ping() is True
        assert one.client_setname("redis-py-session") is True
        assert one.client_getname() == "redis-py-session"
        assert isinstance(one.client_id(), int)

    def server_info(self):
        r = self.r
        assert r.mset({"info:1": "a", "info:2": "b"}) is True
        info = r.info()
        assert "redis_version" in info, sorted(info)
        assert "redis_version" in r.info("server")
        assert "connected_clients" in r.info("clients")
        assert "used_memory" in r.info("memory")
        keyspace = r.info("keyspace")
        assert keyspace.get("db0", {}).get("keys") == r.dbsize(), keyspace
        # The text itself is in sections under "# Name" headers.
        conn = self.new_connection()
        text = raw_command(conn, "INFO")
        conn.disconnect()
        assert "# Server" in text and "# Keyspace" in text, text[:300]
        config = r.config_get("save")
        assert isinstance(config, dict) and "save" in config, config

    def tags(self):
        r = self.r
        assert r.execute_command("SET", "t1", "v", "EX", "60", "TAGS", "a", "b") is True
        assert r.execute_command("SET", "t2", "v", "EX", "60", "TAGS", "b") is True
        assert r.set("t3", "v") is True
        assert_between(r.ttl("t1"), 55, 60, "TTL of SET EX 60 TAGS a b")
        assert r.execute_command("TC.INVALIDATE", "TAGS", "a") == 1
        assert r.exists("t1") == 0, "TC.INVALIDATE TAGS a removes the entry tagged a"
        assert r.exists("t2") == 1
        assert r.execute_command("TC.INVALIDATE", "TAGS", "a", "b") == 1
        assert r.exists("t2") == 0
        assert r.exists("t3") == 1, "an untagged key stays"
        assert r.execute_command("TC.INVALIDATE", "KEYS", "t3", "t-missing") == 1
        assert r.exists("t3") == 0
        assert r.mset({"pu:1": "a", "pu:2": "b", "pi:1": "c"}) is True
        # PATTERN is a regular expression, as in the HTTP API; MATCH a Redis glob.
        assert r.execute_command("TC.INVALIDATE", "PATTERN", "^pu:[0-9]+$") == 2
        assert r.exists("pu:1", "pu:2", "pi:1") == 1
        assert r.mset({"gu:1": "a", "gu:2": "b", "gux": "c"}) is True
        assert r.execute_command("TC.INVALIDATE", "MATCH", "gu:*") == 2
        assert r.exists("gu:1", "gu:2", "gux") == 1

    def flush(self):
        r = self.r
        assert r.set("f:1", "v") is True
        assert r.flushall() is True
        assert r.dbsize() == 0
        assert r.keys("*") == []

    def run(self):
        assert self.r.flushdb() is True
        assert self.r.dbsize() == 0
        steps = [self.ping_echo_time, self.set_get, self.set_options, self.expiry,
                 self.counters, self.strings, self.multi_key, self.keyspace, self.pipelines,
                 self.watch, self.transaction_errors, self.errors, self.connection_state,
                 self.server_info]
        if not self.reference:
            steps.append(self.tags)
        steps.append(self.flush)
        for step in steps:
            step()
            print(f"{step.__name__}: ok", flush=True)
        for client in (self.r, self.one, self.binary):
            client.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reference", action="store_true",
                        help="the server is a real redis-server: skip tiercached's own behaviour")
    args = parser.parse_args()
    Session(args.port, args.reference).run()
    print("OK")


if __name__ == "__main__":
    main()
