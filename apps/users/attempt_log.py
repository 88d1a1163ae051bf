"""Where login attempts are remembered: a sliding-window log per key, in the database.

`login_limits` asks only three things of a log: record an attempt under a key unless
`limit` of them are still within the window, forget one recorded attempt, forget every
attempt of a key. `attempt_log` below is the one instance the rule uses.

The log is a table (`LoginFailure`), not the cache: the limits hold while Redis is down, and
a Redis restart or eviction forgets no attempt.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta
from typing import Protocol

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.users.models import LoginFailure

logger = logging.getLogger(__name__)


class LogFull(Exception):
    """`limit` attempts of the key are still within the window."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class AttemptLog(Protocol):
    def record(self, key: str, *, limit: int, window: int) -> str:
        """Records one attempt and returns its handle; raises LogFull, recording nothing."""

    def forget(self, entry: str) -> None:
        """Drops one recorded attempt (by its handle)."""

    def clear(self, key: str, *, limit: int) -> None:
        """Drops every attempt recorded under `key`."""


def _lock(key: str) -> None:
    """Makes the transactions that record under `key` wait for each other, until they end.

    PostgreSQL: a transaction-level advisory lock on a 64-bit hash of the key (other keys
    never wait, short of a collision, which only makes two keys take turns). SQLite
    (development): nothing to do, as the insert that follows takes the database's write lock,
    which every other writing transaction waits for.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"login-attempts:{key}"]
            )


class DatabaseAttemptLog:
    """The attempts of a key as rows, each `window` seconds long.

    Recording is one transaction per attempt: take the key's lock, insert the attempt, count
    the key's other attempts still within the window; with `limit` of them, roll back and
    raise LogFull, whose `retry_after` is when the oldest leaves. Attempts in parallel on one
    key queue on the lock, so none gets past the limit. Expired rows are deleted by whoever
    records next once `sweep_every` seconds have passed in this process.
    """

    def __init__(self, *, sweep_every: float = 60.0) -> None:
        self.sweep_every = sweep_every
        self._next_sweep = 0.0

    def record(self, key: str, *, limit: int, window: int) -> str:
        now = timezone.now()
        self._sweep(now)
        with transaction.atomic():
            _lock(key)
            attempt = LoginFailure.objects.create(
                key=key, expires_at=now + timedelta(seconds=window)
            )
            within = list(
                LoginFailure.objects.filter(key=key, expires_at__gt=now)
                .exclude(pk=attempt.pk)
                .order_by("expires_at")
                .values_list("expires_at", flat=True)[:limit]
            )
            if len(within) >= limit:
                # Raised inside the transaction: the attempt just inserted is rolled back.
                raise LogFull(retry_after=max(1, math.ceil((within[0] - now).total_seconds())))
        return str(attempt.pk)

    def forget(self, entry: str) -> None:
        LoginFailure.objects.filter(pk=int(entry)).delete()

    def clear(self, key: str, *, limit: int) -> None:
        LoginFailure.objects.filter(key=key).delete()

    def _sweep(self, now) -> None:
        if time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + self.sweep_every
        try:
            with transaction.atomic():
                LoginFailure.objects.filter(expires_at__lte=now).delete()
        except DatabaseError:
            # Only housekeeping: expired rows are never counted; the next sweep takes them.
            logger.warning("Could not delete expired login attempts", exc_info=True)


attempt_log: AttemptLog = DatabaseAttemptLog()
