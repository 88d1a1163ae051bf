"""Retirements across processes, over a redis-server of the test's own: a writer returns once
every subscriber has applied its retirement; a subscriber that lost Redis trusts nothing.

Each `_Subscribed` below is what one process holds (its subscription thread); several stand for
several processes.
"""

import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from apps.core import invalidation
from tests.live import wait_for

TOPIC = "test-topic"


def count(outcome: str) -> float:
    return REGISTRY.get_sample_value("shop_cache_retirements_total", {"outcome": outcome})


@pytest.fixture
def dropped() -> Iterator[list]:
    """The keys the test topic's handler was told to drop, with the thread that applied each."""
    calls: list = []
    invalidation.register(TOPIC, lambda key: calls.append((key, threading.current_thread())))
    yield calls
    invalidation._handlers.pop(TOPIC, None)


@pytest.fixture
def processes(redis_server, settings) -> Iterator[list]:
    settings.REDIS_URL = redis_server.url
    made: list[invalidation._Subscribed] = []

    def start(count: int) -> list[invalidation._Subscribed]:
        for _ in range(count):
            made.append(invalidation._Subscribed(redis_server.url))
        for process in made:
            wait_for(lambda p=process: p.lease() is not None, timeout=10, what="a lease")
        return made

    yield start
    for process in made:
        process.close()


def test_a_retirement_is_applied_everywhere_before_the_writer_returns(processes, dropped):
    writer, *others = processes(3)
    leases = [process.lease() for process in (writer, *others)]
    dropped.clear()
    writer.retire(TOPIC, "user:7")
    # Applied by each process's own thread (the writer's twice: at once, and on the message).
    assert [key for key, _ in dropped].count("user:7") == 3
    assert all(
        process.lease() != lease for process, lease in zip((writer, *others), leases, strict=True)
    )


def test_a_subscriber_that_never_confirms_costs_the_writer_the_ack_timeout(
    processes, dropped, redis_server, monkeypatch, caplog
):
    monkeypatch.setattr(invalidation, "ACK_TIMEOUT", 0.5)
    [writer] = processes(1)
    silent = redis_server.client().pubsub()
    silent.subscribe(invalidation.channel())
    unconfirmed = count("unconfirmed")
    started = time.monotonic()
    writer.retire(TOPIC, "user:8")
    assert 0.5 <= time.monotonic() - started < 2
    assert count("unconfirmed") == unconfirmed + 1
    assert "1 of 2 processes did not confirm" in caplog.text
    silent.close()


def test_without_redis_no_process_trusts_its_cache_and_it_starts_empty_again(
    processes, dropped, redis_server
):
    [process] = processes(1)
    redis_server.stop()
    wait_for(lambda: process.lease() is None, timeout=invalidation.LEASE + 2, what="lease lost")
    dropped.clear()
    redis_server.start()
    wait_for(lambda: process.lease() is not None, timeout=15, what="lease back")
    # Retirements sent meanwhile were missed: everything cached before is dropped.
    assert (None, process.thread) in dropped


def test_a_partition_ends_the_lease_and_a_writer_that_cannot_publish_outwaits_it(
    processes, dropped, redis_server, caplog
):
    [process] = processes(1)
    redis_server.pause()
    try:
        started = time.monotonic()
        process.retire(TOPIC, "user:9")
        assert time.monotonic() - started >= invalidation.LEASE
        assert process.lease() is None
        assert "Redis unreachable" in caplog.text
    finally:
        redis_server.resume()
    wait_for(lambda: process.lease() is not None, timeout=15, what="lease back")


def test_a_message_that_is_not_a_retirement_is_ignored(processes, dropped, redis_server):
    [process] = processes(1)
    lease = process.lease()
    redis_server.client().publish(invalidation.channel(), b"\xff not json")
    process.retire(TOPIC, "user:10")  # still served afterwards
    assert ("user:10", process.thread) in dropped
    assert process.lease() not in (None, lease)


def test_without_redis_url_retirements_apply_in_this_process_at_once(dropped):
    local = invalidation._Local()
    lease = local.lease()
    local.retire(TOPIC, "user:11")
    assert dropped == [("user:11", threading.current_thread())]
    assert local.lease() not in (None, lease)


def test_every_process_makes_its_own_after_a_fork(settings):
    settings.REDIS_URL = ""
    first = invalidation._process()
    assert invalidation._process() is first
    pid, state = invalidation._state
    invalidation._state = (pid + 1, state)  # as a forked child would find it
    try:
        assert invalidation._process() is not first
    finally:
        invalidation._state = (pid, state)


def test_with_redis_down_a_writer_counts_the_failure_and_outwaits_the_leases(
    processes, dropped, redis_server
):
    [process] = processes(1)
    redis_server.stop()
    failed = count("publish_failed")
    started = time.monotonic()
    process.retire(TOPIC, "user:12")  # logged, not raised: the write has committed
    assert time.monotonic() - started >= invalidation.LEASE
    assert count("publish_failed") == failed + 1
    assert process.lease() is None
