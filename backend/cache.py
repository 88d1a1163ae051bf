"""The Redis cache, as an accelerator: while Redis is unreachable, the cache misses and every
caller reads PostgreSQL instead.

`TolerantRedisCache` is Django's RedisCache whose operations turn a Redis connection error or
timeout into a miss (`get` answers the default, `add` False, `incr` ValueError as for a missing
key) and a failed write into one that was not written; nothing raises. After a failure Redis is
left alone for `RETRY_INTERVAL` seconds (every operation a miss at once), then tried again, so
a dead Redis costs one short timeout per interval and process, not one per operation; a
warning is logged once per interval, and a line when Redis answers again.

A failed write leaves Redis as it was, which is harmless for a `set` here (persisted documents
are keyed by their hash, product lists by the catalog version) but not for a removal: a
`delete` or `incr` that did not reach Redis (a catalog version retired by a product write)
would leave a value that is no longer true once Redis is back. Those keys are remembered and
deleted as soon as Redis answers, by this process's next operation or a background retry
every `RETRY_INTERVAL` seconds, whichever comes first.

`check()` is the health check's: it goes to Redis itself, past all of this, and raises.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What "Redis is unreachable" looks like (BusyLoadingError, a restarting Redis reading its
# data, is a ConnectionError).
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError)
# Keys remembered for deletion at most; past that, further ones are logged and dropped.
MAX_UNSETTLED_KEYS = 10_000
_FAILED = object()


class ClientPerPool(RedisCacheClient):
    """Django's client, but one `redis.Redis` per connection pool: Django's builds a new one
    for every operation, and each fills a table of some 170 response callbacks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class TolerantRedisCache(RedisCache):
    """Django's RedisCache, whose unreachable Redis is a miss (see the module)."""

    def __init__(self, server, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        retry_interval = float(options.pop("RETRY_INTERVAL", 5.0))
        # One immediate retry on a fresh connection: a pooled one that a Redis restart closed
        # is then not mistaken for an outage.
        options.setdefault("retry", Retry(NoBackoff(), 1))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = ClientPerPool
        # Django makes one backend per thread; what is known of the server is the process's.
        self.outage = Outage.of(str(server), retry_interval)

    # The health check: Redis itself.

    def check(self) -> None:
        """Stores, reads back and deletes a key in Redis; raises whatever goes wrong."""
        key = self.make_and_validate_key(f"healthz:{uuid.uuid4().hex}")
        self._cache.set(key, "ok", 10)
        if self._cache.get(key, None) != "ok":
            raise RuntimeError("Redis did not return what was stored")
        self._cache.delete(key)

    # Django's cache API, each operation through `_attempt`.

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._attempt(lambda: RedisCache.add(self, key, value, timeout, version), False)

    def get(self, key, default=None, version=None) -> Any:
        return self._attempt(lambda: RedisCache.get(self, key, default, version), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> None:
        # A timeout of 0 deletes (Django's rule): that removal must reach Redis eventually.
        removes = [key] if self.get_backend_timeout(timeout) == 0 else []
        self._attempt(
            lambda: RedisCache.set(self, key, value, timeout, version),
            None,
            removes=self._made(removes, version),
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        return self._attempt(lambda: RedisCache.touch(self, key, timeout, version), False)

    def delete(self, key, version=None) -> bool:
        return self._attempt(
            lambda: RedisCache.delete(self, key, version),
            False,
            removes=self._made([key], version),
        )

    def get_many(self, keys, version=None) -> dict[str, Any]:
        keys = list(keys)
        return self._attempt(lambda: RedisCache.get_many(self, keys, version), {})

    def has_key(self, key, version=None) -> bool:
        return self._attempt(lambda: RedisCache.has_key(self, key, version), False)

    def incr(self, key, delta=1, version=None) -> int:
        result = self._attempt(
            lambda: RedisCache.incr(self, key, delta, version),
            _FAILED,
            removes=self._made([key], version),
        )
        if result is _FAILED:
            raise ValueError(f"Key '{key}' not found (Redis unreachable).")
        return result

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None) -> list[str]:
        return self._attempt(lambda: RedisCache.set_many(self, data, timeout, version), list(data))

    def delete_many(self, keys, version=None) -> None:
        keys = list(keys)
        self._attempt(
            lambda: RedisCache.delete_many(self, keys, version),
            None,
            removes=self._made(keys, version),
        )

    def clear(self) -> bool:
        return self._attempt(lambda: RedisCache.clear(self), False)

    # The machinery.

    def _made(self, keys: Iterable[str], version) -> list[str]:
        return [self.make_and_validate_key(key, version=version) for key in keys]

    def _attempt(
        self, operation: Callable[[], T], fallback: T, *, removes: list[str] | None = None
    ) -> T:
        """`operation()` against Redis, or `fallback` while Redis is unreachable; `removes` are
        the made keys whose removal must reach Redis eventually, should this one not."""
        outage = self.outage
        if outage.skipping():
            outage.remember(removes, self._settle)
            return fallback
        try:
            self._settle()
            result = operation()
        except OUTAGE_ERRORS as error:
            outage.failed(error)
            outage.remember(removes, self._settle)
            return fallback
        outage.answered()
        return result

    def _settle(self) -> None:
        """Deletes the keys whose removal failed; raises when Redis is unreachable."""
        keys = self.outage.unsettled()
        if keys:
            self._cache.delete_many(keys)
            self.outage.settled(keys)


class Outage:
    """What a process knows of one Redis server's outage, shared by its threads' backends:
    until when to leave it alone, since when it is down, when that was last logged, and the
    keys whose removal has not reached it yet (deleted by a background retry, or by the next
    operation, whichever comes first)."""

    _of: dict[str, Outage] = {}
    _of_lock = threading.Lock()

    @classmethod
    def of(cls, server: str, retry_interval: float) -> Outage:
        with cls._of_lock:
            outage = cls._of.get(server)
            if outage is None or outage.retry_interval != retry_interval:
                outage = cls._of[server] = cls(server, retry_interval)
            return outage

    def __init__(self, server: str, retry_interval: float) -> None:
        # host:port/db, for the log: never the URL's password.
        url = urlsplit(server.split(",")[0])
        self.name = f"{url.hostname}:{url.port or 6379}{url.path or ''}"
        self.retry_interval = retry_interval
        self._lock = threading.Lock()
        self._skip_until = 0.0  # time.monotonic(): Redis is left alone until then
        self._down_since: float | None = None
        self._warned_at = float("-inf")
        self._unsettled: set[str] = set()
        self._repairer: threading.Timer | None = None

    def reset(self) -> None:
        """Forgets the outage and the removals still to do (a Redis known to be empty; tests)."""
        with self._lock:
            self._skip_until = 0.0
            self._down_since = None
            self._warned_at = float("-inf")
            self._unsettled.clear()
            if self._repairer is not None:
                self._repairer.cancel()
                self._repairer = None

    def skipping(self) -> bool:
        return time.monotonic() < self._skip_until

    def failed(self, error: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._skip_until = now + self.retry_interval
            if self._down_since is None:
                self._down_since = now
            down_for = now - self._down_since
            warn = now - self._warned_at >= self.retry_interval
            if warn:
                self._warned_at = now
        if warn:  # once per interval, whatever the number of operations and threads
            logger.warning(
                "Redis cache %s unreachable for %.1f s (%s: %s): answering misses, next try in "
                "%s s",
                self.name,
                down_for,
                type(error).__name__,
                error,
                self.retry_interval,
            )

    def answered(self) -> None:
        if self._down_since is None:
            return
        with self._lock:
            down_since, self._down_since = self._down_since, None
            self._warned_at = float("-inf")
        if down_since is not None:
            logger.warning(
                "Redis cache %s reachable again after %.1f s",
                self.name,
                time.monotonic() - down_since,
            )

    def unsettled(self) -> list[str]:
        if not self._unsettled:
            return []
        with self._lock:
            return list(self._unsettled)

    def settled(self, keys: list[str]) -> None:
        with self._lock:
            self._unsettled.difference_update(keys)
        logger.warning("Redis cache %s: %d removals that had failed are done", self.name, len(keys))

    def remember(self, keys: list[str] | None, settle: Callable[[], None]) -> None:
        """Keeps keys whose removal did not reach Redis; `settle` is retried in the background
        until it succeeds."""
        if not keys:
            return
        with self._lock:
            room = max(0, MAX_UNSETTLED_KEYS - len(self._unsettled))
            self._unsettled.update(keys[:room])
            dropped = keys[room:]
        if dropped:
            logger.error(
                "Redis cache %s: %d failed removals not remembered (%d already are): %s",
                self.name,
                len(dropped),
                MAX_UNSETTLED_KEYS,
                dropped[:10],
            )
        self._schedule_repair(settle)

    def _schedule_repair(self, settle: Callable[[], None]) -> None:
        with self._lock:
            # A Timer does not survive a fork: a child process starts its own.
            if self._repairer is not None and self._repairer.is_alive():
                return
            self._repairer = threading.Timer(self.retry_interval, self._repair, [settle])
            self._repairer.daemon = True
            self._repairer.start()

    def _repair(self, settle: Callable[[], None]) -> None:
        with self._lock:
            self._repairer = None
        if not self.skipping():
            try:
                settle()
            except OUTAGE_ERRORS as error:
                self.failed(error)
            else:
                self.answered()
        if self._unsettled:
            self._schedule_repair(settle)
