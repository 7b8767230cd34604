"""The seed's decorators on the test project's views (tests/djangoproject/views.py),
through Django's test client, against the session's tiercached."""

import threading
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client as DjangoClient

from djangoproject import views
from tiercache import Client, cached_method, cached_view, smart_cache


@pytest.fixture(autouse=True)
def fresh(client):
    views.renders.clear()
    views.DataService.calls.clear()
    User.objects.all().delete()
    yield


def test_cached_view_renders_once_per_language():
    browser = DjangoClient()
    hits = views.dashboard.cache_info().hits
    for _ in range(3):
        en = browser.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en")
        de = browser.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="de")
    assert en.status_code == 200 and en.content == b"dashboard in en, render 1"
    assert de.content == b"dashboard in de, render 2"
    assert en["Content-Type"] == "text/plain; charset=utf-8"  # headers kept
    assert views.renders["dashboard"] == 2
    assert views.dashboard.cache_info().hits == hits + 4


def test_cached_view_entries_carry_their_tags(client):
    browser = DjangoClient()
    browser.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en")
    assert client.invalidate(tags=["stats"])["invalidated"] == 1
    browser.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en")
    assert views.renders["dashboard"] == 2


def test_cached_api_keeps_users_apart():
    ada = User.objects.create_user("ada", password="x")
    bob = User.objects.create_user("bob", password="x")
    answers = {}
    for user in (ada, bob, None, ada, bob, None):
        browser = DjangoClient()
        if user is not None:
            browser.force_login(user)
        answers.setdefault(user.username if user else "anonymous", []).append(
            browser.get("/api/me/?page=1").json())
    for name, seen in answers.items():
        assert seen[0]["user"] == name and seen[0] == seen[1], name  # second from cache
    assert views.renders["api_me"] == 3
    # Another query is another entry (vary_on_params).
    DjangoClient().get("/api/me/?page=2")
    assert views.renders["api_me"] == 4


def test_cached_api_does_not_cache_a_500_unless_told_to():
    browser = DjangoClient()
    for _ in range(3):
        assert browser.get("/api/broken/").status_code == 500
        assert browser.get("/api/broken-cached/").status_code == 500
    assert views.renders["api_broken"] == 3
    assert views.renders["api_broken_cached"] == 1


def test_conditional_cache_skips_staff():
    staff = User.objects.create_user("root", password="x", is_staff=True)
    visitor = DjangoClient()
    admin = DjangoClient()
    admin.force_login(staff)
    for _ in range(3):
        assert visitor.get("/public/").content == b"public, render 1"
    for i in range(3):
        admin.get("/public/")
    assert views.renders["public"] == 4


def test_concurrent_misses_in_one_process_compute_once(client):
    computed = []
    gate = threading.Event()

    @cached_method(timeout=60, key_func=lambda self, n: f"slow:{n}")
    def slow(self, n):
        gate.wait(5)
        computed.append(n)
        return n * 2

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow(None, 21)))
               for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # every thread is waiting on the one computing (or reads it after)
    gate.set()
    for t in threads:
        t.join()
    assert computed == [21] and results == [42] * 8


def test_a_lease_makes_other_processes_wait_for_the_value(client, daemon):
    # Two clients stand for two processes: flights are per client, so only the
    # server-side lease keeps the second from computing while the first does.
    key = "leased:1"
    computed = []
    holder_started = threading.Event()

    def make(c, delay):
        @cached_method(timeout=60, key_func=lambda self: key, lease=5, client=c)
        def compute(self):
            holder_started.set()
            time.sleep(delay)
            computed.append(delay)
            return "value"
        return compute

    first = make(Client(daemon.url), 0.5)
    second = make(Client(daemon.url), 0)
    t = threading.Thread(target=lambda: first(None))
    t.start()
    holder_started.wait(5)
    assert client.get("lease:" + key) == b"1"  # held while the first computes
    assert second(None) == "value"
    t.join()
    assert computed == [0.5]
    assert client.get("lease:" + key) is None  # released
    assert second.cache_info().hits == 1 and second.cache_info().misses == 0


def test_a_lease_is_released_when_the_computation_fails(client):
    @cached_method(timeout=60, key_func=lambda self: "failing", lease=30)
    def failing(self):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing(None)
    assert client.get("lease:failing") is None


def test_a_response_not_to_be_stored_is_never_shared_with_other_requests(client):
    from django.http import HttpResponse
    from django.test import RequestFactory
    gate = threading.Event()
    made = []

    @cached_view(timeout=60, key_prefix="cookie")
    def with_cookie(request):
        gate.wait(5)
        response = HttpResponse("personal")
        response.set_cookie("session", f"s{len(made)}")
        made.append(response)
        return response

    answers = []
    threads = [threading.Thread(target=lambda: answers.append(
        with_cookie(RequestFactory().get("/cookie/")))) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join()
    # Each request got a response of its own making: none was handed another's cookie.
    assert len(made) == 4 and sorted(map(id, answers)) == sorted(map(id, made))
    assert client.invalidate(pattern="^cookie:")["invalidated"] == 0  # nor stored


def test_a_cached_call_inside_itself_does_not_wait_on_itself(client):
    @cached_method(timeout=60, key_func=lambda self, n: "same-key")
    def nested(self, n):
        return n if n == 0 else nested(self, n - 1) + 1

    # The inner calls compute instead of waiting on themselves, however deep.
    assert nested(None, 3) == 3


def test_cached_method_uses_the_seed_key_and_tags(client):
    service = views.DataService()
    assert service.get_user_data(7) == {"id": 7, "computed": 1}
    assert service.get_user_data(7) == {"id": 7, "computed": 1}
    assert client.get("user_data:7") == {"id": 7, "computed": 1}
    client.invalidate(tags=["user:7"])
    assert service.get_user_data(7) == {"id": 7, "computed": 2}


def test_smart_cache_stores_an_adaptive_entry_with_its_bounds(client):
    calls = []

    @smart_cache(base_timeout=30, min_timeout=5, max_timeout=40,
                 key_func=lambda a, b: f"calc:{a}:{b}")
    def calculation(a, b):
        calls.append((a, b))
        return a + b

    assert calculation(1, 2) == 3
    assert client.get_entry("calc:1:2").ttl == 5  # the first read: the entry's floor
    for _ in range(100):
        assert calculation(1, 2) == 3
    assert client.get_entry("calc:1:2").ttl == 40  # read hot: the entry's ceiling
    assert calls == [(1, 2)]
    info = calculation.cache_info()
    assert (info.hits, info.misses) == (100, 1)
    with pytest.raises(ValueError):
        smart_cache(min_timeout=100, max_timeout=10)
