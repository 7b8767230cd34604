"""Django's cache backend contract for tiercache.django.TiercacheCache.

Modelled on Django 3.2's tests/cache/tests.py, class BaseCacheTests (the tests Django runs
against every backend), adapted to one shared tiercached: every alias of
djangoproject/settings.py talks to the session's server, so each test starts from an empty
server. Tests of Django's locmem/db/file/memcached-only features (culling, pickling the
backend, closing on request_finished, model instances) are left out; timeouts are checked
with ~1 s lifetimes, and where waiting would be long, by the lifetime the server reports
for the stored key (X-Cache-TTL: whole seconds left, rounded up). The last sections test
the backend's own extras: set(..., tags=...), delete_by_tag() and delete_pattern().
"""

import datetime
import enum
import os
import pickle
import threading
import time
import urllib.error
import urllib.request
import warnings
import zlib
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.core.cache import caches
from django.core.cache.backends.base import CacheKeyWarning, InvalidCacheKey
from django.http import HttpResponse
from django.middleware.cache import FetchFromCacheMiddleware, UpdateCacheMiddleware
from django.test import RequestFactory
from django.utils.safestring import mark_safe

# Lifetimes for expiry tests, and how long to wait for them to pass.
SHORT = 1
PAST_SHORT = 1.5

THIRTY_DAYS_AND_A_SECOND = 60 * 60 * 24 * 30 + 1
A_YEAR_MINUS_SLACK = 300 * 24 * 3600  # "forever" is the server's longest lifetime (365 d)

# Django lets each backend name the exception incr()/decr() raise for a value that is not
# an integer (BaseCacheTests.incr_decr_type_error: TypeError by default, redis-py's
# ResponseError for Django's Redis backend); this one raises ValueError or TypeError.
INCR_DECR_TYPE_ERROR = (TypeError, ValueError)

KEY_ERRORS_WITH_MEMCACHED_MSG = (
    "Cache key contains characters that will cause errors if used with memcached: %r"
)
TOO_LONG_FOR_MEMCACHED_MSG = (
    "Cache key will cause errors if used with memcached: %r (longer than %s)"
)

SERVER_MAX_KEY_BYTES = 1024  # the session daemon's limits.max_key_bytes (the default)

ignore_key_warnings = pytest.mark.filterwarnings(
    "ignore::django.core.cache.backends.base.CacheKeyWarning")


# --- objects for the data type tests (module level, so pickle finds them) -------------

def f():
    return 42


class C:
    def m(n):
        return 24


class Point:
    """A plain (model-free) object with state."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return type(other) is Point and (self.x, self.y) == (other.x, other.y)


class Color(enum.IntEnum):
    RED = 1


class Unpicklable:
    def __getstate__(self):
        raise pickle.PickleError()


def empty_response(request):
    return HttpResponse()


# --- fixtures and helpers -------------------------------------------------------------

@pytest.fixture(autouse=True)
def empty_server(daemon):
    """Every alias shares the session's server: start each test from an empty one."""
    caches["default"].clear()
    yield


@pytest.fixture
def cache():
    return caches["default"]


def server_ttl(daemon, stored_key):
    """Seconds the server says `stored_key` (the key as made, prefix and version in it)
    has left, rounded up; None if the server does not hold it."""
    url = daemon.url + "/v1/keys/" + quote(stored_key.encode("utf-8"), safe="")
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return int(r.headers["X-Cache-TTL"])
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


# --- get, set, add, delete, has_key ---------------------------------------------------

def test_set_then_get_returns_the_value(cache):
    cache.set("key", "value")
    assert cache.get("key") == "value"


def test_set_replaces_an_existing_value(cache):
    cache.set("key", "value")
    cache.set("key", "other")
    assert cache.get("key") == "other"


def test_get_returns_a_cached_none_instead_of_the_default(cache):
    cache.set("key_default_none", None)
    assert cache.get("key_default_none", default="default") is None


def test_get_of_a_missing_key_returns_none_or_the_default(cache):
    assert cache.get("does_not_exist") is None
    assert cache.get("does_not_exist", "bang!") == "bang!"


def test_add_stores_an_absent_key_and_returns_true(cache):
    assert cache.add("addkey1", "value") is True
    assert cache.get("addkey1") == "value"


def test_add_does_not_overwrite_a_live_key(cache):
    cache.set("addkey1", "value")
    assert cache.add("addkey1", "newvalue") is False
    assert cache.get("addkey1") == "value"


def test_get_many_returns_only_the_keys_present(cache):
    cache.set_many({"a": "a", "b": "b", "c": "c", "d": "d"})
    assert cache.get_many(["a", "c", "d"]) == {"a": "a", "c": "c", "d": "d"}
    assert cache.get_many(["a", "b", "e"]) == {"a": "a", "b": "b"}


def test_get_many_accepts_an_iterator(cache):
    cache.set_many({"a": "a", "b": "b"})
    assert cache.get_many(iter(["a", "b", "e"])) == {"a": "a", "b": "b"}


def test_get_many_returns_cached_none_values(cache):
    cache.set_many({"x": None, "y": 1})
    assert cache.get_many(["x", "y"]) == {"x": None, "y": 1}


def test_non_string_keys_are_made_into_strings_by_the_key_function(cache):
    cache.set(42, "int key")
    assert cache.get(42) == "int key"
    assert cache.get("42") == "int key"
    assert cache.has_key(42) is True
    assert cache.get_many([42, 43]) == {42: "int key"}
    assert cache.delete(42) is True
    assert cache.get("42") is None


def test_get_many_of_no_keys_is_an_empty_dict(cache):
    cache.set("a", 1)
    assert cache.get_many([]) == {}


def test_delete_removes_only_that_key_and_returns_true(cache):
    cache.set_many({"key1": "spam", "key2": "eggs"})
    assert cache.get("key1") == "spam"
    assert cache.delete("key1") is True
    assert cache.get("key1") is None
    assert cache.get("key2") == "eggs"


def test_delete_of_a_missing_key_returns_false(cache):
    assert cache.delete("nonexistent_key") is False


def test_has_key_is_true_for_stored_keys_only(cache):
    cache.set("hello1", "goodbye1")
    assert cache.has_key("hello1") is True
    assert cache.has_key("goodbye1") is False
    cache.set("no_expiry", "here", None)
    assert cache.has_key("no_expiry") is True


def test_has_key_is_true_for_a_cached_none(cache):
    cache.set("null", None)
    assert cache.has_key("null") is True


def test_in_operator_follows_has_key(cache):
    cache.set("hello2", "goodbye2")
    assert "hello2" in cache
    assert "goodbye2" not in cache
    cache.set("null", None)
    assert "null" in cache


def test_cache_keeps_working_after_close(cache):
    cache.set("before", 1)
    cache.close()
    assert cache.get("before") == 1
    cache.set("after", 2)
    assert cache.get("after") == 2


# --- incr, decr -----------------------------------------------------------------------

def test_incr_adds_the_delta_and_returns_the_new_value(cache):
    cache.set("answer", 41)
    assert cache.incr("answer") == 42
    assert cache.get("answer") == 42
    assert cache.incr("answer", 10) == 52
    assert cache.get("answer") == 52
    assert cache.incr("answer", -10) == 42
    assert cache.get("answer") == 42


def test_decr_subtracts_the_delta_and_returns_the_new_value(cache):
    cache.set("answer", 43)
    assert cache.decr("answer") == 42
    assert cache.get("answer") == 42
    assert cache.decr("answer", 10) == 32
    assert cache.get("answer") == 32
    assert cache.decr("answer", -10) == 42
    assert cache.get("answer") == 42


def test_decr_below_zero_gives_a_negative_number(cache):
    cache.set("answer", 1)
    assert cache.decr("answer", 5) == -4
    assert cache.get("answer") == -4


def test_incremented_value_reads_back_as_an_int(cache):
    cache.set("answer", 41)
    cache.incr("answer")
    value = cache.get("answer")
    assert type(value) is int and value == 42
    assert cache.get_many(["answer"]) == {"answer": 42}


def test_incr_and_decr_of_a_missing_key_raise_value_error_and_create_nothing(cache):
    with pytest.raises(ValueError):
        cache.incr("does_not_exist")
    with pytest.raises(ValueError):
        cache.incr("does_not_exist", -1)
    with pytest.raises(ValueError):
        cache.decr("does_not_exist")
    assert cache.has_key("does_not_exist") is False


def test_incr_and_decr_of_a_cached_none_raise_and_keep_it(cache):
    cache.set("null", None)
    with pytest.raises(INCR_DECR_TYPE_ERROR):
        cache.incr("null")
    with pytest.raises(INCR_DECR_TYPE_ERROR):
        cache.decr("null")
    assert cache.has_key("null") is True
    assert cache.get("null", "default") is None


def test_incr_of_a_string_of_digits_raises_and_keeps_the_string(cache):
    # Django adds delta to the stored value: "42" + 1 is an error, not 43.
    cache.set("digits", "42")
    with pytest.raises(INCR_DECR_TYPE_ERROR):
        cache.incr("digits")
    value = cache.get("digits")
    assert type(value) is str and value == "42"


def test_concurrent_incr_from_several_threads_loses_no_update(cache):
    # Each thread gets its own backend instance from caches[], as in a threaded server.
    cache.set("hits", 0)
    errors = []

    def work():
        try:
            own = caches["default"]
            for _ in range(50):
                own.incr("hits")
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert cache.get("hits") == 200


# --- data types -----------------------------------------------------------------------

VALUES = {
    "string": "this is a string",
    "empty_string": "",
    "digit_string": "42",
    "int": 42,
    "zero": 0,
    "negative_int": -7,
    "big_int": 2 ** 70,
    "bool_true": True,
    "bool_false": False,
    "none": None,
    "float": 1.5,
    "integral_float": 2.0,
    "list": [1, 2, 3, 4],
    "tuple": (1, 2, 3, 4),
    "dict": {"A": 1, "B": 2},
    "dict_with_int_keys": {1: "a", 2: "b"},
    "nested": {"a": [1, (2, 3)], "b": {"c": None}},
    "set": {1, 2, 3},
    "bytes": b"\x00\xff binary",
    "empty_bytes": b"",
    "bytearray": bytearray(b"abc"),
    "decimal": Decimal("1.10"),
    "datetime": datetime.datetime(2021, 4, 6, 12, 30, tzinfo=datetime.timezone.utc),
    "function": f,
    "class": C,
    "object": Point(1, 2),
    "int_enum": Color.RED,
    "safe_string": mark_safe("<b>bold</b>"),
}


@pytest.mark.parametrize("name", list(VALUES))
def test_values_round_trip_with_their_python_type(cache, name):
    value = VALUES[name]
    cache.set(name, value)
    result = cache.get(name)
    assert result == value
    assert type(result) is type(value)


def test_all_data_types_round_trip_through_set_many_and_get_many(cache):
    cache.set_many(VALUES)
    result = cache.get_many(list(VALUES))
    assert result == VALUES
    assert {k: type(v) for k, v in result.items()} == {k: type(v) for k, v in VALUES.items()}


def test_unicode_keys_and_values_round_trip_through_set_add_and_set_many(cache):
    stuff = {
        "ascii": "ascii_value",
        "unicode_ascii": "Iñtërnâtiônàlizætiøn1",
        "Iñtërnâtiônàlizætiøn": "Iñtërnâtiônàlizætiøn2",
        "ascii2": {"x": 1},
        "清": "清清",
    }
    for key, value in stuff.items():
        cache.set(key, value)
        assert cache.get(key) == value, key
    for key, value in stuff.items():
        assert cache.delete(key) is True, key
        assert cache.add(key, value) is True, key
        assert cache.get(key) == value, key
    for key in stuff:
        assert cache.delete(key) is True, key
    cache.set_many(stuff)
    for key, value in stuff.items():
        assert cache.get(key) == value, key


def test_binary_strings_round_trip_through_set_add_and_set_many(cache):
    value = "value_to_be_compressed"
    compressed = zlib.compress(value.encode())

    cache.set("binary1", compressed)
    result = cache.get("binary1")
    assert result == compressed
    assert zlib.decompress(result).decode() == value

    assert cache.add("binary1-add", compressed) is True
    result = cache.get("binary1-add")
    assert result == compressed
    assert zlib.decompress(result).decode() == value

    cache.set_many({"binary1-set_many": compressed})
    result = cache.get("binary1-set_many")
    assert result == compressed
    assert zlib.decompress(result).decode() == value


def test_a_one_mebibyte_value_round_trips(cache):
    blob = os.urandom(1 << 20)
    cache.set("blob", blob)
    assert cache.get("blob") == blob
    big = {"rows": [{"id": i, "name": "row %d" % i} for i in range(20000)]}
    cache.set("big", big)
    assert cache.get("big") == big


def test_set_and_add_of_an_unpicklable_value_raise_pickle_error(cache):
    with pytest.raises(pickle.PickleError):
        cache.add("unpicklable", Unpicklable())
    with pytest.raises(pickle.PickleError):
        cache.set("unpicklable", Unpicklable())
    assert cache.has_key("unpicklable") is False


def test_failed_set_of_an_unpicklable_value_keeps_the_old_value(cache):
    cache.set("key", "old")
    with pytest.raises(pickle.PickleError):
        cache.set("key", Unpicklable())
    assert cache.get("key") == "old"


def test_cache_middleware_round_trips_a_response_with_cookies(cache):
    # Django's test_cache_write_unpicklable_object: a whole HttpResponse, cookies included.
    factory = RequestFactory()
    fetch_middleware = FetchFromCacheMiddleware(empty_response)

    request = factory.get("/cache/test")
    request._cache_update_cache = True
    assert FetchFromCacheMiddleware(empty_response).process_request(request) is None

    content = "Testing cookie serialization."

    def get_response(req):
        response = HttpResponse(content)
        response.set_cookie("foo", "bar")
        return response

    response = UpdateCacheMiddleware(get_response)(request)

    cached = fetch_middleware.process_request(request)
    assert cached is not None
    assert cached.content == content.encode()
    assert cached.cookies == response.cookies

    UpdateCacheMiddleware(lambda req: cached)(request)
    cached = fetch_middleware.process_request(request)
    assert cached is not None
    assert cached.content == content.encode()
    assert cached.cookies == response.cookies


# --- set_many, delete_many, clear -----------------------------------------------------

def test_set_many_stores_every_pair_and_returns_an_empty_list(cache):
    assert cache.set_many({"key1": "spam", "key2": "eggs"}) == []
    assert cache.get("key1") == "spam"
    assert cache.get("key2") == "eggs"


def test_set_many_of_no_data_returns_an_empty_list(cache):
    assert cache.set_many({}) == []


def test_set_many_timeout_expires_every_key(cache):
    cache.set_many({"key1": "spam", "key2": "eggs"}, SHORT)
    assert cache.get_many(["key1", "key2"]) == {"key1": "spam", "key2": "eggs"}
    time.sleep(PAST_SHORT)
    assert cache.get("key1") is None
    assert cache.get("key2") is None


def test_delete_many_removes_only_the_given_keys(cache):
    cache.set_many({"key1": "spam", "key2": "eggs", "key3": "ham"})
    cache.delete_many(["key1", "key2"])
    assert cache.get("key1") is None
    assert cache.get("key2") is None
    assert cache.get("key3") == "ham"


def test_delete_many_accepts_missing_keys_and_an_iterator(cache):
    cache.set_many({"key1": "spam", "key2": "eggs"})
    cache.delete_many(iter(["key1", "missing"]))
    assert cache.get("key1") is None
    assert cache.get("key2") == "eggs"


def test_delete_many_of_no_keys_does_nothing(cache):
    cache.set("key1", "spam")
    assert cache.delete_many([]) is None
    assert cache.get("key1") == "spam"


def test_clear_empties_the_cache(cache):
    cache.set_many({"key1": "spam", "key2": "eggs"})
    caches["v2"].set("key3", "ham")
    cache.clear()
    assert cache.get("key1") is None
    assert cache.get("key2") is None
    assert caches["v2"].get("key3") is None


# --- timeouts -------------------------------------------------------------------------

def test_expired_keys_are_gone_and_can_be_added_again(cache):
    cache.set("expire1", "very quickly", SHORT)
    cache.set("expire2", "very quickly", SHORT)
    cache.set("expire3", "very quickly", SHORT)
    cache.set("expire4", "half a second", 0.5)  # a float under 1 s is not "now"
    assert cache.get("expire4") == "half a second"

    time.sleep(PAST_SHORT)
    assert cache.get("expire1") is None
    assert cache.add("expire2", "newvalue") is True
    assert cache.get("expire2") == "newvalue"
    assert cache.has_key("expire3") is False
    assert cache.get("expire4") is None


def test_default_timeout_is_the_alias_timeout(daemon):
    short, default, forever = caches["short"], caches["default"], caches["forever"]
    short.set("set", 1)
    assert short.add("add", 1) is True
    short.set_many({"set_many": 1})
    assert short.get_or_set("get_or_set", 1) == 1
    short.set("explicit_none", 1, timeout=None)  # an explicit timeout beats TIMEOUT
    default.set("five_minutes", 1)
    forever.set("forever", 1)

    assert 295 < server_ttl(daemon, default.make_key("five_minutes")) <= 300
    assert server_ttl(daemon, forever.make_key("forever")) > A_YEAR_MINUS_SLACK
    assert server_ttl(daemon, short.make_key("explicit_none")) > A_YEAR_MINUS_SLACK
    assert short.get_many(["set", "add", "set_many", "get_or_set"]) == {
        "set": 1, "add": 1, "set_many": 1, "get_or_set": 1}

    time.sleep(PAST_SHORT)
    assert short.get_many(["set", "add", "set_many", "get_or_set"]) == {}
    assert default.get("five_minutes") == 1
    assert forever.get("forever") == 1
    assert short.get("explicit_none") == 1


def test_alias_timeout_of_zero_stores_nothing():
    no_store = caches["no_store"]
    no_store.set("k1", 1)
    assert no_store.add("k2", 2) is True
    assert no_store.set_many({"k3": 3}) == []
    assert no_store.get_or_set("k4", 4) == 4
    assert no_store.get_many(["k1", "k2", "k3", "k4"]) == {}
    no_store.set("k5", 5, timeout=10)  # an explicit timeout still stores
    assert no_store.get("k5") == 5


def test_timeout_of_thirty_days_and_a_second_is_relative_not_a_timestamp(cache, daemon):
    cache.set("key1", "eggs", THIRTY_DAYS_AND_A_SECOND)
    assert cache.get("key1") == "eggs"
    assert cache.add("key2", "ham", THIRTY_DAYS_AND_A_SECOND) is True
    assert cache.get("key2") == "ham"
    cache.set_many({"key3": "sausage", "key4": "lobster bisque"}, THIRTY_DAYS_AND_A_SECOND)
    assert cache.get("key3") == "sausage"
    assert cache.get("key4") == "lobster bisque"
    for key in ("key1", "key2", "key3", "key4"):
        ttl = server_ttl(daemon, cache.make_key(key))
        assert THIRTY_DAYS_AND_A_SECOND - 5 < ttl <= THIRTY_DAYS_AND_A_SECOND, key


def test_timeout_longer_than_the_server_allows_is_still_stored(cache):
    # Any positive timeout stores the value (Django clamps nothing, raises nothing).
    two_years = 2 * 365 * 24 * 3600
    cache.set("key1", "eggs", two_years)
    assert cache.get("key1") == "eggs"
    assert cache.add("key2", "ham", two_years) is True
    assert cache.get("key2") == "ham"
    cache.set("key3", "spam", 1)
    assert cache.touch("key3", two_years) is True
    assert cache.get("key3") == "spam"


def test_none_timeout_stores_for_the_longest_lifetime(cache, daemon):
    cache.set("key1", "eggs", None)
    assert cache.get("key1") == "eggs"
    assert cache.add("key2", "ham", None) is True
    assert cache.get("key2") == "ham"
    assert cache.add("key1", "new eggs", None) is False
    assert cache.get("key1") == "eggs"
    cache.set_many({"key3": "sausage", "key4": "lobster bisque"}, None)
    assert cache.get("key3") == "sausage"
    assert cache.get("key4") == "lobster bisque"
    for key in ("key1", "key2", "key3", "key4"):
        assert server_ttl(daemon, cache.make_key(key)) > A_YEAR_MINUS_SLACK, key


def test_zero_timeout_does_not_store(cache):
    cache.set("key1", "eggs", 0)
    assert cache.get("key1") is None
    assert cache.add("key2", "ham", 0) is True
    assert cache.get("key2") is None
    cache.set_many({"key3": "sausage", "key4": "lobster bisque"}, 0)
    assert cache.get("key3") is None
    assert cache.get("key4") is None


def test_zero_timeout_set_removes_an_existing_key(cache):
    cache.set("key1", "eggs")
    cache.set("key1", "new eggs", 0)
    assert cache.get("key1") is None
    cache.set_many({"key2": "ham"})
    cache.set_many({"key2": "new ham"}, 0)
    assert cache.get("key2") is None


def test_negative_timeout_does_not_store_and_removes_an_existing_key(cache):
    cache.set("key1", "eggs", -1)
    assert cache.has_key("key1") is False
    cache.set("key2", "ham")
    cache.set("key2", "new ham", -1)
    assert cache.get("key2") is None
    assert cache.add("key3", "spam", -5) is True
    assert cache.has_key("key3") is False
    cache.set_many({"key4": "sausage"})
    cache.set_many({"key4": "new sausage", "key5": "bisque"}, -1)
    assert cache.get_many(["key4", "key5"]) == {}


def test_add_with_a_non_positive_timeout_does_not_replace_a_live_key(cache):
    cache.set("key1", "eggs")
    assert cache.add("key1", "new eggs", 0) is False
    assert cache.add("key1", "new eggs", -1) is False
    assert cache.get("key1") == "eggs"


def test_float_timeout_is_accepted(cache, daemon):
    cache.set("key1", "spam", 100.2)
    assert cache.get("key1") == "spam"
    assert 100 <= server_ttl(daemon, cache.make_key("key1")) <= 101


# --- touch ----------------------------------------------------------------------------

def test_touch_of_a_missing_key_returns_false_and_creates_nothing(cache):
    assert cache.touch("nonexistent") is False
    assert cache.touch("nonexistent", 10) is False
    assert cache.has_key("nonexistent") is False


def test_touch_extends_the_lifetime_of_a_live_key(cache, daemon):
    cache.set("expire1", "very quickly", timeout=SHORT)
    assert cache.touch("expire1", timeout=3) is True
    assert 2 <= server_ttl(daemon, cache.make_key("expire1")) <= 3
    time.sleep(PAST_SHORT)
    assert cache.get("expire1") == "very quickly"
    # Counting down from the touched lifetime, not made everlasting.
    assert 1 <= server_ttl(daemon, cache.make_key("expire1")) <= 2


def test_touch_without_timeout_applies_the_alias_default_timeout(daemon):
    default, short = caches["default"], caches["short"]
    default.set("lengthened", "v", timeout=SHORT)
    assert default.touch("lengthened") is True
    assert 295 < server_ttl(daemon, default.make_key("lengthened")) <= 300
    short.set("shortened", "v", timeout=300)
    assert short.touch("shortened") is True
    time.sleep(PAST_SHORT)
    assert default.get("lengthened") == "v"
    assert short.get("shortened") is None


def test_touch_with_none_keeps_the_key_for_the_longest_lifetime(cache, daemon):
    cache.set("key5", "belgian fries", timeout=SHORT)
    assert cache.touch("key5", timeout=None) is True
    assert server_ttl(daemon, cache.make_key("key5")) > A_YEAR_MINUS_SLACK
    forever = caches["forever"]
    forever.set("key6", "frites", timeout=SHORT)
    assert forever.touch("key6") is True  # the alias's TIMEOUT None
    assert server_ttl(daemon, forever.make_key("key6")) > A_YEAR_MINUS_SLACK
    time.sleep(PAST_SHORT)
    assert cache.get("key5") == "belgian fries"


def test_touch_with_a_zero_or_negative_timeout_expires_the_key(cache):
    cache.set("key5", "belgian fries", timeout=5)
    assert cache.touch("key5", timeout=0) is True
    assert cache.get("key5") is None
    cache.set("key6", "belgian fries", timeout=5)
    assert cache.touch("key6", timeout=-1) is True
    assert cache.get("key6") is None


def test_touch_applies_to_the_given_version_only(cache, daemon):
    cache.set("key", "v1", timeout=SHORT, version=1)
    cache.set("key", "v2", timeout=SHORT, version=2)
    assert cache.touch("key", timeout=100, version=2) is True
    assert server_ttl(daemon, cache.make_key("key", version=1)) == 1
    assert 99 <= server_ttl(daemon, cache.make_key("key", version=2)) <= 100
    assert cache.touch("other", timeout=100, version=2) is False


# --- get_or_set -----------------------------------------------------------------------

def test_get_or_set_stores_and_returns_the_default_of_a_missing_key(cache):
    assert cache.get("projector") is None
    assert cache.get_or_set("projector", 42) == 42
    assert cache.get("projector") == 42


def test_get_or_set_returns_the_stored_value_and_keeps_it(cache):
    cache.set("projector", 1)
    assert cache.get_or_set("projector", 42) == 1
    assert cache.get("projector") == 1


def test_get_or_set_stores_none(cache):
    assert cache.get_or_set("null", None) is None
    assert cache.get("null", "default") is None


def test_get_or_set_calls_a_callable_default_only_on_a_miss(cache):
    calls = []

    def my_callable():
        calls.append(1)
        return "value"

    assert cache.get_or_set("mykey", my_callable) == "value"
    assert cache.get_or_set("mykey", my_callable) == "value"
    assert calls == [1]
    assert cache.get_or_set("mykey", my_callable()) == "value"
    assert cache.get_or_set("null", lambda: None) is None
    assert cache.get("null", "default") is None


def test_get_or_set_with_a_version(cache):
    msg = "get_or_set() missing 1 required positional argument: 'default'"
    assert cache.get_or_set("brian", 1979, version=2) == 1979
    with pytest.raises(TypeError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        cache.get_or_set("brian")
    with pytest.raises(TypeError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        cache.get_or_set("brian", version=1)
    assert cache.get("brian", version=1) is None
    assert cache.get_or_set("brian", 42, version=1) == 42
    assert cache.get_or_set("brian", 1979, version=2) == 1979
    assert cache.get("brian", version=3) is None


def test_get_or_set_honours_its_timeout(cache):
    assert cache.get_or_set("brief", "v", timeout=SHORT) == "v"
    assert cache.get_or_set("zero", "v", timeout=0) == "v"
    assert cache.has_key("zero") is False
    time.sleep(PAST_SHORT)
    assert cache.get("brief") is None


# --- versions -------------------------------------------------------------------------

def test_versioning_get_set():
    cache, v2 = caches["default"], caches["v2"]
    # set, using default version = 1
    cache.set("answer1", 42)
    assert cache.get("answer1") == 42
    assert cache.get("answer1", version=1) == 42
    assert cache.get("answer1", version=2) is None
    assert v2.get("answer1") is None
    assert v2.get("answer1", version=1) == 42
    assert v2.get("answer1", version=2) is None
    # set, default version = 1, but manually override version = 2
    cache.set("answer2", 42, version=2)
    assert cache.get("answer2") is None
    assert cache.get("answer2", version=1) is None
    assert cache.get("answer2", version=2) == 42
    assert v2.get("answer2") == 42
    assert v2.get("answer2", version=1) is None
    assert v2.get("answer2", version=2) == 42
    # v2 set, using default version = 2
    v2.set("answer3", 42)
    assert cache.get("answer3") is None
    assert cache.get("answer3", version=1) is None
    assert cache.get("answer3", version=2) == 42
    assert v2.get("answer3") == 42
    assert v2.get("answer3", version=1) is None
    assert v2.get("answer3", version=2) == 42
    # v2 set, default version = 2, but manually override version = 1
    v2.set("answer4", 42, version=1)
    assert cache.get("answer4") == 42
    assert cache.get("answer4", version=1) == 42
    assert cache.get("answer4", version=2) is None
    assert v2.get("answer4") is None
    assert v2.get("answer4", version=1) == 42
    assert v2.get("answer4", version=2) is None


def test_versioning_add():
    cache, v2 = caches["default"], caches["v2"]
    assert cache.add("answer1", 42, version=2) is True
    assert cache.get("answer1", version=1) is None
    assert cache.get("answer1", version=2) == 42
    assert cache.add("answer1", 37, version=2) is False
    assert cache.get("answer1", version=1) is None
    assert cache.get("answer1", version=2) == 42
    assert cache.add("answer1", 37, version=1) is True
    assert cache.get("answer1", version=1) == 37
    assert cache.get("answer1", version=2) == 42
    # v2 add, using default version = 2
    assert v2.add("answer2", 42) is True
    assert cache.get("answer2", version=1) is None
    assert cache.get("answer2", version=2) == 42
    assert v2.add("answer2", 37) is False
    assert cache.get("answer2", version=1) is None
    assert cache.get("answer2", version=2) == 42
    assert v2.add("answer2", 37, version=1) is True
    assert cache.get("answer2", version=1) == 37
    assert cache.get("answer2", version=2) == 42
    # v2 add, default version = 2, but manually override version = 1
    assert v2.add("answer3", 42, version=1) is True
    assert cache.get("answer3", version=1) == 42
    assert cache.get("answer3", version=2) is None
    assert v2.add("answer3", 37, version=1) is False
    assert cache.get("answer3", version=1) == 42
    assert cache.get("answer3", version=2) is None
    assert v2.add("answer3", 37) is True
    assert cache.get("answer3", version=1) == 42
    assert cache.get("answer3", version=2) == 37


def test_versioning_has_key():
    cache, v2 = caches["default"], caches["v2"]
    cache.set("answer1", 42)
    assert cache.has_key("answer1") is True
    assert cache.has_key("answer1", version=1) is True
    assert cache.has_key("answer1", version=2) is False
    assert v2.has_key("answer1") is False
    assert v2.has_key("answer1", version=1) is True
    assert v2.has_key("answer1", version=2) is False


def test_versioning_delete():
    cache, v2 = caches["default"], caches["v2"]
    cache.set("answer1", 37, version=1)
    cache.set("answer1", 42, version=2)
    assert cache.delete("answer1") is True
    assert cache.get("answer1", version=1) is None
    assert cache.get("answer1", version=2) == 42

    cache.set("answer2", 37, version=1)
    cache.set("answer2", 42, version=2)
    assert cache.delete("answer2", version=2) is True
    assert cache.get("answer2", version=1) == 37
    assert cache.get("answer2", version=2) is None

    cache.set("answer3", 37, version=1)
    cache.set("answer3", 42, version=2)
    assert v2.delete("answer3") is True
    assert cache.get("answer3", version=1) == 37
    assert cache.get("answer3", version=2) is None

    cache.set("answer4", 37, version=1)
    cache.set("answer4", 42, version=2)
    assert v2.delete("answer4", version=1) is True
    assert cache.get("answer4", version=1) is None
    assert cache.get("answer4", version=2) == 42


def test_versioning_delete_many():
    cache, v2 = caches["default"], caches["v2"]
    cache.set_many({"a": 1, "b": 2}, version=1)
    cache.set_many({"a": 3, "b": 4}, version=2)
    cache.delete_many(["a", "b"], version=2)
    assert cache.get_many(["a", "b"]) == {"a": 1, "b": 2}
    assert v2.get_many(["a", "b"]) == {}
    cache.set_many({"a": 3, "b": 4}, version=2)
    v2.delete_many(["a"])
    assert v2.get_many(["a", "b"]) == {"b": 4}
    assert cache.get_many(["a", "b"]) == {"a": 1, "b": 2}


def test_versioning_incr_decr():
    cache, v2 = caches["default"], caches["v2"]
    cache.set("answer1", 37, version=1)
    cache.set("answer1", 42, version=2)
    assert cache.incr("answer1") == 38
    assert cache.get("answer1", version=1) == 38
    assert cache.get("answer1", version=2) == 42
    assert cache.decr("answer1") == 37
    assert cache.get("answer1", version=1) == 37
    assert cache.get("answer1", version=2) == 42

    cache.set("answer2", 37, version=1)
    cache.set("answer2", 42, version=2)
    assert cache.incr("answer2", version=2) == 43
    assert cache.get("answer2", version=1) == 37
    assert cache.get("answer2", version=2) == 43
    assert cache.decr("answer2", version=2) == 42
    assert cache.get("answer2", version=1) == 37
    assert cache.get("answer2", version=2) == 42

    cache.set("answer3", 37, version=1)
    cache.set("answer3", 42, version=2)
    assert v2.incr("answer3") == 43
    assert cache.get("answer3", version=1) == 37
    assert cache.get("answer3", version=2) == 43
    assert v2.decr("answer3") == 42
    assert cache.get("answer3", version=1) == 37
    assert cache.get("answer3", version=2) == 42

    cache.set("answer4", 37, version=1)
    cache.set("answer4", 42, version=2)
    assert v2.incr("answer4", version=1) == 38
    assert cache.get("answer4", version=1) == 38
    assert cache.get("answer4", version=2) == 42
    assert v2.decr("answer4", version=1) == 37
    assert cache.get("answer4", version=1) == 37
    assert cache.get("answer4", version=2) == 42


def test_incr_of_a_key_present_in_another_version_only_raises_value_error():
    cache = caches["default"]
    cache.set("answer", 42, version=2)
    with pytest.raises(ValueError):
        cache.incr("answer")
    assert cache.has_key("answer", version=1) is False
    assert cache.get("answer", version=2) == 42


def test_versioning_get_many_set_many():
    cache, v2 = caches["default"], caches["v2"]
    # set, using default version = 1
    cache.set_many({"ford1": 37, "arthur1": 42})
    assert cache.get_many(["ford1", "arthur1"]) == {"ford1": 37, "arthur1": 42}
    assert cache.get_many(["ford1", "arthur1"], version=1) == {"ford1": 37, "arthur1": 42}
    assert cache.get_many(["ford1", "arthur1"], version=2) == {}
    assert v2.get_many(["ford1", "arthur1"]) == {}
    assert v2.get_many(["ford1", "arthur1"], version=1) == {"ford1": 37, "arthur1": 42}
    assert v2.get_many(["ford1", "arthur1"], version=2) == {}
    # set, default version = 1, but manually override version = 2
    cache.set_many({"ford2": 37, "arthur2": 42}, version=2)
    assert cache.get_many(["ford2", "arthur2"]) == {}
    assert cache.get_many(["ford2", "arthur2"], version=1) == {}
    assert cache.get_many(["ford2", "arthur2"], version=2) == {"ford2": 37, "arthur2": 42}
    assert v2.get_many(["ford2", "arthur2"]) == {"ford2": 37, "arthur2": 42}
    assert v2.get_many(["ford2", "arthur2"], version=1) == {}
    assert v2.get_many(["ford2", "arthur2"], version=2) == {"ford2": 37, "arthur2": 42}
    # v2 set, using default version = 2
    v2.set_many({"ford3": 37, "arthur3": 42})
    assert cache.get_many(["ford3", "arthur3"]) == {}
    assert cache.get_many(["ford3", "arthur3"], version=1) == {}
    assert cache.get_many(["ford3", "arthur3"], version=2) == {"ford3": 37, "arthur3": 42}
    assert v2.get_many(["ford3", "arthur3"]) == {"ford3": 37, "arthur3": 42}
    assert v2.get_many(["ford3", "arthur3"], version=1) == {}
    assert v2.get_many(["ford3", "arthur3"], version=2) == {"ford3": 37, "arthur3": 42}
    # v2 set, default version = 2, but manually override version = 1
    v2.set_many({"ford4": 37, "arthur4": 42}, version=1)
    assert cache.get_many(["ford4", "arthur4"]) == {"ford4": 37, "arthur4": 42}
    assert cache.get_many(["ford4", "arthur4"], version=1) == {"ford4": 37, "arthur4": 42}
    assert cache.get_many(["ford4", "arthur4"], version=2) == {}
    assert v2.get_many(["ford4", "arthur4"]) == {}
    assert v2.get_many(["ford4", "arthur4"], version=1) == {"ford4": 37, "arthur4": 42}
    assert v2.get_many(["ford4", "arthur4"], version=2) == {}


def test_incr_version_moves_the_value_to_the_next_version():
    cache, v2 = caches["default"], caches["v2"]
    cache.set("answer", 42, version=2)
    assert cache.get("answer") is None
    assert cache.get("answer", version=1) is None
    assert cache.get("answer", version=2) == 42
    assert cache.get("answer", version=3) is None

    assert cache.incr_version("answer", version=2) == 3
    assert cache.get("answer") is None
    assert cache.get("answer", version=1) is None
    assert cache.get("answer", version=2) is None
    assert cache.get("answer", version=3) == 42

    v2.set("answer2", 42)
    assert v2.get("answer2") == 42
    assert v2.get("answer2", version=1) is None
    assert v2.get("answer2", version=2) == 42
    assert v2.get("answer2", version=3) is None

    assert v2.incr_version("answer2") == 3
    assert v2.get("answer2") is None
    assert v2.get("answer2", version=1) is None
    assert v2.get("answer2", version=2) is None
    assert v2.get("answer2", version=3) == 42

    cache.set("jump", "far")
    assert cache.incr_version("jump", delta=3) == 4
    assert cache.get("jump", version=4) == "far"
    assert cache.get("jump") is None


def test_decr_version_moves_the_value_to_the_previous_version():
    cache, v2 = caches["default"], caches["v2"]
    cache.set("answer", 42, version=2)
    assert cache.get("answer") is None
    assert cache.get("answer", version=1) is None
    assert cache.get("answer", version=2) == 42

    assert cache.decr_version("answer", version=2) == 1
    assert cache.get("answer") == 42
    assert cache.get("answer", version=1) == 42
    assert cache.get("answer", version=2) is None

    v2.set("answer2", 42)
    assert v2.get("answer2") == 42
    assert v2.get("answer2", version=1) is None
    assert v2.get("answer2", version=2) == 42

    assert v2.decr_version("answer2") == 1
    assert v2.get("answer2") is None
    assert v2.get("answer2", version=1) == 42
    assert v2.get("answer2", version=2) is None


def test_incr_version_and_decr_version_of_a_missing_key_raise_value_error(cache):
    with pytest.raises(ValueError):
        cache.incr_version("does_not_exist")
    with pytest.raises(ValueError):
        cache.decr_version("does_not_exist", version=2)
    assert cache.has_key("does_not_exist", version=2) is False
    assert cache.has_key("does_not_exist", version=1) is False


def test_incr_version_and_decr_version_move_a_cached_none(cache):
    cache.set("null", None)
    assert cache.incr_version("null") == 2
    assert cache.has_key("null", version=1) is False
    assert cache.get("null", "default", version=2) is None
    cache.set("null2", None, version=2)
    assert cache.decr_version("null2", version=2) == 1
    assert cache.get("null2", "default", version=1) is None
    assert cache.has_key("null2", version=2) is False


# --- key prefix, VERSION and KEY_FUNCTION isolation -----------------------------------

def test_key_prefix_isolates_aliases_sharing_a_server():
    cache, prefixed = caches["default"], caches["prefix"]
    cache.set("somekey", "value")
    assert prefixed.has_key("somekey") is False
    prefixed.set("somekey", "value2")
    assert cache.get("somekey") == "value"
    assert prefixed.get("somekey") == "value2"
    assert prefixed.delete("somekey") is True
    assert cache.get("somekey") == "value"


def test_version_setting_isolates_aliases_sharing_a_server():
    cache, v2 = caches["default"], caches["v2"]
    cache.set("answer", 1)
    v2.set("answer", 2)
    assert cache.get("answer") == 1
    assert v2.get("answer") == 2
    assert v2.add("fresh", 2) is True
    assert cache.add("fresh", 1) is True
    assert v2.get_many(["answer", "fresh"]) == {"answer": 2, "fresh": 2}
    assert cache.get_many(["answer", "fresh"]) == {"answer": 1, "fresh": 1}


def test_custom_key_function_is_shared_by_aliases_and_isolated_from_default():
    cache = caches["default"]
    cache.set("answer1", 42)
    assert cache.get("answer1") == 42
    assert caches["custom_key"].get("answer1") is None
    assert caches["custom_key2"].get("answer1") is None

    caches["custom_key"].set("answer2", 42)
    assert cache.get("answer2") is None
    assert caches["custom_key"].get("answer2") == 42
    assert caches["custom_key2"].get("answer2") == 42


def test_the_server_holds_each_key_as_make_key_makes_it(daemon):
    for alias, stored in [("default", ":1:k"), ("prefix", "cacheprefix:1:k"),
                          ("v2", ":2:k"), ("custom_key", "CUSTOM--1-k")]:
        assert caches[alias].make_key("k") == stored
        caches[alias].set("k", alias, 60)
        assert server_ttl(daemon, stored) is not None, alias
    assert caches["default"].get("k") == "default"
    assert caches["custom_key"].get("k") == "custom_key"


@ignore_key_warnings
@pytest.mark.parametrize("key", [
    "a/b", "a%2Fb", "a?b=c", "a#b", "a+b", "a b", "a&b", "a\\b", "..", "%", "a\nb", "a\tb",
    "a\x00b", "ключ", "🔑",
], ids=repr)
def test_keys_with_url_and_control_characters_round_trip_and_stay_distinct(cache, key):
    cache.set(key, "special")
    cache.set("a", "plain")
    cache.set("ab", "plain")
    assert cache.get(key) == "special"
    assert cache.has_key(key) is True
    assert cache.get_many([key]) == {key: "special"}
    assert cache.delete(key) is True
    assert cache.get(key) is None
    assert cache.get_many(["a", "ab"]) == {"a": "plain", "ab": "plain"}


# --- key validation: Django's warnings, the server's limit -----------------------------

def _assert_every_operation_warns(cache, key, expected):
    """Django's _perform_invalid_key_test: each operation warns with the message, and
    (a warning being no error) still does its work."""
    operations = [
        ("add", lambda: cache.add(key, 1), True),
        ("get", lambda: cache.get(key), 1),
        ("set", lambda: cache.set(key, 1), None),
        ("incr", lambda: cache.incr(key), 2),
        ("decr", lambda: cache.decr(key), 1),
        ("touch", lambda: cache.touch(key), True),
        ("delete", lambda: cache.delete(key), True),
        ("get_many", lambda: cache.get_many([key, "b"]), {}),
        ("set_many", lambda: cache.set_many({key: 1, "b": 2}), []),
        ("delete_many", lambda: cache.delete_many([key, "b"]), None),
    ]
    for name, operation, result in operations:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = operation()
        messages = [str(w.message) for w in caught if issubclass(w.category, CacheKeyWarning)]
        assert messages[:1] == [expected], name
        assert got == result, name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheKeyWarning)
        assert cache.get_many([key, "b"]) == {}


def _identity(key, *args):
    return key


def test_key_with_spaces_and_unicode_warns_on_every_operation(cache, monkeypatch):
    # As Django does: a key function that keeps the key, since ":1:" would hide nothing.
    monkeypatch.setattr(cache, "key_func", _identity)
    key = "key with spaces and 清"
    _assert_every_operation_warns(cache, key, KEY_ERRORS_WITH_MEMCACHED_MSG % key)


def test_key_longer_than_250_characters_warns_on_every_operation(cache, monkeypatch):
    monkeypatch.setattr(cache, "key_func", _identity)
    key = ("a" * 250) + "清"
    _assert_every_operation_warns(cache, key, TOO_LONG_FOR_MEMCACHED_MSG % (key, 250))


def test_key_the_key_function_makes_longer_than_250_warns(cache, monkeypatch):
    def key_func(key, *args):
        return key + ":1"

    monkeypatch.setattr(cache, "key_func", key_func)
    key = "a" * 249
    _assert_every_operation_warns(cache, key,
                                  TOO_LONG_FOR_MEMCACHED_MSG % (key_func(key), 250))


def test_default_key_function_warns_about_the_key_as_made(cache):
    msg = KEY_ERRORS_WITH_MEMCACHED_MSG % ":1:key with spaces"
    with pytest.warns(CacheKeyWarning) as record:
        cache.get_many(["key with spaces"])
    assert str(record[0].message) == msg
    with pytest.warns(CacheKeyWarning) as record:
        assert cache.set_many({"key with spaces": "foo"}) == []
    assert str(record[0].message) == msg
    with pytest.warns(CacheKeyWarning) as record:
        cache.delete_many(["key with spaces"])
    assert str(record[0].message) == msg
    assert cache.get_many(["plain"]) == {}


def test_safe_keys_do_not_warn(cache):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        cache.set("safe:key-1_ok", 1)
        assert cache.get("safe:key-1_ok") == 1
        assert cache.get_many(["safe:key-1_ok"]) == {"safe:key-1_ok": 1}


def _every_operation(cache, key):
    return {
        "get": lambda: cache.get(key),
        "set": lambda: cache.set(key, 1),
        "add": lambda: cache.add(key, 1),
        "touch": lambda: cache.touch(key),
        "delete": lambda: cache.delete(key),
        "has_key": lambda: cache.has_key(key),
        "in": lambda: key in cache,
        "incr": lambda: cache.incr(key),
        "decr": lambda: cache.decr(key),
        "get_many": lambda: cache.get_many([key]),
        "set_many": lambda: cache.set_many({key: 1}),
        "delete_many": lambda: cache.delete_many([key]),
        "get_or_set": lambda: cache.get_or_set(key, 1),
        "incr_version": lambda: cache.incr_version(key),
    }


@ignore_key_warnings
@pytest.mark.parametrize("operation", list(_every_operation(None, "")))
def test_key_over_the_server_limit_raises_invalid_cache_key(cache, operation):
    key = "a" * (SERVER_MAX_KEY_BYTES - len(":1:") + 1)  # made key: one byte over
    with pytest.raises(InvalidCacheKey):
        _every_operation(cache, key)[operation]()


@ignore_key_warnings
def test_key_at_the_server_limit_is_stored(cache, daemon):
    key = "a" * (SERVER_MAX_KEY_BYTES - len(":1:"))
    cache.set(key, "longest")
    assert cache.get(key) == "longest"
    assert cache.has_key(key) is True
    assert server_ttl(daemon, cache.make_key(key)) is not None
    assert cache.delete(key) is True


@ignore_key_warnings
def test_key_limit_counts_utf8_bytes_not_characters(cache):
    fits = "清" * ((SERVER_MAX_KEY_BYTES - len(":1:")) // 3)        # 1023 bytes made
    cache.set(fits, "fits")
    assert cache.get(fits) == "fits"
    too_long = fits + "清"                                            # 1026 bytes, 345 chars
    with pytest.raises(InvalidCacheKey):
        cache.set(too_long, "too long")
    with pytest.raises(InvalidCacheKey):
        cache.get(too_long)


@ignore_key_warnings
def test_key_prefix_counts_toward_the_server_limit():
    prefixed = caches["prefix"]
    key = "a" * (SERVER_MAX_KEY_BYTES - len(":1:"))  # fits without the prefix
    caches["default"].set(key, "fits")
    with pytest.raises(InvalidCacheKey):
        prefixed.set(key, "too long")
    just_fits = "a" * (SERVER_MAX_KEY_BYTES - len("cacheprefix:1:"))
    prefixed.set(just_fits, "fits")
    assert prefixed.get(just_fits) == "fits"


# --- tiercache's extras: tags ---------------------------------------------------------

def test_delete_by_tag_removes_every_key_carrying_the_tag(cache):
    cache.set("a", 1, tags=["t1"])
    cache.set("b", 2, tags=["t1", "t2"])
    cache.set("c", 3, tags=["t2"])
    cache.set("d", 4)
    assert cache.delete_by_tag("t1") == 2
    assert cache.get_many(["a", "b", "c", "d"]) == {"c": 3, "d": 4}


def test_delete_by_tag_with_several_tags_removes_keys_carrying_any_of_them(cache):
    cache.set("a", 1, tags=["t1"])
    cache.set("b", 2, tags=["t2"])
    cache.set("c", 3, tags=["t3"])
    assert cache.delete_by_tag("t1", "t2") == 2
    assert cache.get_many(["a", "b", "c"]) == {"c": 3}


def test_delete_by_an_unknown_tag_removes_nothing(cache):
    cache.set("a", 1, tags=["t1"])
    assert cache.delete_by_tag("nobody") == 0
    assert cache.get("a") == 1


def test_set_with_tags_keeps_its_timeout_version_and_value_type(cache, daemon):
    cache.set("k", Point(3, 4), 50, version=2, tags=["t"])
    assert cache.get("k", version=2) == Point(3, 4)
    assert cache.get("k") is None
    assert 49 <= server_ttl(daemon, cache.make_key("k", version=2)) <= 50
    assert cache.delete_by_tag("t") == 1
    assert cache.get("k", version=2) is None


def test_resetting_a_key_without_tags_drops_its_old_tags(cache):
    cache.set("a", 1, tags=["t1"])
    cache.set("a", 2)
    assert cache.delete_by_tag("t1") == 0
    assert cache.get("a") == 2


# --- tiercache's extras: delete_pattern -----------------------------------------------

def test_delete_pattern_removes_the_matching_keys_and_returns_how_many(cache):
    cache.set_many({"user:1": 1, "user:2": 2, "user:10": 10, "users": 0,
                    "profile:user:1": 1})
    assert cache.delete_pattern("user:*") == 3
    assert cache.get_many(["user:1", "user:2", "user:10", "users", "profile:user:1"]) == {
        "users": 0, "profile:user:1": 1}


def test_delete_pattern_supports_question_marks_and_character_classes(cache):
    cache.set_many({"item1": 1, "item2": 2, "item3": 3, "item10": 10})
    assert cache.delete_pattern("item[12]") == 2
    assert cache.get_many(["item1", "item2", "item3", "item10"]) == {"item3": 3, "item10": 10}
    assert cache.delete_pattern("item?") == 1
    assert cache.get_many(["item3", "item10"]) == {"item10": 10}


def test_delete_pattern_supports_ranges_and_negated_classes(cache):
    cache.set_many({"v1": 1, "v2": 2, "v3": 3, "v4": 4})
    assert cache.delete_pattern("v[1-2]") == 2
    assert cache.delete_pattern("v[!3]") == 1
    assert cache.get_many(["v1", "v2", "v3", "v4"]) == {"v3": 3}


def test_delete_pattern_backslash_makes_a_glob_character_literal(cache):
    cache.set_many({"a*b": 1, "axb": 2, "a?c": 3, "abc": 4, "[x]": 5, "x": 6})
    assert cache.delete_pattern(r"a\*b") == 1
    assert cache.delete_pattern(r"a\?c") == 1
    assert cache.delete_pattern(r"\[x\]") == 1
    assert cache.get_many(["a*b", "axb", "a?c", "abc", "[x]", "x"]) == {
        "axb": 2, "abc": 4, "x": 6}


def test_delete_pattern_treats_regex_metacharacters_literally(cache):
    cache.set_many({"a.b": 1, "axb": 2, "a+b": 3, "aab": 4, "(x)": 5, "x": 6, "a|b": 7,
                    "a": 8, "b": 9, "$k^": 10, "k": 11})
    assert cache.delete_pattern("a.b") == 1
    assert cache.delete_pattern("a+b") == 1
    assert cache.delete_pattern("(x)") == 1
    assert cache.delete_pattern("a|b") == 1
    assert cache.delete_pattern("$k^") == 1
    assert cache.get_many(["a.b", "axb", "a+b", "aab", "(x)", "x", "a|b", "a", "b",
                           "$k^", "k"]) == {"axb": 2, "aab": 4, "x": 6, "a": 8, "b": 9, "k": 11}


@ignore_key_warnings
def test_delete_pattern_matches_keys_with_spaces_and_unicode(cache):
    cache.set_many({"key with spaces 1": 1, "key without": 2, "clé 清 1": 3, "clé": 4})
    assert cache.delete_pattern("key with *") == 1
    assert cache.delete_pattern("clé 清 *") == 1
    assert cache.get_many(["key with spaces 1", "key without", "clé 清 1", "clé"]) == {
        "key without": 2, "clé": 4}


def test_delete_pattern_applies_to_its_own_prefix_and_version_only():
    cache = caches["default"]
    cache.set("user:1", "v1")
    cache.set("user:1", "v2", version=2)
    caches["prefix"].set("user:1", "prefixed")
    caches["custom_key"].set("user:1", "custom")
    assert cache.delete_pattern("user:*") == 1
    assert cache.get("user:1") is None
    assert cache.get("user:1", version=2) == "v2"
    assert caches["prefix"].get("user:1") == "prefixed"
    assert caches["custom_key"].get("user:1") == "custom"
    assert cache.delete_pattern("user:*", version=2) == 1
    assert cache.get("user:1", version=2) is None
    assert caches["v2"].get("user:1") is None
    assert caches["prefix"].get("user:1") == "prefixed"
    assert caches["custom_key"].delete_pattern("user:*") == 1
    assert caches["custom_key2"].get("user:1") is None
    assert caches["prefix"].get("user:1") == "prefixed"


def test_delete_pattern_does_not_read_the_key_prefix_as_a_glob():
    globbed, tenant_a = caches["glob_prefix"], caches["tenant_a"]  # "tenant?", "tenantA"
    globbed.set("k", "mine")
    tenant_a.set("k", "theirs")
    assert globbed.delete_pattern("k") == 1
    assert globbed.get("k") is None
    assert tenant_a.get("k") == "theirs"


def test_delete_pattern_without_a_match_returns_zero(cache):
    cache.set("a", 1)
    assert cache.delete_pattern("zzz*") == 0
    assert cache.get("a") == 1
