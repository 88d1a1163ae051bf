"""Where login attempts are remembered: a sliding-window log per key.

`login_limits` asks only three things of a log: record an attempt under a key unless
`limit` of them are still within the window, forget one recorded attempt, forget every
attempt of a key. `attempt_log` below is the one instance the rule uses; a log kept
elsewhere (a database table, say) replaces it there.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

from django.core.cache import caches


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


class CacheAttemptLog:
    """The attempts of a key as `limit` cache entries ("slots"), each expiring `window`
    seconds after the attempt that took it.

    An attempt takes a free slot with `cache.add`, which is atomic (Redis `SET NX`), so
    concurrent attempts never share one and no read-modify-write can lose a count. When every
    slot is taken the key is full until its oldest slot expires; each slot holds its own
    expiry time, which is the answer to "retry after how long".
    """

    def __init__(self, *, alias: str = "default", prefix: str = "login-attempts") -> None:
        self.alias = alias
        self.prefix = prefix

    @property
    def _cache(self):
        return caches[self.alias]

    def _slots(self, key: str, limit: int) -> list[str]:
        return [f"{self.prefix}:{key}:{index}" for index in range(limit)]

    def record(self, key: str, *, limit: int, window: int) -> str:
        slots = self._slots(key, limit)
        taken = self._cache.get_many(slots)
        for slot in slots:
            # Another attempt may take a free slot first: `add` then fails and we try the next.
            if slot not in taken and self._cache.add(slot, time.time() + window, timeout=window):
                return slot
        expiries = self._cache.get_many(slots).values()
        oldest = min(expiries, default=time.time())
        raise LogFull(retry_after=max(1, math.ceil(oldest - time.time())))

    def forget(self, entry: str) -> None:
        self._cache.delete(entry)

    def clear(self, key: str, *, limit: int) -> None:
        self._cache.delete_many(self._slots(key, limit))


attempt_log: AttemptLog = CacheAttemptLog()
