"""`python -m bench.subscriptions --subscribers 1000 --processes 1`: live order updates
(`orderUpdated` over graphql-transport-ws) measured from outside, as clients see them.

1. Creates the database (default `shop_subsbench` on 127.0.0.1:5432) if missing, migrates it
   and makes N/2 PENDING orders, each owned by its own user (bulk inserts, passwords unusable);
   access tokens are minted here with the server's signing settings, not obtained by login.
2. Serves the API as deployed, on `bench.settings`: WebSockets by `gunicorn
   backend.asgi:application` with `--processes` uvicorn workers, HTTP (the cancels) by `gunicorn
   backend.wsgi:application` with 2 sync workers (gunicorn.conf.py); Redis (cache and
   subscription events) on a database of its own, where only keys this benchmark writes are
   deleted, before and after. The memory measured is the WebSocket workers'.
3. Opens N WebSocket connections from a few client processes, one subscription each: every
   order watched by its owner and by an admin. Times connect, `connection_ack` and the first
   `next` (the order as it is).
4. Reads the workers' RSS before, once everyone is subscribed and idle, and after everyone
   has disconnected.
5. Cancels every order (`CancelOrder` over HTTP with the owner's token, a few at a time) and
   times each subscriber's CANCELLED against the event's `updatedAt`; counts the subscribers
   that never saw it and the connections the server closed.
6. Prints a markdown table and writes it into bench/RESULTS.md under "Subscriptions", in the
   block of its (subscribers, processes); the rest of the file is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import re
import resource
import secrets
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from bench.__main__ import (
    ROOT,
    configure_environment,
    ensure_database,
    machine,
    start_server,
    stop_server,
    workers_of,
)

RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Subscriptions"
PROTOCOL = "graphql-transport-ws"
ADMIN_EMAIL = "admin@subsbench.example"
PRODUCT_SKU = "SUBSBENCH-1"
# The cache's keys in --redis's database (subscription events are pub/sub, no keys): the only
# keys this benchmark deletes.
CACHE_PREFIX = "subsbench"
KEY_PATTERNS = (f"{CACHE_PREFIX}:*",)


def markers(subscribers: int, processes: int) -> tuple[str, str]:
    """Each (subscribers, processes) keeps its own block in RESULTS.md."""
    key = f"bench-subs:{subscribers}:{processes}"
    return f"<!-- {key}:begin -->", f"<!-- {key}:end -->"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.subscriptions", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--subscribers", type=int, default=1000, help="Connections (even: owner + admin each)."
    )
    parser.add_argument("--processes", type=int, default=1, help="uvicorn workers")
    parser.add_argument(
        "--clients", type=int, help="Client processes (default: one per 2,500 subscribers, <= 4)."
    )
    parser.add_argument(
        "--idle", type=float, default=0, metavar="SECONDS", help="Hold idle before the burst."
    )
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=500,
        help="Handshakes in flight at once, over all client processes.",
    )
    parser.add_argument(
        "--connect-timeout", type=float, default=60, help="Per connection, up to its first next."
    )
    parser.add_argument("--cancel-concurrency", type=int, default=32, help="Cancels in flight.")
    parser.add_argument(
        "--deadline", type=float, default=30, help="Seconds after the burst to see CANCELLED."
    )
    parser.add_argument(
        "--quiet", type=float, default=5, help="Seconds idle before reading RSS (subscribed)."
    )
    parser.add_argument(
        "--settle", type=float, default=10, help="Seconds after disconnecting before reading RSS."
    )
    parser.add_argument("--database", default="shop_subsbench", help="Database name (PostgreSQL).")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="Server URL.")
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/12",
        help="Cache and subscription events; a database no one else uses.",
    )
    parser.add_argument("--port", type=int, default=8766, help="WebSockets (the ASGI app).")
    parser.add_argument(
        "--http-port", type=int, default=8767, help="HTTP, the cancels (the WSGI app)."
    )
    parser.add_argument("--no-write", action="store_true", help="Do not update RESULTS.md.")
    args = parser.parse_args()
    if args.subscribers < 2 or args.subscribers % 2:
        parser.error("--subscribers must be even and at least 2.")
    if args.processes < 1:
        parser.error("--processes must be at least 1.")
    if args.clients is None:
        args.clients = max(1, min(4, math.ceil(args.subscribers / 2500)))
    return args


def raise_fd_limit() -> int:
    """Every connection is a descriptor, on both ends: the soft limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def clear_keys(url: str) -> int:
    """Deletes this benchmark's keys (KEY_PATTERNS) in its Redis database; nothing else."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
    try:
        deleted = 0
        for pattern in KEY_PATTERNS:
            batch = []
            for key in client.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    deleted += client.delete(*batch)
                    batch = []
            if batch:
                deleted += client.delete(*batch)
        return deleted
    finally:
        client.close()


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def mint_access_token(user_pk: int, family: uuid.UUID) -> str:
    """An access token as apps.users.tokens issues one, without its login's password check."""
    import jwt
    from django.conf import settings
    from django.utils import timezone

    now = timezone.now()
    claims = {
        "sub": str(user_pk),
        "fam": str(family),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.ACCESS_TOKEN_LIFETIME)).timestamp()),
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    key = settings.JWT_SIGNING_KEY or settings.SECRET_KEY
    return jwt.encode(claims, key, algorithm=settings.JWT_ALGORITHM)


def prepare_data(owners: int) -> tuple[str, list[tuple[int, str, str]]]:
    """The admin's token and (order pk, order global id, owner's token) for `owners` orders.

    Users are kept between runs (only missing ones are added); orders and refresh tokens are
    made afresh, since a run cancels every order and mints new token families.
    """
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.catalog.models import Product
    from apps.orders.models import Order, OrderItem, OrderStatus
    from apps.users import tokens
    from apps.users.models import RefreshToken, User, UserRole

    call_command("migrate", verbosity=0)
    unusable = make_password(None)  # nobody logs in: tokens are minted
    emails = [f"user{n:06d}@subsbench.example" for n in range(1, owners + 1)]
    with transaction.atomic():
        admin, _ = User.objects.get_or_create(
            email=ADMIN_EMAIL,
            defaults={"name": "Subs Admin", "role": UserRole.ADMIN, "password": unusable},
        )
        existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        User.objects.bulk_create(
            [
                User(email=email, name=f"Subs User {n:06d}", role=UserRole.USER, password=unusable)
                for n, email in enumerate(emails, 1)
                if email not in existing
            ],
            batch_size=2000,
        )
        users = dict(User.objects.filter(email__in=emails).values_list("email", "pk"))
        tables = ", ".join(m._meta.db_table for m in (OrderItem, Order, RefreshToken))
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables}")
        product, _ = Product.objects.get_or_create(
            sku=PRODUCT_SKU,
            defaults={"name": "Subscriptions bench product", "price": "10.00", "stock": 10**9},
        )
        # bulk_create sends no post_save: nothing is published or queued for processing.
        orders = Order.objects.bulk_create(
            [
                Order(user_id=users[email], status=OrderStatus.PENDING, total="10.00")
                for email in emails
            ],
            batch_size=2000,
        )
        OrderItem.objects.bulk_create(
            [
                OrderItem(order=order, product=product, quantity=1, unit_price="10.00")
                for order in orders
            ],
            batch_size=2000,
        )
        families = {pk: uuid.uuid4() for pk in [admin.pk, *users.values()]}
        expires = timezone.now() + timedelta(seconds=settings.REFRESH_TOKEN_LIFETIME)
        RefreshToken.objects.bulk_create(
            [
                RefreshToken(
                    user_id=pk,
                    family=family,
                    token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
                    expires_at=expires,
                )
                for pk, family in families.items()
            ],
            batch_size=2000,
        )
    admin_token = mint_access_token(admin.pk, families[admin.pk])
    assert tokens.access_token_verify(admin_token).user_id == admin.pk
    assert tokens.bearer_authenticate(f"Bearer {admin_token}").user.pk == admin.pk
    return admin_token, [
        (o.pk, global_id("Order", o.pk), mint_access_token(o.user_id, families[o.user_id]))
        for o in orders
    ]


def rss_kib(pids: list[int]) -> int | None:
    """The sum of the processes' VmRSS; None when one of them has gone."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return None
        total += next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
    return total


# --- the client side: one asyncio loop per client process -----------------------------------


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def error_text(errors) -> str:
    """GraphQL errors as message and code, without their request ids (so that they count up)."""
    if not isinstance(errors, list):
        return str(errors)[:120]
    return "; ".join(
        f"{e.get('message')} ({(e.get('extensions') or {}).get('code', '-')})"
        if isinstance(e, dict)
        else str(e)[:120]
        for e in errors
    )


def describe(error: BaseException) -> str:
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    if isinstance(error, ConnectionClosed):
        code = error.rcvd.code if error.rcvd else None
        return f"closed {code if code is not None else 'without a close frame'}"
    if isinstance(error, InvalidStatus):
        return f"HTTP {error.response.status_code}"
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, OSError):
        return f"{type(error).__name__} {error.errno}"
    if isinstance(error, RuntimeError):
        return str(error)[:160]
    return type(error).__name__ + (f": {str(error)[:80]}" if str(error) else "")


class Watcher:
    """One subscriber: its connection, its subscription and what it saw (times: time.time())."""

    def __init__(self, index: int, order: int, gid: str, token: str, role: str):
        self.index, self.order, self.gid, self.token, self.role = index, order, gid, token, role
        self.ws = None
        self.started = self.acked = self.first = None
        self.error: str | None = None  # did not get its first next
        self.cancelled_at = self.updated_at = None
        self.nexts = 0
        self.errors: list[str] = []  # `error` messages or GraphQL errors after subscribing
        self.completed = False  # the server ended the subscription
        self.closed_at = None
        self.close_code: int | None = None
        self.closed_in: str | None = None  # the phase in which the server closed it

    def report(self) -> dict:
        return {k: v for k, v in vars(self).items() if k not in ("ws", "token", "gid")}


class ClientRun:
    def __init__(self, conn, url: str, document: str, jobs: list[tuple], options: dict):
        self.conn, self.url, self.document, self.options = conn, url, document, options
        self.watchers = [Watcher(*job) for job in jobs]
        self.parent = os.getppid()
        self.phase = "connect"
        self.extension: str | None = None

    async def command(self) -> tuple:
        loop = asyncio.get_running_loop()
        while True:
            if await loop.run_in_executor(None, self.conn.poll, 1.0):
                return self.conn.recv()
            if os.getppid() != self.parent:
                raise SystemExit("the benchmark has gone")

    async def run(self) -> None:
        await self.command()  # ("connect",)
        limit = asyncio.Semaphore(self.options["connect_concurrency"])
        self.ready = 0
        self.all_ready = asyncio.Event()
        self.seen = 0
        tasks = [asyncio.create_task(self.watch(w, limit)) for w in self.watchers]
        while not self.all_ready.is_set():  # each watch times out on its own
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.all_ready.wait(), 5)
            failed = sum(w.error is not None for w in self.watchers)
            self.conn.send(("progress", self.ready - failed, failed))
        self.conn.send(("subscribed", [w.report() for w in self.watchers], self.extension))
        while True:
            command, *rest = await self.command()
            if command == "phase":
                self.phase = rest[0]
            elif command == "collect":
                subscribed = sum(w.error is None for w in self.watchers)
                while self.seen < subscribed and time.time() < rest[0]:
                    await asyncio.sleep(0.1)
                self.conn.send(("events", [w.report() for w in self.watchers]))
            elif command == "disconnect":
                self.phase = "disconnect"
                started = time.time()
                await self.close_all()
                _, pending = await asyncio.wait(tasks, timeout=30)
                for task in pending:
                    task.cancel()
                self.conn.send(("closed", time.time() - started, len(pending)))
                return

    def ready_one(self) -> None:
        self.ready += 1
        if self.ready == len(self.watchers):
            self.all_ready.set()

    async def watch(self, w: Watcher, limit: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        async with limit:
            w.started = time.time()
            try:
                async with asyncio.timeout(self.options["connect_timeout"]):
                    # No client-side pings, as browsers: any close comes from the server.
                    w.ws = await connect(
                        self.url,
                        subprotocols=[PROTOCOL],
                        open_timeout=None,
                        ping_interval=None,
                        close_timeout=10,
                    )
                    if self.extension is None:
                        self.extension = w.ws.response.headers.get("Sec-WebSocket-Extensions", "")
                    init = {"Authorization": f"Bearer {w.token}"}
                    await w.ws.send(json.dumps({"type": "connection_init", "payload": init}))
                    await self.until(w.ws, "connection_ack")
                    w.acked = time.time()
                    payload = {
                        "query": self.document,
                        "operationName": "WatchOrder",
                        "variables": {"id": w.gid},
                    }
                    await w.ws.send(
                        json.dumps({"id": "1", "type": "subscribe", "payload": payload})
                    )
                    first = (await self.until(w.ws, "next")).get("payload") or {}
                    if not (first.get("data") or {}).get("orderUpdated"):
                        # A failed subscription's result, as a `next` (and then `complete`).
                        raise RuntimeError(
                            f"next without the order: {error_text(first.get('errors'))}"
                        )
                    w.first = time.time()
                    w.nexts = 1
            except Exception as error:
                w.error = describe(error)
                if w.ws is not None:
                    w.ws.transport.abort()
                self.ready_one()
                return
        self.ready_one()
        try:
            while True:
                message = json.loads(await w.ws.recv())
                kind = message.get("type")
                if kind == "next":
                    self.seen_event(w, message)
                elif kind == "ping":
                    await w.ws.send(json.dumps({"type": "pong"}))
                elif kind == "error":
                    w.errors.append(error_text(message.get("payload")))
                elif kind == "complete":
                    w.completed = True
        except ConnectionClosed as closed:
            if self.phase != "disconnect":
                w.closed_at = time.time()
                w.close_code = closed.rcvd.code if closed.rcvd else None
                w.closed_in = self.phase

    @staticmethod
    async def until(ws, kind: str) -> dict:
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == kind:
                return message
            if message.get("type") == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif message.get("type") in ("error", "complete"):
                raise RuntimeError(f"{message['type']} {error_text(message.get('payload'))}")

    def seen_event(self, w: Watcher, message: dict) -> None:
        w.nexts += 1
        payload = message.get("payload") or {}
        if payload.get("errors"):
            w.errors.append(error_text(payload["errors"]))
        order = (payload.get("data") or {}).get("orderUpdated")
        if order and order.get("status") == "CANCELLED" and w.cancelled_at is None:
            w.cancelled_at = time.time()
            w.updated_at = parse_time(order["updatedAt"])
            self.seen += 1

    async def close_all(self) -> None:
        limit = asyncio.Semaphore(500)

        async def close(ws) -> None:
            async with limit:
                try:
                    await asyncio.wait_for(ws.close(), 15)
                except Exception:
                    ws.transport.abort()

        await asyncio.gather(*(close(w.ws) for w in self.watchers if w.ws is not None))


def client_process(conn, url: str, document: str, jobs: list[tuple], options: dict) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the benchmark stops its clients itself
    raise_fd_limit()
    with contextlib.suppress(EOFError, BrokenPipeError, SystemExit):
        asyncio.run(ClientRun(conn, url, document, jobs, options).run())


# --- the benchmark's side --------------------------------------------------------------------


def gather(clients: list, kind: str, timeout: float, workers: list[int]) -> list[tuple]:
    """One `kind` message from every client process, within `timeout` seconds; their progress
    reports printed on the way (what a run stopped early has got to)."""
    deadline = time.monotonic() + timeout
    answers: list[tuple | None] = [None] * len(clients)
    progress: dict[int, tuple[int, int]] = {}
    printed = time.monotonic()
    while any(a is None for a in answers):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"client processes did not report {kind!r} within {timeout:.0f} s")
        for i, (process, conn) in enumerate(clients):
            if answers[i] is None and conn.poll(min(left, 0.2)):
                message = conn.recv()
                if message[0] == "progress":
                    progress[i] = message[1:]
                    if time.monotonic() - printed >= 5:
                        printed = time.monotonic()
                        done, failed = (sum(p[k] for p in progress.values()) for k in (0, 1))
                        rss = rss_kib(workers)
                        print(
                            f"  {done:,} subscribed, {failed:,} failed; workers' RSS "
                            f"{'n/a' if rss is None else f'{rss / 1024:,.0f} MiB'}",
                            flush=True,
                        )
                    continue
                if message[0] != kind:
                    raise RuntimeError(f"client {i} answered {message[0]!r}, not {kind!r}")
                answers[i] = message
            elif answers[i] is None and not process.is_alive():
                raise RuntimeError(f"client process {i} exited ({process.exitcode})")
    return answers


def broadcast(clients: list, *message) -> None:
    for _, conn in clients:
        conn.send(message)


def warm_up(args: argparse.Namespace, document: str, token: str, gids: list[str]) -> None:
    """A few subscriptions opened and closed (and, after it, a few orders cancelled over
    HTTP), so that RSS before counts the loaded code and what the first requests cache."""
    from websockets.asyncio.client import connect

    async def one(gid: str) -> None:
        async with connect(
            f"ws://127.0.0.1:{args.port}/graphql/", subprotocols=[PROTOCOL], open_timeout=20
        ) as ws:
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"Authorization": token}})
            )
            await asyncio.wait_for(ClientRun.until(ws, "connection_ack"), 20)
            payload = {"query": document, "variables": {"id": gid}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            await asyncio.wait_for(ClientRun.until(ws, "next"), 20)

    async def main() -> None:
        await asyncio.gather(*(one(gid) for gid in gids))

    asyncio.run(main())


def cancel_all(
    args: argparse.Namespace, document: str, orders: list[tuple[int, str, str]]
) -> tuple[dict[int, dict], float, float]:
    """CancelOrder for every order, --cancel-concurrency at a time, each with its owner's token."""
    url = f"http://127.0.0.1:{args.http_port}/graphql/"

    def cancel(order: tuple[int, str, str]) -> tuple[int, dict]:
        pk, gid, token = order
        body = json.dumps(
            {"query": document, "operationName": "CancelOrder", "variables": {"id": gid}}
        ).encode()
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        sent = time.time()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
        except (OSError, ValueError) as error:
            return pk, {"sent": sent, "answered": time.time(), "error": describe(error)}
        answered = time.time()
        data = (answer.get("data") or {}).get("cancelOrder")
        if answer.get("errors") or not data or data.get("status") != "CANCELLED":
            return pk, {"sent": sent, "answered": answered, "error": str(answer)[:200]}
        return pk, {"sent": sent, "answered": answered, "updated_at": parse_time(data["updatedAt"])}

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(args.cancel_concurrency) as pool:
        results = dict(pool.map(cancel, orders))
    return results, started, time.time()


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 1000:,.0f}"


def spread(values: list[float]) -> str:
    """p50 / p99 / max in milliseconds."""
    if not values:
        return "n/a"
    return f"{ms(percentile(values, 0.5))} / {ms(percentile(values, 0.99))} / {ms(max(values))}"


def codes(counter: Counter) -> str:
    if not counter:
        return "none"
    return ", ".join(
        f"{'no close frame' if code is None else code} x {n:,}"
        for code, n in sorted(counter.items(), key=lambda item: -item[1])
    )


def summarise(
    args: argparse.Namespace,
    watchers: list[dict],
    cancels: dict[int, dict],
    burst: tuple[float, float],
    memory: dict[str, int | None],
    times: dict[str, float],
) -> tuple[str, list[str]]:
    """The markdown table and notes on what went wrong."""
    n = args.subscribers
    subscribed = [w for w in watchers if w["error"] is None]
    failed = Counter(w["error"] for w in watchers if w["error"] is not None)
    per_connection = [w["first"] - w["started"] for w in subscribed]
    to_ack = [w["acked"] - w["started"] for w in subscribed]
    wall = (max(w["first"] for w in subscribed) - times["go"]) if subscribed else float("nan")

    cancelled = {pk for pk, c in cancels.items() if "error" not in c}
    cancel_errors = Counter(c["error"] for c in cancels.values() if "error" in c)
    expected = [w for w in subscribed if w["order"] in cancelled]
    seen = [w for w in expected if w["cancelled_at"] is not None]
    lost = [w for w in expected if w["cancelled_at"] is None]
    lost_dropped = sum(w["closed_at"] is not None for w in lost)
    lost_ended = sum(w["closed_at"] is None and bool(w["completed"] or w["errors"]) for w in lost)
    lost_silent = len(lost) - lost_dropped - lost_ended
    from_commit = [w["cancelled_at"] - w["updated_at"] for w in seen]
    from_response = [w["cancelled_at"] - cancels[w["order"]]["answered"] for w in seen]
    round_trips = [c["answered"] - c["sent"] for c in cancels.values()]
    updated_mismatch = sum(
        abs(w["updated_at"] - cancels[w["order"]]["updated_at"]) > 0.001 for w in seen
    )

    dropped = [w for w in subscribed if w["closed_at"] is not None]
    drop_phases = Counter(w["closed_in"] for w in dropped)
    by_role = Counter(w["role"] for w in lost)

    before, after, back = memory["before"], memory["subscribed"], memory["after"]

    def mib(kib: int | None) -> str:
        return "n/a" if kib is None else f"{kib / 1024:,.1f}"

    per_subscriber = (
        f"{(after - before) / len(subscribed):,.1f}"
        if before is not None and after is not None and subscribed
        else "n/a"
    )
    if before and back is not None and after is not None:
        back_text = f"{100 * back / before:,.0f} % of the start"
        if after > before:
            back_text += f"; growth freed: {100 * (after - back) / (after - before):,.0f} %"
    else:
        back_text = "n/a"
    burst_seconds = burst[1] - burst[0]
    owners = n // 2
    rows = [
        ("subscribed (connected, acknowledged, first `next`)", f"{len(subscribed):,} of {n:,}"),
        (
            "failed to subscribe",
            f"{sum(failed.values()):,}" + (f" ({failures(failed)})" if failed else ""),
        ),
        ("all connections subscribed, wall time", f"{wall:,.1f} s"),
        ("per connection to `connection_ack`, ms p50 / p99 / max", spread(to_ack)),
        ("per connection to first `next`, ms p50 / p99 / max", spread(per_connection)),
        (
            "workers' RSS before / subscribed / after disconnect, MiB",
            f"{mib(before)} / {mib(after)} / {mib(back)}",
        ),
        ("memory per subscriber, KiB ((subscribed - before) / subscribed)", per_subscriber),
        (f"RSS {args.settle:g} s after everyone disconnected", back_text),
        (
            f"CancelOrder burst ({args.cancel_concurrency} in flight), ms p50 / p99 / max",
            f"{owners:,} in {burst_seconds:,.1f} s ({owners / burst_seconds:,.0f}/s); "
            + spread(round_trips),
        ),
        ("cancels that failed", f"{sum(cancel_errors.values()):,}"),
        ("fan-out latency from the event's `updatedAt`, ms p50 / p99 / max", spread(from_commit)),
        ("fan-out latency from the mutation's response, ms p50 / p99 / max", spread(from_response)),
        (
            f"events lost (no CANCELLED within {args.deadline:g} s of the burst)",
            f"{len(lost):,} of {len(expected):,} ({100 * len(lost) / max(1, len(expected)):.1f} %)"
            + (
                f": {lost_dropped:,} on dropped connections, {lost_ended:,} subscriptions ended "
                f"by the server, {lost_silent:,} open and silent; owners {by_role['owner']:,}, "
                f"admins {by_role['admin']:,}"
                if lost
                else ""
            ),
        ),
        (
            "dropped connections (closed by the server before the end)",
            f"{len(dropped):,}"
            + (
                f": {codes(Counter(w['close_code'] for w in dropped))}; "
                + ", ".join(f"{phase} {k:,}" for phase, k in drop_phases.most_common())
                if dropped
                else ""
            ),
        ),
    ]
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    notes = []
    if failed:
        notes.append(f"Failed to subscribe: {failures(failed)}.")
    if cancel_errors:
        notes.append(f"Cancels that failed: {failures(cancel_errors)}.")
    if updated_mismatch:
        notes.append(
            f"{updated_mismatch:,} events carried an `updatedAt` other than the mutation's answer."
        )
    errors = Counter(e for w in subscribed for e in w["errors"])
    if errors:
        notes.append(f"Errors sent to subscribers: {failures(errors)}.")
    ended = sum(w["completed"] for w in subscribed)
    if ended:
        notes.append(f"{ended:,} subscriptions were completed by the server.")
    extra = sum(max(0, w["nexts"] - 2) for w in subscribed)
    if extra:
        notes.append(f"{extra:,} `next` messages beyond the first and the CANCELLED one.")
    return table, notes


def server_exceptions(log: Path) -> tuple[int, Counter]:
    """Tracebacks in the server's log: how many "Exception in ASGI application", and each
    traceback's last exception (not the ones it was raised from or while handling), also of
    the errors the app logs as JSON."""
    lines = log.read_text(errors="replace").splitlines()
    crashed = sum("Exception in ASGI application" in line for line in lines)
    found: Counter = Counter()
    for line in lines:  # the app's own JSON lines: errors logged with their traceback
        if line.startswith("{") and '"level": "ERROR"' in line:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                last = (record.get("exc_info") or "").strip().splitlines()[-1:] or ["-"]
                message = re.sub(r"\s*\(request \w+\)", "", record.get("message", ""))
                found[f"{message.splitlines()[0][:60]}: {last[0][:100]}"] += 1
    for i, line in enumerate(lines):
        if re.match(r"[A-Za-z_][\w.]*(Error|Exception)\b", line):
            following = [x for x in lines[i + 1 : i + 3] if x.strip()]
            if not following or not following[0].startswith(("The above", "During handling")):
                found[line[:160]] += 1
    return crashed, found


def failures(counter: Counter) -> str:
    return "; ".join(f"{reason} x {n:,}" for reason, n in counter.most_common(5))


def write_results(section: str, subscribers: int, processes: int) -> None:
    """The block of (subscribers, processes) under the Subscriptions heading; the rest kept."""
    begin, end = markers(subscribers, processes)
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if begin not in text or end not in text:
        if HEADING not in text:
            text = (
                text.rstrip()
                + f"\n\n{HEADING}\n\n`python -m bench.subscriptions --subscribers N --processes P`"
                " (see `bench/subscriptions.py`): `orderUpdated` over graphql-transport-ws,"
                " one block per (subscribers, processes), rewritten by its next run.\n"
            )
        head, tail = text.split(HEADING, 1)
        blocks = tail.rsplit("<!-- bench-subs:", 1)
        if len(blocks) == 2 and ":end -->" in blocks[1].split("\n", 1)[0]:
            last_end = tail.rfind(":end -->") + len(":end -->")
            tail = tail[:last_end] + f"\n\n{begin}\n{end}" + tail[last_end:]
        else:
            following = tail.find("\n## ")
            cut = len(tail) if following < 0 else following
            tail = tail[:cut].rstrip() + f"\n\n{begin}\n{end}\n" + tail[cut:]
        text = head + HEADING + tail
    before, rest = text.split(begin, 1)
    _, after = rest.split(end, 1)
    RESULTS.write_text(before + begin + "\n" + section.strip() + "\n" + end + after)


def interrupted(signum, frame) -> None:
    """SIGTERM as Ctrl-C: main's `finally` stops the clients and the server."""
    raise KeyboardInterrupt


def main() -> None:
    args = parse_args()
    limit = raise_fd_limit()
    per_client = math.ceil(args.subscribers / args.clients)
    if args.subscribers + 100 > limit or per_client + 100 > limit:
        sys.exit(f"The descriptor limit ({limit}) is too low for {args.subscribers} connections.")
    env = configure_environment(
        args,
        workers=args.processes,
        CACHE_KEY_PREFIX=CACHE_PREFIX,
        ACCESS_TOKEN_LIFETIME="7200",  # a long idle hold must not outlive its tokens
    )
    ensure_database(args)
    import django

    django.setup()
    from django.db import connections

    from schema.core.operations import operation

    watch_document, cancel_document = operation("WatchOrder"), operation("CancelOrder")
    clear_keys(args.redis)
    started = time.perf_counter()
    # A few more orders than the run watches: the warm-up cancels them.
    warm = 4 * args.processes
    admin_token, orders = prepare_data(args.subscribers // 2 + warm)
    orders, warm_orders = orders[:-warm], orders[-warm:]
    prepared = time.perf_counter() - started
    connections.close_all()
    print(f"{len(orders):,} orders and their tokens made in {prepared:.1f} s")

    jobs = []
    for pk, gid, token in orders:
        jobs.append((len(jobs), pk, gid, token, "owner"))
        jobs.append((len(jobs), pk, gid, admin_token, "admin"))
    options = {
        "connect_concurrency": max(1, args.connect_concurrency // args.clients),
        "connect_timeout": args.connect_timeout,
    }
    signal.signal(signal.SIGTERM, interrupted)
    logs = Path(tempfile.mkdtemp(prefix="bench-subs-"))
    print(
        f"gunicorn ({args.processes} uvicorn workers) on 127.0.0.1:{args.port}, HTTP on "
        f"127.0.0.1:{args.http_port}; "
        f"{args.clients} client processes; logs in {logs}"
    )
    context = multiprocessing.get_context("spawn")
    clients: list = []
    server = http = None
    memory: dict[str, int | None] = {}
    times: dict[str, float] = {}
    try:
        somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
        # A reconnect storm queues in the listen backlog (gunicorn's default: 2,048).
        backlog = ("--backlog", str(max(2048, somaxconn)))
        server = start_server(
            env, logs, args.port, *backlog, "--no-control-socket", workers=args.processes
        )
        http = start_server(
            {**env, "WEB_CONCURRENCY": "2"},
            logs,
            args.http_port,
            "--no-control-socket",
            workers=2,
            app="backend.wsgi:application",
            log_name="http.log",
        )
        workers = workers_of(server.pid)
        warm_up(args, watch_document, f"Bearer {admin_token}", [g for _, g, _ in orders[:8]])
        cancel_all(args, cancel_document, warm_orders)
        time.sleep(2)
        memory["before"] = rss_kib(workers)
        for i in range(args.clients):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=client_process,
                args=(
                    theirs,
                    f"ws://127.0.0.1:{args.port}/graphql/",
                    watch_document,
                    jobs[i :: args.clients],
                    options,
                ),
                daemon=True,
            )
            process.start()
            clients.append((process, mine))
        times["go"] = time.time()
        broadcast(clients, "connect")
        # Every connection has its own timeout; this bounds the queue behind the handshakes.
        batches = math.ceil(per_client / options["connect_concurrency"])
        subscribed = gather(
            clients, "subscribed", args.connect_timeout * (batches + 1) + 60, workers
        )
        watchers = [w for answer in subscribed for w in answer[1]]
        extension = next((a[2] for a in subscribed if a[2] is not None), None)
        ok = sum(w["error"] is None for w in watchers)
        print(f"subscribed {ok:,} of {len(watchers):,} in {time.time() - times['go']:.1f} s")
        broadcast(clients, "phase", "idle")
        time.sleep(args.quiet)
        memory["subscribed"] = rss_kib(workers)
        if args.idle:
            print(f"holding {ok:,} subscriptions idle for {args.idle:g} s")
            time.sleep(args.idle)
        broadcast(clients, "phase", "burst")
        print(f"cancelling {len(orders):,} orders")
        cancels, *burst = cancel_all(args, cancel_document, orders)
        broadcast(clients, "collect", burst[1] + args.deadline)
        events = gather(clients, "events", args.deadline + 60, workers)
        watchers = [w for answer in events for w in answer[1]]
        broadcast(clients, "disconnect")
        closed = gather(clients, "closed", 120, workers)
        times["disconnect"] = max(answer[1] for answer in closed)
        time.sleep(args.settle)
        memory["after"] = rss_kib(workers)
        restarted = workers_of(server.pid) != workers
        crashed, exceptions = server_exceptions(logs / "gunicorn.log")
    finally:
        for process, conn in clients:
            conn.close()
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for running in (server, http):
            if running is not None:
                stop_server(running)
        clear_keys(args.redis)

    raw = {"watchers": watchers, "cancels": cancels, "burst": burst, "memory": memory}
    (logs / "raw.json").write_text(json.dumps({**raw, "times": times}))
    table, notes = summarise(args, watchers, cancels, tuple(burst), memory, times)
    info = machine()
    section = [
        f"### {args.subscribers:,} subscribers, {args.processes} "
        f"{'process' if args.processes == 1 else 'processes'}: run of {info['date']}",
        "",
        f"- Machine: {info['nproc']} CPUs ({info['cpu']}), shared with the client processes; "
        "`free -h`:",
        "",
        "```",
        info["free"],
        "```",
        "",
        f"- Server: as deployed, WebSockets by gunicorn + {args.processes} uvicorn "
        f"{'worker' if args.processes == 1 else 'workers'} (`backend.asgi`), HTTP by gunicorn + 2 "
        "sync workers (`backend.wsgi`); `bench.settings` (production, DEBUG off), PostgreSQL "
        f"`{args.database}`, Redis `{args.redis}` (cache and subscription events); WebSocket "
        f"extensions answered: `{extension or 'none'}`."
        + (" A worker was restarted during the run." if restarted else ""),
        f"- Data: {args.subscribers // 2:,} PENDING orders, each its own user's; each watched "
        f"(`WatchOrder`) by its owner and by one admin, each subscription on its own "
        f"connection. Client: {args.clients} "
        f"{'process' if args.clients == 1 else 'processes'} (asyncio, `websockets`, no client "
        "pings), "
        f"at most {args.connect_concurrency} handshakes in flight"
        + (f"; held idle {args.idle:g} s before the burst." if args.idle else "."),
        "- Connect: from the start of the connection to `connection_ack` and to the first "
        "`next` (the order as it is); wall time from the first attempt to the last first "
        "`next`. RSS: VmRSS summed over the uvicorn workers (not the master), before connecting "
        "(after a warm-up: 8 subscriptions opened and closed, "
        f"{4 * args.processes} other orders cancelled over HTTP), {args.quiet:g} s after the "
        f"last subscribed, and {args.settle:g} s "
        f"after all disconnected (closing took {times['disconnect']:.1f} s).",
        "- Fan-out: every order cancelled with `CancelOrder` over HTTP, its owner's token. "
        "Latency per subscriber: receipt of its CANCELLED `next` minus the order's `updatedAt` "
        "(stamped by the server as it saves the cancel, just before the commit; same clock), "
        "and minus the time the mutation's response came back (negative: the event came "
        "first). Lost: subscribed, the cancel answered CANCELLED, no CANCELLED event by the "
        "deadline. Dropped: closed by the server (close code, or no close frame), by phase.",
        "",
        table,
    ]
    if crashed or exceptions:
        notes.append(
            f'Server log: {crashed:,} "Exception in ASGI application"; errors by their last '
            f"exception: {failures(exceptions)}."
        )
    if notes:
        section += ["", *(f"- {note}" for note in notes)]
    text = "\n".join(section)
    print()
    print(text)
    if not args.no_write:
        write_results(text, args.subscribers, args.processes)
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
