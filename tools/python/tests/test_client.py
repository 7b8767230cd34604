"""The client against a real tiercached: every call, its errors and its encodings."""

import json
import pickle
import threading

import pytest

from tiercache import (Client, InvalidRequest, NotFound, SerializationError, Serializer,
                       TiercacheUnavailable)


def test_values_come_back_with_their_type(client):
    values = {"b": b"\x00\xffraw", "s": "h\u00e9llo", "i": 42, "neg": -7, "f": 1.5,
              "d": {"a": [1, 2]}, "l": [1, "x", None], "t": True, "n": None}
    for key, value in values.items():
        client.set(key, value)
    for key, value in values.items():
        assert client.get(key) == value and type(client.get(key)) is type(value), key
    assert client.get_entry("s").content_type == "text/plain; charset=utf-8"
    assert client.get_entry("i").content_type == "application/json"
    assert client.get("absent", "fallback") == "fallback"


def test_get_entry_tells_the_tier_and_the_seconds_left(client):
    client.set("user:1", "Ada", ttl=90)
    entry = client.get_entry("user:1")
    assert (entry.value, entry.tier, entry.ttl) == ("Ada", "L1", 90)
    assert client.get_entry("user:2") is None


def test_keys_are_binary_safe_and_percent_encoded(client):
    for key in ["a/b c", "ключ", "100%", "?&=#", b"\x00\x01bin"]:
        client.set(key, "v")
        assert client.get(key) == "v", key
        assert client.exists(key)
    with pytest.raises(ValueError):
        client.set("", "v")


def test_pickle_is_refused_unless_turned_on(client, daemon):
    with pytest.raises(SerializationError):
        client.set("obj", {1, 2, 3})
    assert client.get("obj") is None  # nothing stored
    with Client(daemon.url, pickle=True) as trusting:
        trusting.set("obj", {1, 2, 3})
        assert trusting.get("obj") == {1, 2, 3}
        assert trusting.get_entry("obj").content_type == "application/x-python-pickle"
    with pytest.raises(SerializationError):
        client.get("obj")


def test_a_value_stored_without_a_type_reads_as_bytes(client, daemon):
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(
        daemon.url + "/v1/keys/plain", data=b"digits 1", method="PUT",
        headers={"Content-Type": ""}))
    assert client.get("plain") == b"digits 1"


def test_add_stores_only_an_absent_key(client):
    assert client.add("k", "first", ttl=60)
    assert not client.add("k", "second")
    assert client.get("k") == "first"


def test_delete_and_touch_answer_whether_the_key_was_there(client):
    client.set("k", "v", ttl=5)
    assert client.touch("k", 500)
    assert client.get_entry("k").ttl == 500
    assert client.delete("k")
    assert not client.delete("k")
    assert not client.touch("k", 5)


def test_incr_counts_on_the_server(client):
    assert client.incr("hits") == 1
    assert client.incr("hits", 10) == 11
    assert client.incr("hits", -12) == -1
    assert client.get("hits") == b"-1"  # created by incr: no content type
    client.set("typed", 5)
    assert client.incr("typed") == 6 and client.get("typed") == 6
    client.set("name", "Ada")
    with pytest.raises(InvalidRequest) as raised:
        client.incr("name")
    assert raised.value.code == "invalid_argument" and raised.value.status == 400


def test_incr_from_many_threads_loses_no_increment(client, daemon):
    def work():
        with Client(daemon.url) as own:
            for _ in range(200):
                own.incr("counter")
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.get("counter") == b"800"


def test_many_calls_keep_order_and_report_misses(client):
    values = {f"k{i}": i for i in range(300)}  # more than one pipelined batch
    client.set_many(values, ttl=60, tags=["batch"])
    keys = [f"k{i}" for i in range(0, 400, 7)]
    assert client.get_many(keys) == {k: values[k] for k in keys if k in values}
    many = [f"k{i}" for i in range(2500)]  # more than one POST /v1/mget
    assert client.get_many(many) == values
    client.set(b"\xff\xfe", b"binary key")  # not UTF-8: read by GET
    assert client.get_many([b"\xff\xfe", "k1", "absent"]) == {b"\xff\xfe": b"binary key",
                                                              "k1": 1}
    assert client.delete_many(["k1", "k2", "nope"]) == 2
    assert client.invalidate(tags=["batch"])["invalidated"] == 298


def test_get_many_of_values_too_large_for_one_answer_reads_them_in_parts(client):
    big = {f"big{i}": bytes([i]) * (3 << 20) for i in range(4)}  # 12 MiB: over 9 MiB
    client.set_many(big)
    assert client.get_many(list(big) + ["absent"]) == big


def test_a_value_over_the_servers_limit_is_refused_before_it_is_sent(client):
    with pytest.raises(InvalidRequest) as raised:
        client.set("huge", b"x" * (9 << 20))
    assert raised.value.status == 413 and "limits.max_value_bytes" in str(raised.value)
    assert client.get("huge") is None
    assert client.get("anything") is None  # the client is not left failing fast


def test_invalidate_by_tag_pattern_model_and_smart(client):
    client.set("user:7", "u", tags=["user:7"])
    client.set("user:7:profile", "p")
    client.set("user:8:profile", "p8", tags=["user:8"])
    client.set("other", "o", tags=["misc"])
    result = client.invalidate(model="auth.User", instance_id=7, event="save")
    assert result["models"][0] == "auth.User"
    assert client.get("user:7") is None and client.get("user:7:profile") is None
    assert client.get("user:8:profile") == "p8"
    assert client.invalidate(pattern="^user:8:")["invalidated"] == 1
    result = client.invalidate_smart({"tags": ["misc"], "keys": ["nothing"]})
    assert result["invalidated"] == 1 and client.get("other") is None
    with pytest.raises(ValueError):
        client.invalidate_smart({"color": "red"})


def test_server_errors_keep_the_code_and_change_nothing(client):
    client.set("k", "v")
    with pytest.raises(InvalidRequest) as raised:
        client.invalidate(pattern="(unclosed")
    assert raised.value.status == 400
    with pytest.raises(NotFound) as raised:
        client.invalidate(model="no.Such", instance_id=1)
    assert raised.value.code == "unknown_model"
    with pytest.raises(InvalidRequest) as raised:
        client.set("x" * 2000, "v")
    assert raised.value.status == 413
    with pytest.raises(InvalidRequest):
        client.set("k", "w", ttl=-1)
    assert client.get("k") == "v"


def test_scheduled_invalidation_can_be_listed_and_cancelled(client):
    client.set("temp", "t", tags=["temporary_data"])
    job_id = client.schedule_invalidation(300, tags=["temporary_data"])
    assert any(j["id"] == job_id for j in client.list_jobs())
    assert client.cancel_job(job_id)
    assert not client.cancel_job(job_id)
    assert client.get("temp") == "t"


def test_warm_with_entries_stores_all_or_nothing(client):
    assert client.warm(entries=[{"key": "w1", "value": {"a": 1}, "ttl": 60, "tags": ["w"]},
                                {"key": "w2", "value": "two"}]) == {"loaded": 2}
    assert client.get("w1") == {"a": 1} and client.get("w2") == "two"
    with pytest.raises(InvalidRequest):
        client.warm(entries=[{"key": "w3", "value": "ok"}, {"key": "", "value": "bad"}])
    assert client.get("w3") is None
    with pytest.raises(NotFound):
        client.warm(source="no_such_source")


def test_status_and_clear(client):
    client.set("a", 1)
    status = client.status()
    assert status["version"] and status["tiers"][0]["name"] == "L1"
    assert client.clear()["removed"] >= 1
    assert client.get("a") is None
    assert client.max_ttl() == 365 * 86400


def test_adaptive_entries_keep_their_own_bounds(client):
    client.set("hot", "v", ttl=30, strategy="adaptive", min_ttl=5, max_ttl=40)
    assert client.get_entry("hot").ttl == 5  # a first read: the entry's floor
    for _ in range(100):
        client.get("hot")
    assert client.get_entry("hot").ttl == 40  # read hot: its ceiling, not the server's
    with pytest.raises(InvalidRequest):
        client.set("k", "v", min_ttl=5)  # bounds without the adaptive strategy


def test_a_connection_the_server_closed_is_replaced(client, daemon):
    client.set("k", "v")
    # Close every pooled socket under the client, as an idle timeout would.
    for c in client.transport._idle:
        c.sock.shutdown(2)
    assert client.get("k") == "v"
    assert client.incr("n") == 1


def test_an_unreachable_server_raises_unavailable_fast():
    from daemon import free_ports
    port = free_ports(1)[0]
    c = Client(f"http://127.0.0.1:{port}", retries=1, fail_fast=30)
    with pytest.raises(TiercacheUnavailable):
        c.get("k")
    with pytest.raises(TiercacheUnavailable) as raised:
        c.set("k", "v")  # within fail_fast: not even tried
    assert "moments ago" in str(raised.value)


def test_serializer_without_pickle_refuses_unknown_types():
    s = Serializer()
    assert s.dumps((1, 2)) == (b"[1,2]", "application/json")
    with pytest.raises(SerializationError):
        s.dumps(object())
    with pytest.raises(SerializationError):
        s.loads(pickle.dumps(1), "application/x-python-pickle")
    assert Serializer(exact_types=True).loads(*Serializer(exact_types=True).dumps((1, 2))) == (1, 2)
    assert json.loads(s.dumps({"x": 1.5})[0]) == {"x": 1.5}
