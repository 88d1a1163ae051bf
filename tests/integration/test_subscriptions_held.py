"""Subscriptions held the way apps hold them: many at once, idle for minutes, through a burst of
changes, a Redis restart and a server restart; on the production server (gunicorn, 2 workers).
"""

import asyncio
import json
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.request import Request, urlopen

import pytest
import websockets
from django.conf import settings
from strawberry.relay import to_base64

from apps.users import tokens
from schema.core.operations import operation
from tests.factories import PASSWORD, AdminFactory, OrderFactory
from tests.live import PRODUCTION

pytestmark = pytest.mark.django_db(transaction=True)

IDLE_SECONDS = 120
KEEPALIVE_SECONDS = 15
# The production server, taking the tokens this test issues.
SERVER = PRODUCTION | {
    "WEB_CONCURRENCY": "2",
    "SUBSCRIPTION_KEEPALIVE_INTERVAL": str(KEEPALIVE_SECONDS),
    "JWT_SIGNING_KEY": settings.SECRET_KEY,
}
# What a server must not log while it holds subscriptions (what channels-redis's receive once
# logged when idle ones timed out, and asyncio when their tasks were dropped).
TROUBLE = re.compile(r"WARNING|ERROR|Traceback|Task was destroyed|GeneratorExit|TimeoutError")


@dataclass
class Watcher:
    """One app's connection: a browser's WebSocket (no ping frames of its own), which answers
    the protocol's pings and records what it is sent."""

    token: str
    order_id: str
    statuses: list[str] = field(default_factory=list)
    pings: int = 0
    closed: str | None = None
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, url: str, until: str, deadline: float) -> None:
        try:
            async with websockets.connect(
                url, subprotocols=["graphql-transport-ws"], ping_interval=None, open_timeout=30
            ) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": self.auth}))
                await ws.send(json.dumps(self.subscribe))
                while not (self.statuses and self.statuses[-1] == until):
                    left = deadline - time.monotonic()
                    message = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
                    if message["type"] == "ping":
                        self.pings += 1
                        await ws.send(json.dumps({"type": "pong"}))
                    elif message["type"] == "next":
                        assert "errors" not in message["payload"], message
                        self.statuses.append(message["payload"]["data"]["orderUpdated"]["status"])
                        self.subscribed.set()
                    elif message["type"] != "connection_ack":
                        raise AssertionError(message)
        except websockets.ConnectionClosed as closed:
            self.closed = f"{closed.rcvd.code if closed.rcvd else 'no close frame'}"
        except TimeoutError:
            self.closed = "timed out"

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def subscribe(self) -> dict:
        payload = {"query": operation("WatchOrder"), "variables": {"id": self.order_id}}
        return {"id": "1", "type": "subscribe", "payload": payload}


def watchers_of(orders) -> list[Watcher]:
    """Each order watched by its owner and by an admin, on connections of their own."""
    admin = bearer(AdminFactory())
    watchers = []
    for order in orders:
        order_id = to_base64("Order", order.pk)
        watchers += [Watcher(bearer(order.user), order_id), Watcher(admin, order_id)]
    return watchers


def bearer(user) -> str:
    return tokens.token_obtain(
        email=user.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token


def cancel_all(server, watchers: list[Watcher]) -> None:
    """Every order cancelled by its owner at once, as many apps would."""

    def cancel(watcher: Watcher) -> None:
        body = json.dumps(
            {"query": operation("CancelOrder"), "variables": {"id": watcher.order_id}}
        ).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {watcher.token}"}
        with urlopen(Request(server.http_url, data=body, headers=headers), timeout=30) as response:
            result = json.loads(response.read())
        assert result["data"]["cancelOrder"]["status"] == "CANCELLED", result

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(cancel, watchers[::2]))  # the owners'


async def held(server, watchers: list[Watcher], *, idle: float, then) -> None:
    """Runs every watcher until it sees CANCELLED: all subscribed, `idle` seconds of nothing,
    then `then()` in a thread."""
    deadline = time.monotonic() + idle + 90
    tasks = [asyncio.create_task(w.run(server.ws_url, "CANCELLED", deadline)) for w in watchers]
    await asyncio.wait_for(asyncio.gather(*(w.subscribed.wait() for w in watchers)), 60)
    await asyncio.sleep(idle)
    await asyncio.to_thread(then)
    await asyncio.gather(*tasks)


def test_idle_subscriptions_are_pinged_never_dropped_and_all_see_a_burst(start_server):
    server = start_server("gunicorn", **SERVER)
    orders = OrderFactory.create_batch(20)
    watchers = watchers_of(orders)

    def burst() -> None:
        cancel_all(server, watchers)

    asyncio.run(held(server, watchers, idle=IDLE_SECONDS, then=burst))

    assert [w.closed for w in watchers] == [None] * len(watchers)
    assert all(w.statuses[-1] == "CANCELLED" for w in watchers)
    assert min(w.pings for w in watchers) >= IDLE_SECONDS // KEEPALIVE_SECONDS - 1
    assert not TROUBLE.findall(server.output())


def test_a_change_made_while_redis_was_away_reaches_the_subscribers(start_server, redis_server):
    """Its notice was never published; once the feed has its subscription back, it reads every
    order it watches again."""
    server = start_server("gunicorn", **SERVER | {"REDIS_URL": redis_server.url})
    watchers = watchers_of(OrderFactory.create_batch(5))

    def cancelled_while_redis_is_away() -> None:
        redis_server.stop()
        cancel_all(server, watchers)
        redis_server.start()

    asyncio.run(held(server, watchers, idle=1, then=cancelled_while_redis_is_away))

    assert [w.closed for w in watchers] == [None] * len(watchers)
    assert [w.statuses[-1] for w in watchers] == ["CANCELLED"] * len(watchers)
    assert "subscription lost" in server.output()


def test_a_server_going_away_closes_with_a_code_that_clients_retry_on(start_server):
    server = start_server("gunicorn", **SERVER)
    watchers = watchers_of(OrderFactory.create_batch(2))

    async def scenario() -> None:
        deadline = time.monotonic() + 60
        tasks = [asyncio.create_task(w.run(server.ws_url, "-", deadline)) for w in watchers]
        await asyncio.wait_for(asyncio.gather(*(w.subscribed.wait() for w in watchers)), 30)
        server.process.send_signal(signal.SIGTERM)  # a deployment's graceful restart
        await asyncio.gather(*tasks)

    asyncio.run(scenario())

    # 1012, service restart: graphql-ws reconnects on it (4400-range codes it does not).
    assert [w.closed for w in watchers] == ["1012"] * len(watchers)
