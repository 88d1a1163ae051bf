"""backend.cache.TolerantRedisCache against a real redis-server of the test's own, stopped
(connections refused) or paused (connections hang) for real."""

import logging
import time

import pytest

from tests.conftest import REDIS_RETRY_INTERVAL as RETRY_INTERVAL


def every_operation(cache) -> dict:
    """Each operation of Django's cache API, and what it answered."""
    answers = {
        "get": cache.get("a", "default"),
        "get_many": cache.get_many(["a", "b"]),
        "has_key": cache.has_key("a"),
        "add": cache.add("a", 1),
        "set": cache.set("a", 1),
        "set_many": cache.set_many({"a": 1, "b": 2}),
        "touch": cache.touch("a"),
        "delete": cache.delete("a"),
        "delete_many": cache.delete_many(["a", "b"]),
        "get_or_set": cache.get_or_set("a", "computed"),
        "clear": cache.clear(),
    }
    try:
        answers["incr"] = cache.incr("n")
    except ValueError:
        answers["incr"] = "ValueError"
    return answers


MISSES = {
    "get": "default",
    "get_many": {},
    "has_key": False,
    "add": False,
    "set": None,
    "set_many": ["a", "b"],
    "touch": False,
    "delete": False,
    "delete_many": None,
    "get_or_set": "computed",
    "clear": False,
    "incr": "ValueError",
}


def test_with_redis_up_it_is_djangos_redis_cache(redis_cache, redis_server):
    redis_cache.set("a", {"x": 1})
    assert redis_cache.get("a") == {"x": 1}
    assert redis_server.client().exists("t:1:a") == 1
    redis_cache.set("n", 1)
    assert redis_cache.incr("n") == 2


def test_one_redis_client_serves_every_operation(redis_cache, redis_server):
    client = redis_cache._cache.get_client(write=True)
    assert redis_cache._cache.get_client("k", write=True) is client
    redis_cache.set("k", 1)
    assert redis_cache.get("k") == 1
    assert redis_cache._cache.get_client(write=False) is client  # one server: one pool


def test_with_redis_stopped_every_operation_is_a_miss_in_milliseconds(redis_cache, redis_server):
    redis_server.stop()
    started = time.monotonic()
    assert every_operation(redis_cache) == MISSES
    assert time.monotonic() - started < 0.2
    # Left alone for the retry interval: nothing is even tried.
    started = time.monotonic()
    for _ in range(1000):
        assert redis_cache.get("a") is None
    assert time.monotonic() - started < 0.2


def test_with_redis_paused_one_short_timeout_then_misses_at_once(redis_cache, redis_server):
    redis_cache.set("a", "cached")
    redis_server.pause()
    started = time.monotonic()
    assert redis_cache.get("a") is None
    first = time.monotonic() - started
    assert first < 1.2  # the read timeout, and one retry on a fresh connection
    started = time.monotonic()
    assert every_operation(redis_cache) == MISSES
    assert time.monotonic() - started < 0.05


def test_the_outage_is_logged_once_per_interval_and_its_end_once(redis_cache, redis_server, caplog):
    caplog.set_level(logging.INFO, logger="backend.cache")
    redis_server.stop()
    for _ in range(200):
        redis_cache.get("a")
    assert len(caplog.records) == 1
    assert caplog.records[0].levelname == "WARNING"
    assert f"Redis cache 127.0.0.1:{redis_server.port}/0 unreachable" in caplog.messages[0]

    time.sleep(RETRY_INTERVAL + 0.1)
    for _ in range(200):
        redis_cache.get("a")
    assert len(caplog.records) == 2  # tried again once, still down: a second warning

    redis_server.start()
    time.sleep(RETRY_INTERVAL + 0.1)
    redis_cache.set("a", "back")
    assert redis_cache.get("a") == "back"
    assert "reachable again after" in caplog.messages[-1]
    assert len(caplog.records) == 3


def test_a_removal_that_failed_is_done_by_the_next_operation(redis_cache, redis_server):
    redis_cache.set("version", 1)
    redis_cache.set("page", "old")
    redis_server.pause()
    with pytest.raises(ValueError):
        redis_cache.incr("version")  # a write that retires a version: it did not reach Redis
    redis_cache.delete("page")
    redis_server.resume()
    time.sleep(RETRY_INTERVAL + 0.1)
    # Redis kept the old values; the process deletes them before anything else.
    assert redis_cache.get("version") is None
    assert redis_cache.get("page") is None


def test_a_removal_that_failed_is_done_in_the_background_too(redis_cache, redis_server):
    """Another process would otherwise read the old value until this one used the cache."""
    redis_cache.set("version", 1)
    redis_server.pause()
    with pytest.raises(ValueError):
        redis_cache.incr("version")
    redis_server.resume()
    raw = redis_server.client()
    assert raw.get("t:1:version") == b"1"  # nothing was lost or changed while paused
    deadline = time.monotonic() + 3 * RETRY_INTERVAL + 1
    while raw.exists("t:1:version") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not raw.exists("t:1:version")


def test_a_set_that_failed_is_simply_not_written(redis_cache, redis_server):
    redis_server.stop()
    redis_cache.set("a", "lost")
    redis_server.start()
    time.sleep(RETRY_INTERVAL + 0.1)
    assert redis_cache.get("a") is None


@pytest.mark.django_db
def test_healthz_says_the_cache_is_down_while_it_is(redis_cache, redis_server, client, settings):
    settings.CELERY_BROKER_URL = settings.IN_PROCESS_BROKER
    assert client.get("/healthz").json()["cache"] == "ok"

    redis_server.stop()
    down = client.get("/healthz")
    assert down.status_code == 503
    assert down.json() == {"status": "error", "database": "ok", "cache": "error", "broker": "ok"}

    redis_server.start()
    assert client.get("/healthz").status_code == 200  # not held back by the retry interval
