"""The attempt log, in the database: a sliding window of at most `limit` attempts per key."""

import threading
import time

import pytest
from django.db import connection

from apps.users.attempt_log import DatabaseAttemptLog, LogFull
from apps.users.models import LoginFailure

pytestmark = pytest.mark.django_db


def test_a_key_takes_limit_attempts_then_is_full_until_its_oldest_expires():
    log = DatabaseAttemptLog()
    entries = {log.record("k", limit=3, window=60) for _ in range(3)}
    assert len(entries) == 3
    with pytest.raises(LogFull) as full:
        log.record("k", limit=3, window=60)
    assert full.value.retry_after in (59, 60)
    assert LoginFailure.objects.filter(key="k").count() == 3  # the refused one left no row
    # Other keys are their own.
    assert log.record("other", limit=3, window=60)


def test_forget_frees_one_attempt_and_clear_frees_them_all():
    log = DatabaseAttemptLog()
    first, *_ = [log.record("k", limit=3, window=60) for _ in range(3)]
    log.forget(first)
    log.record("k", limit=3, window=60)
    with pytest.raises(LogFull):
        log.record("k", limit=3, window=60)
    log.clear("k", limit=3)
    assert len({log.record("k", limit=3, window=60) for _ in range(3)}) == 3


def test_each_attempt_leaves_the_window_on_its_own():
    log = DatabaseAttemptLog()
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


def test_expired_attempts_are_swept_by_a_later_record():
    log = DatabaseAttemptLog(sweep_every=0)
    log.record("gone", limit=5, window=1)
    log.record("gone-too", limit=5, window=1)
    kept = log.record("kept", limit=5, window=60)
    time.sleep(1.1)
    log.record("next", limit=5, window=60)
    assert sorted(LoginFailure.objects.values_list("key", flat=True)) == ["kept", "next"]
    assert LoginFailure.objects.filter(pk=int(kept)).exists()


def test_the_sweep_runs_at_most_once_per_interval():
    log = DatabaseAttemptLog(sweep_every=3600)
    log.record("first", limit=5, window=1)  # the first record of a process sweeps
    time.sleep(1.1)
    log.record("second", limit=5, window=60)  # within the interval: no sweep
    assert sorted(LoginFailure.objects.values_list("key", flat=True)) == ["first", "second"]


@pytest.mark.postgres  # parallel writers: SQLite's in-memory test database refuses them
@pytest.mark.django_db(transaction=True)
def test_concurrent_attempts_never_take_more_than_the_limit():
    log = DatabaseAttemptLog()
    start = threading.Barrier(30)
    recorded: list[str] = []
    refused: list[int] = []

    def attempt() -> None:
        try:
            start.wait()
            recorded.append(log.record("k", limit=5, window=60))
        except LogFull as full:
            refused.append(full.retry_after)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(recorded)) == len(recorded) == 5
    assert len(refused) == 25
    assert LoginFailure.objects.filter(key="k").count() == 5
