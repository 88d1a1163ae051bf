"""The cache-backed attempt log: a sliding window of at most `limit` attempts per key."""

import threading
import time

import pytest
from django.core.cache import cache

from apps.users.attempt_log import CacheAttemptLog, LogFull


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def test_a_key_takes_limit_attempts_then_is_full_until_its_oldest_expires():
    log = CacheAttemptLog()
    entries = {log.record("k", limit=3, window=60) for _ in range(3)}
    assert len(entries) == 3
    with pytest.raises(LogFull) as full:
        log.record("k", limit=3, window=60)
    assert full.value.retry_after in (59, 60)
    # Other keys are their own.
    assert log.record("other", limit=3, window=60)


def test_forget_frees_one_attempt_and_clear_frees_them_all():
    log = CacheAttemptLog()
    first, *_ = [log.record("k", limit=3, window=60) for _ in range(3)]
    log.forget(first)
    log.record("k", limit=3, window=60)
    with pytest.raises(LogFull):
        log.record("k", limit=3, window=60)
    log.clear("k", limit=3)
    assert len({log.record("k", limit=3, window=60) for _ in range(3)}) == 3


def test_each_attempt_leaves_the_window_on_its_own():
    log = CacheAttemptLog()
    log.record("k", limit=2, window=2)
    time.sleep(1.0)
    log.record("k", limit=2, window=2)
    with pytest.raises(LogFull) as full:
        log.record("k", limit=2, window=2)
    assert full.value.retry_after == 1  # the first leaves in about one second
    time.sleep(1.1)
    log.record("k", limit=2, window=2)  # the first left; the second is still in
    with pytest.raises(LogFull):
        log.record("k", limit=2, window=2)


def test_concurrent_attempts_never_take_more_than_the_limit():
    log = CacheAttemptLog()
    start = threading.Barrier(30)
    recorded: list[str] = []
    refused: list[int] = []

    def attempt() -> None:
        start.wait()
        try:
            recorded.append(log.record("k", limit=5, window=60))
        except LogFull as full:
            refused.append(full.retry_after)

    threads = [threading.Thread(target=attempt) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(recorded)) == len(recorded) == 5
    assert len(refused) == 25
