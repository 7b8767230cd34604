"""cache_manager with the seed's calls, against the session's tiercached (the default
client comes from the Django settings' TIERCACHE)."""

import pytest

from tiercache import NotFound, cache_manager


def test_smart_invalidation_combines_the_context(client):
    client.set("user:123", "u", tags=["user"])
    client.set("user:123:profile", "p")
    client.set("profile:9", "q", tags=["profile"])
    client.set("keep", "k")
    result = cache_manager.invalidate("smart", context={
        "tags": ["user", "profile"], "pattern": "^user:.*", "model": "auth.User",
        "instance_id": 123})
    assert result["models"][0] == "auth.User"
    assert client.get_many(["user:123", "user:123:profile", "profile:9", "keep"]) == {
        "keep": "k"}


def test_the_other_invalidation_types(client):
    client.set("a", 1, tags=["data:1"])
    client.set("b", 2)
    client.set("c:1", 3)
    assert cache_manager.invalidate("tag", tags=["data:1"])["invalidated"] == 1
    assert cache_manager.invalidate("key", keys=["b"])["invalidated"] == 1
    assert cache_manager.invalidate("pattern", pattern="^c:")["invalidated"] == 1
    with pytest.raises(ValueError):
        cache_manager.invalidate("tag", pattern="x")
    with pytest.raises(ValueError):
        cache_manager.invalidate("everything")
    with pytest.raises(NotFound):
        cache_manager.invalidate("model", model="no.Such", instance_id=1)


def test_scheduled_invalidation_returns_a_job(client):
    client.set("t", "x", tags=["temporary_data"])
    job_id = cache_manager.schedule_invalidation(
        delay_seconds=300, invalidation_type="tag", tags=["temporary_data"])
    assert [j["id"] for j in cache_manager.list_jobs()] == [job_id]
    assert cache_manager.cancel_job(job_id)
    job_id = cache_manager.schedule_invalidation(0, "tag", tags=["temporary_data"])
    import time
    deadline = time.monotonic() + 5
    while client.get("t") is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert client.get("t") is None


def test_warm_cache_with_api_data_and_entries(client):
    result = {"rows": [1, 2]}
    assert cache_manager.warm_cache("api", endpoint_configs=[
        {"endpoint": "data/7", "data_func": lambda: result, "tags": ["data:7"]}]) == {
        "loaded": 1}
    assert client.get("api:data/7") == result
    assert cache_manager.warm_cache("entries", entries=[{"key": "e", "value": "v"}]) == {
        "loaded": 1}
    with pytest.raises(NotFound):
        cache_manager.warm_cache("source", name="nothing_configured")
    with pytest.raises(ValueError):
        cache_manager.warm_cache("query", model="auth.User")


def test_cache_status_reports_health_and_hit_rate(client):
    client.set("s", 1)
    client.get("s")
    status = cache_manager.get_cache_status()
    assert status["health"] == {"L1": "up"}
    assert 0 < status["hit_rate"] <= 1
    assert status["config"]["l1"]["ttl_factor"] == 1.0


def test_start_warming_schedule_runs_every_configured_source():
    from daemon import Daemon
    from tiercache import CacheManager, Client
    other = Daemon("warming:\n  sources:\n    - {name: hot_keys, type: hot, top: 10, "
                   "interval: 1h, on_start: false}\n").start()
    try:
        manager = CacheManager(Client(other.url))
        assert manager.start_warming_schedule() == ["hot_keys"]
        import time
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            warming = manager.get_cache_status()["warming"]
            if warming[0]["runs"] == 1:
                break
            time.sleep(0.02)
        assert warming[0]["name"] == "hot_keys" and warming[0]["runs"] == 1
        assert warming[0]["next_run_unix_ms"] > 0  # and on its own schedule after that
    finally:
        other.stop()
