"""With the daemon stopped, the decorated views and the Django backend still answer
(computed, as without a cache), and the client warns once per interval, not per call."""

import logging

import pytest
from django.test import Client as DjangoClient

import tiercache
from daemon import Daemon
from djangoproject import views
from tiercache import Client, TiercacheUnavailable
from tiercache.django import TiercacheCache


@pytest.fixture
def stopped_daemon(daemon):
    """A second daemon, the decorators' default client pointed at it, then stopped."""
    other = Daemon().start()
    down = Client(other.url, fail_fast=0.2, warn_interval=60, retries=1)
    tiercache.configure(client=down)
    views.renders.clear()
    try:
        yield other, down
    finally:
        tiercache.configure(client=Client(daemon.url))
        other.stop()


def warnings_of(caplog):
    return [r for r in caplog.records
            if r.name == "tiercache" and r.levelno == logging.WARNING]


def test_views_answer_while_the_daemon_is_down_and_warn_once(stopped_daemon, caplog):
    other, down = stopped_daemon
    browser = DjangoClient()
    assert browser.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    assert browser.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.endswith(b"render 1")
    other.stop()
    caplog.set_level(logging.WARNING, logger="tiercache")
    for i in range(20):
        r = browser.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en")
        assert r.status_code == 200 and r.content.endswith(b"render %d" % (i + 2))
        assert browser.get("/api/broken/").status_code == 500  # the view's own answer
    assert len(warnings_of(caplog)) == 1
    assert "unavailable" in warnings_of(caplog)[0].getMessage()
    assert views.dashboard.cache_info().degraded == 20

    # Back: cached again.
    other.start()
    # A new client: the old one's fail-fast pause is not what this part looks at, and a
    # restart may have had to move to new ports.
    tiercache.configure(client=Client(other.url))
    browser.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="de")
    browser.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="de")
    assert views.renders["dashboard"] == 1 + 20 + 1  # de: rendered once, then a hit


def test_the_backend_degrades_to_misses_or_raises_if_configured(daemon, caplog):
    other = Daemon().start()
    params = {"OPTIONS": {"FAIL_FAST": 0, "RETRIES": 0, "WARN_INTERVAL": 60}}
    cache = TiercacheCache(other.url, params)
    strict = TiercacheCache(other.url, {"OPTIONS": {"IGNORE_EXCEPTIONS": False,
                                                    "RETRIES": 0, "FAIL_FAST": 0}})
    cache.set("k", "v")
    assert cache.get("k") == "v"
    other.stop()
    caplog.set_level(logging.WARNING, logger="tiercache")
    assert cache.get("k", "default") == "default"
    assert cache.set("k", "w") is None
    assert cache.add("k", "w") is False
    assert cache.get_many(["k"]) == {}
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.has_key("k") is False
    assert cache.delete("k") is False
    assert len(warnings_of(caplog)) == 1
    with pytest.raises(TiercacheUnavailable):
        strict.get("k")
