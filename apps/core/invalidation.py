"""Process-local caches that a write in any process retires before the write answers.

A web process can keep what every request would otherwise fetch (a Bearer token's check, one
SQL statement per request) in its own memory, if a write elsewhere reaches it before the
writer's response does: the contract has a deactivation or an ended session take effect on the
next request. So each process holds one Redis subscription, in a thread of its own; `retire`
runs after the write commits, publishes, and returns once every subscribed process has applied
it (each acknowledges on a list of the message's own), or after ACK_TIMEOUT.

A process trusts its caches only under a lease: its subscription is up and Redis answered it
within LEASE seconds. Without one (Redis down, the subscription lost, a partition), `lease()`
is None and every read goes to the database, as it would with no cache; when the subscription
is back, the caches start empty, since retirements may have been missed meanwhile. Without
REDIS_URL (development, one process) retirements apply in-process at once.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import transaction

from apps.core import metrics

logger = logging.getLogger(__name__)

# Seconds a process trusts its caches after Redis last answered its subscription; it pings
# every PING_INTERVAL.
LEASE = 2.0
PING_INTERVAL = 0.5
# Seconds a writer waits for every process to confirm a retirement.
ACK_TIMEOUT = 2.0

# What happened to retirements (apps/core/metrics.py).
outcomes = {
    outcome: metrics.CACHE_RETIREMENTS.labels(outcome=outcome)
    for outcome in metrics.RETIREMENT_OUTCOMES
}

_handlers: dict[str, Callable[[str | None], None]] = {}


def register(topic: str, drop: Callable[[str | None], None]) -> None:
    """`drop(key)` forgets what this process cached for `key` of `topic` (None: everything)."""
    _handlers[topic] = drop


def lease() -> int | None:
    """The caches' generation while they may be trusted, else None. A value cached from a read
    that began under generation `g` may be kept only if `lease()` is still `g` after it: no
    retirement was applied in between."""
    return _process().lease()


def retire(topic: str, key: str) -> None:
    """This process forgets `key` of `topic` now; every process does once the current
    transaction commits (at once outside one), before the commit's callbacks return."""
    process = _process()
    process.apply(topic, key)
    transaction.on_commit(lambda: process.retire(topic, key), robust=True)


def reset() -> None:
    """Empties this process's caches (a test's start)."""
    _process().drop_all()


def channel() -> str:
    return f"{settings.CACHE_KEY_PREFIX}:invalidate"


class _Local:
    """One process, no Redis: retirements apply here at once."""

    def __init__(self) -> None:
        self.generation = itertools.count(1)
        self.current = next(self.generation)

    def lease(self) -> int | None:
        return self.current

    def apply(self, topic: str, key: str | None) -> None:
        self.current = next(self.generation)
        handler = _handlers.get(topic)
        if handler is not None:
            handler(key)
        outcomes["applied"].inc()

    def drop_all(self) -> None:
        self.current = next(self.generation)
        for handler in list(_handlers.values()):
            handler(None)

    def retire(self, topic: str, key: str) -> None:
        outcomes["retired"].inc()
        self.apply(topic, key)


class _Subscribed(_Local):
    """Many processes sharing REDIS_URL: a subscription thread applies and acknowledges."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.heard_at = float("-inf")  # when Redis last answered the subscription
        self.subscribed = False
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._listen, name="invalidation", daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Ends the subscription (the process keeps it for life; a test does not)."""
        self.stopped.set()
        self.thread.join(timeout=LEASE + 1)
        self.subscribed = False

    def lease(self) -> int | None:
        if self.subscribed and time.monotonic() - self.heard_at < LEASE:
            return self.current
        return None

    def apply(self, topic: str, key: str | None) -> None:
        with self.lock:
            super().apply(topic, key)

    def drop_all(self) -> None:
        with self.lock:
            super().drop_all()

    def retire(self, topic: str, key: str) -> None:
        started = time.monotonic()
        ack = f"{channel()}:ack:{uuid.uuid4().hex}"
        message = json.dumps({"topic": topic, "key": key, "ack": ack})
        client = redis.Redis.from_url(
            self.url,
            socket_connect_timeout=settings.EVENTS_SOCKET_TIMEOUT,
            socket_timeout=ACK_TIMEOUT + 1,
        )
        try:
            receivers = client.publish(channel(), message)
            outcomes["retired"].inc()
            deadline = time.monotonic() + ACK_TIMEOUT
            confirmed = 0
            while confirmed < receivers and (left := deadline - time.monotonic()) > 0:
                if client.blpop([ack], timeout=left) is None:
                    break
                confirmed += 1
            client.delete(ack)
        except redis.RedisError as error:
            # Processes that cannot reach Redis either lose their lease within LEASE: waiting
            # that long before answering leaves none of them trusting its cache. One that still
            # reaches it keeps its cache until the entry's own age runs out (the cache's owner
            # bounds it).
            outcomes["publish_failed"].inc()
            logger.error("retiring %s:%s: Redis unreachable (%s)", topic, key, error)
            time.sleep(max(0.0, started + LEASE - time.monotonic()))
            return
        finally:
            client.close()
        if confirmed < receivers:
            outcomes["unconfirmed"].inc(receivers - confirmed)
            logger.warning(
                "retiring %s:%s: %d of %d processes did not confirm within %.1f s",
                topic,
                key,
                receivers - confirmed,
                receivers,
                ACK_TIMEOUT,
            )

    def _listen(self) -> None:
        backoff = 0.1
        while not self.stopped.is_set():
            client = redis.Redis.from_url(
                self.url,
                socket_connect_timeout=settings.EVENTS_SOCKET_TIMEOUT,
                socket_timeout=LEASE,
                socket_keepalive=True,
            )
            try:
                with client.pubsub() as pubsub:
                    pubsub.subscribe(channel())
                    pinged = 0.0
                    while not self.stopped.is_set():
                        now = time.monotonic()
                        if now - pinged >= PING_INTERVAL:
                            pubsub.ping()
                            pinged = now
                        message = pubsub.get_message(timeout=PING_INTERVAL)
                        if message is None:
                            continue
                        if message["type"] == "subscribe" and not self.subscribed:
                            # Retirements may have been missed while unsubscribed.
                            self.drop_all()
                            self.subscribed = True
                            backoff = 0.1
                        elif message["type"] == "message":
                            self._applied(client, message["data"])
                        self.heard_at = time.monotonic()
            except (redis.RedisError, OSError) as error:
                if self.subscribed:
                    outcomes["lease_lost"].inc()
                    logger.warning("invalidation: subscription lost (%s)", error)
                self.subscribed = False
                self.stopped.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                client.close()

    def _applied(self, client: redis.Redis, data: bytes) -> None:
        try:
            message = json.loads(data)
            topic, key, ack = message["topic"], message["key"], message["ack"]
        except (ValueError, TypeError, KeyError):
            logger.warning("invalidation: not a retirement: %r", data[:200])
            return
        self.apply(topic, key)
        client.rpush(ack, os.getpid())
        client.expire(ack, int(ACK_TIMEOUT) + 5)


_state: tuple[int, _Local] | None = None
_state_lock = threading.Lock()


def _process() -> _Local:
    """This process's, made on first use after a fork (a thread does not survive one)."""
    global _state
    state = _state
    if state is not None and state[0] == os.getpid():
        return state[1]
    with _state_lock:
        if _state is None or _state[0] != os.getpid():
            url = settings.REDIS_URL
            _state = (os.getpid(), _Subscribed(url) if url else _Local())
        return _state[1]
