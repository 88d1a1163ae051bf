"""Change notices ("this order changed") from any process to the web processes' subscribers.

A notice carries a topic and a key, never the state: a subscriber reads the state when it is
told, so notices that pile up for one key are one read (coalesced), and a notice lost while
Redis was away is made good by reading every watched key again once it is back.

`publish` sends after commit, from web processes and workers alike: to Redis where REDIS_URL is
set (one channel per topic), otherwise to this process's feeds. Each web process holds one
`Feed` per topic: one Redis subscription, whatever the number of its watchers, and batches of
watchers handed to its `deliver`, one batch at a time, so the keys that change while a batch is
read wait for the next (one read per tick, not per notice).
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

import redis
import redis.asyncio
from django.conf import settings

from apps.core import metrics

logger = logging.getLogger(__name__)

W = TypeVar("W", bound=Hashable)

# What happened to notices (apps/core/metrics.py): published, publish_failed (Redis
# unreachable: the feeds re-read what they watch when it is back), received, listener_lost
# (the feed's subscription broke; same recovery), and read_failed (a batch's read failed: its
# subscriptions ended with the error).
notices = {
    outcome: metrics.SUBSCRIPTION_NOTICES.labels(outcome=outcome)
    for outcome in metrics.NOTICE_OUTCOMES
}

_local_feeds: dict[str, weakref.WeakSet[Feed]] = collections.defaultdict(weakref.WeakSet)
_publisher: redis.Redis | None = None
_publisher_lock = threading.Lock()


def channel(topic: str) -> str:
    """The Redis channel of a topic; deployments sharing one Redis keep apart by their prefix."""
    return f"{settings.CACHE_KEY_PREFIX}:events:{topic}"


def _redis_publisher() -> redis.Redis:
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            # Short timeouts: a notice is sent after commit, on the path of a response or a
            # task; a dead Redis costs it a quarter of a second, not a hang.
            _publisher = redis.Redis.from_url(
                settings.REDIS_URL,
                socket_connect_timeout=settings.EVENTS_SOCKET_TIMEOUT,
                socket_timeout=settings.EVENTS_SOCKET_TIMEOUT,
            )
        return _publisher


def publish(topic: str, key: int) -> None:
    """Tells every web process that `key` of `topic` changed. Never raises: the change has
    committed, and a notice Redis did not take is made good when the feeds reconnect."""
    if not settings.REDIS_URL:
        for feed in list(_local_feeds[topic]):
            feed.changed_threadsafe(key)
        notices["published"].inc()
        return
    try:
        _redis_publisher().publish(channel(topic), str(key))
    except redis.RedisError as error:
        notices["publish_failed"].inc()
        logger.warning("event %s:%s not published (%s)", topic, key, error)
    else:
        notices["published"].inc()


class Feed(Generic[W]):
    """One process's watchers of a topic, each on one key, and the notices that reach them."""

    def __init__(self, topic: str, deliver: Callable[[list[W]], Awaitable[None]]) -> None:
        self.topic = topic
        self._deliver = deliver
        self._watchers: dict[int, set[W]] = collections.defaultdict(set)
        self._changed: set[int] = set()  # keys whose watchers are due a read
        self._fresh: list[W] = []  # watchers due their first read
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flushing: asyncio.Task | None = None
        self._listening: asyncio.Task | None = None
        self._subscribed = asyncio.Event()
        self._open = metrics.SUBSCRIPTIONS_OPEN.labels(topic=topic)

    @property
    def watcher_count(self) -> int:
        return sum(len(watchers) for watchers in self._watchers.values())

    @asynccontextmanager
    async def watching(self, key: int, watcher: W) -> AsyncIterator[None]:
        """Registers `watcher` on `key` for the block, due a first read once the subscription
        is live: no change between that read and the next notice can be missed."""
        self._start()
        await self._subscribed.wait()
        self._watchers[key].add(watcher)
        self._fresh.append(watcher)
        self._flush_soon()
        self._open.inc()
        try:
            yield
        finally:
            self._open.dec()
            watchers = self._watchers.get(key)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[key]

    def changed(self, keys: set[int]) -> None:
        """Marks the watchers of `keys` due a read (on the feed's loop)."""
        self._changed.update(key for key in keys if key in self._watchers)
        self._flush_soon()

    def changed_threadsafe(self, key: int) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.changed, {key}, context=contextvars.Context())

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new loop (a test's): what ran on the old one is gone with it.
            self._loop = loop
            self._flushing = self._listening = None
            self._subscribed = asyncio.Event()
        if self._listening is None:
            if settings.REDIS_URL:
                self._listening = loop.create_task(
                    self._listen(), name=f"feed:{self.topic}", context=contextvars.Context()
                )
            else:
                _local_feeds[self.topic].add(self)
                self._listening = loop.create_future()
                self._subscribed.set()

    def _flush_soon(self) -> None:
        if self._flushing is None or self._flushing.done():
            # In a context of its own: not the watcher's that happened to start it (its request
            # id, or asgiref's state of the thread a notice came from).
            self._flushing = asyncio.get_running_loop().create_task(
                self._flush(), context=contextvars.Context()
            )

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the notices that arrived together join one batch
        while self._changed or self._fresh:
            batch = set(self._fresh)
            for key in self._changed:
                batch.update(self._watchers.get(key, ()))
            self._changed.clear()
            self._fresh.clear()
            if batch:
                try:
                    await self._deliver(list(batch))
                except Exception:
                    # `deliver` fails its own watchers; this is a bug in it, not a lost notice.
                    logger.exception("feed %s: a batch of %d failed", self.topic, len(batch))

    async def _listen(self) -> None:
        """Holds the topic's Redis subscription, reconnecting while Redis is away."""
        backoff = 0.1
        lost = False
        while True:
            client = redis.asyncio.Redis.from_url(
                settings.REDIS_URL,
                socket_connect_timeout=settings.EVENTS_SOCKET_TIMEOUT,
                socket_keepalive=True,
                # Idle reads wait in get_message's own timeout, never the socket's: a quiet
                # topic is not a dead connection. The health check pings between them.
                socket_timeout=None,
                health_check_interval=settings.EVENTS_HEALTH_CHECK_INTERVAL,
            )
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(channel(self.topic))
                    self._subscribed.set()
                    backoff = 0.1
                    if lost:
                        # Notices sent while the subscription was down are gone: every
                        # watcher reads its key again.
                        logger.warning(
                            "feed %s: subscribed again; re-reading %d keys",
                            self.topic,
                            len(self._watchers),
                        )
                        self.changed(set(self._watchers))
                        lost = False
                    while True:
                        message = await pubsub.get_message(
                            timeout=settings.EVENTS_HEALTH_CHECK_INTERVAL
                        )
                        if message is not None and message["type"] == "message":
                            notices["received"].inc()
                            try:
                                self.changed({int(message["data"])})
                            except ValueError:
                                logger.warning("feed %s: not a key: %r", self.topic, message)
            except (redis.RedisError, OSError) as error:
                if not lost:
                    notices["listener_lost"].inc()
                    logger.warning(
                        "feed %s: subscription lost (%s); %d keys will be re-read when it is back",
                        self.topic,
                        error,
                        len(self._watchers),
                    )
                lost = True
                # Watchers keep waiting (their state is re-read on reconnect); new ones too.
                self._subscribed.set()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                await client.aclose()
