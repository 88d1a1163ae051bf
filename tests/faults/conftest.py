"""The fault suite's stack: a Redis of its own (stopped and restarted empty by the tests), the
API as deployed (gunicorn, 2 uvicorn workers, production settings), a Celery worker and beat
with short thresholds, and clients placing orders and registering while faults are injected."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings
from django.db import connection

from apps.users import tokens
from schema.core.operations import operation
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.live import PRODUCTION, Process, Server, Worker, free_port, wait_for

# Seconds of load around each fault: short in the suite; `FAULT_LOAD_SECONDS=180` gives the
# README's figures (60 s before the fault, 60 s of it, 60 s after).
LOAD_SECONDS = float(os.environ.get("FAULT_LOAD_SECONDS", "12"))
CLIENTS = 6
# Seconds a supervisor waits before it restarts a process that exited.
RESTART_DELAY = 2.0
WEB_APPLICATION_NAME = "fault-suite-web"


def pytest_collection_modifyitems(config, items) -> None:
    reason = None
    if shutil.which("redis-server") is None:
        reason = "needs redis-server (the suite starts and stops a Redis of its own)"
    if reason:
        for item in items:
            if "faults" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


class RedisServer:
    """A redis-server on a free port that keeps nothing on disk: restarted, it is empty."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=10, what="redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


ROOT_FIELDS = {
    "order": "createOrder",
    "register": "register",
    "sign-in": "obtainToken",
    "catalog": "products",
}


@dataclass
class Outcome:
    """One request of the load, as its client saw it."""

    kind: str  # "order", "register", "sign-in" or "catalog"
    key: str  # the idempotency key, or the email registered or signed in with
    ok: bool
    status: int | None
    code: str | None = None
    order_id: str | None = None
    json: bool = True
    started: float = 0.0  # when the request was sent
    at: float = field(default_factory=time.monotonic)  # when its answer came


@dataclass
class Load:
    """Clients, until stopped, placing orders (each with a fresh idempotency key) and, one
    request in five, reading the catalog (cached) anonymously; one in ten registering, then
    signing in as the new user (the login limiter)."""

    url: str
    tokens: list[str]
    product_ids: list[str]
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for n in range(CLIENTS):
            thread = threading.Thread(target=self._client, args=(n,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> list[Outcome]:
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=60)
        return self.outcomes

    def _client(self, n: int) -> None:
        with httpx.Client(timeout=30) as client:
            i = 0
            while not self.stopped.is_set():
                i += 1
                if i % 10 == 0:
                    registered = self._register(client, f"c{n}-{uuid.uuid4().hex[:10]}")
                    self.outcomes.append(registered)
                    if registered.ok:
                        self.outcomes.append(self._sign_in(client, registered.key))
                elif i % 5 == 0:
                    self.outcomes.append(self._catalog(client))
                else:
                    self.outcomes.append(self._order(client, n, i))

    def _post(self, client: httpx.Client, body: dict, token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.post(self.url, json=body, headers=headers)

    def _order(self, client: httpx.Client, n: int, i: int) -> Outcome:
        key = f"c{n}-{i}-{uuid.uuid4().hex[:8]}"
        first, second = (n + i) % len(self.product_ids), (n + 2 * i) % len(self.product_ids)
        items = [{"productId": self.product_ids[first], "quantity": 1 + i % 3}]
        if second != first:
            items.append({"productId": self.product_ids[second], "quantity": 1})
        body = {
            "query": operation("PlaceOrderOnce"),
            "variables": {"items": items, "idempotencyKey": key},
        }
        return self._outcome("order", key, client, body, self.tokens[n % len(self.tokens)])

    def _register(self, client: httpx.Client, local: str) -> Outcome:
        email = f"{local}@faults.example"
        variables = {"input": {"email": email, "name": "Fault", "password": PASSWORD}}
        body = {"query": operation("Register"), "variables": variables}
        return self._outcome("register", email, client, body, None)

    def _sign_in(self, client: httpx.Client, email: str) -> Outcome:
        variables = {"email": email, "password": PASSWORD}
        body = {"query": operation("ObtainToken"), "variables": variables}
        return self._outcome("sign-in", email, client, body, None)

    def _catalog(self, client: httpx.Client) -> Outcome:
        body = {"query": operation("Catalog"), "variables": {"first": 5}}
        return self._outcome("catalog", "", client, body, None)

    def _outcome(self, kind, key, client, body, token) -> Outcome:
        started = time.monotonic()
        outcome = self._answer(kind, key, client, body, token)
        outcome.started = started
        return outcome

    def _answer(self, kind, key, client, body, token) -> Outcome:
        try:
            response = self._post(client, body, token)
        except httpx.HTTPError:
            return Outcome(kind, key, ok=False, status=None, code="TRANSPORT")
        try:
            answer = response.json()
        except ValueError:
            return Outcome(kind, key, ok=False, status=response.status_code, json=False)
        errors = answer.get("errors") or []
        data = (answer.get("data") or {}).get(ROOT_FIELDS[kind])
        if errors or data is None:
            code = (errors[0].get("extensions") or {}).get("code") if errors else None
            return Outcome(kind, key, ok=False, status=response.status_code, code=code)
        return Outcome(kind, key, ok=True, status=response.status_code, order_id=data.get("id"))


@dataclass
class Stack:
    redis: RedisServer
    server: Server
    worker: Worker
    beat: Process
    mail_dir: Path
    settings: dict[str, str]
    start_worker: Callable[..., Worker]
    start_beat: Callable[..., Process]
    restarts: Counter[str] = field(default_factory=Counter)
    stopping: threading.Event = field(default_factory=threading.Event)

    def supervise(self) -> None:
        """Restarts a worker or beat that exited, after RESTART_DELAY seconds, as a deployment's
        supervisor does (compose's `restart: unless-stopped`, systemd's `Restart=always`)."""
        while not self.stopping.wait(0.2):
            if self.worker.process.poll() is not None:
                time.sleep(RESTART_DELAY)
                self.worker = self.start_worker(wait=False, **self.settings)
                self.restarts["worker"] += 1
            if self.beat.process.poll() is not None:
                time.sleep(RESTART_DELAY)
                self.beat = self.start_beat(**self.settings)
                self.restarts["beat"] += 1

    def health(self) -> tuple[int, dict]:
        response = httpx.get(f"http://127.0.0.1:{self.server.port}/healthz", timeout=10)
        return response.status_code, response.json()

    def deliveries(self) -> list[tuple[str, str]]:
        """(subject, Message-ID) of every message the worker wrote (the file email backend)."""
        found = []
        for path in self.mail_dir.glob("*.log"):
            for message in path.read_text().split("-" * 79):
                headers = dict(
                    line.split(": ", 1) for line in message.strip().splitlines() if ": " in line
                )
                if "Subject" in headers:
                    found.append((headers["Subject"], headers.get("Message-ID", "")))
        return found

    def all_subjects(self) -> list[str]:
        return [subject for subject, _ in self.deliveries()]


@pytest.fixture
def stack(start_server, start_worker, start_beat, mail_dir, tmp_path) -> Iterator[Stack]:
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    db = connection.settings_dict
    settings = {
        "REDIS_URL": f"{redis_server.url}/0",
        "CELERY_BROKER_URL": f"{redis_server.url}/1",
        # Short thresholds: owed work is handed back within seconds, not minutes.
        "ORDER_STALE_AFTER": "3",
        "OWED_EMAIL_AFTER": "3",
        "OWED_WORK_SWEEP_EVERY": "2",
        "CELERY_VISIBILITY_TIMEOUT": "10",
        # Tokens issued by the test process (test settings) are valid for the API.
        "JWT_SIGNING_KEY": django_settings.SECRET_KEY,
        "LOG_LEVEL": os.environ.get("FAULT_LOG_LEVEL", "WARNING"),
    }
    web = (
        PRODUCTION
        | settings
        | {
            "WEB_CONCURRENCY": "2",
            "DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
                f"?application_name={WEB_APPLICATION_NAME}"
            ),
        }
    )
    server = start_server("gunicorn", **web)
    # The worker and beat as deployed too (production settings: the connection pool, JSON logs).
    settings = PRODUCTION | settings
    stack = Stack(
        redis_server,
        server,
        start_worker(**settings),
        start_beat(**settings),
        mail_dir,
        settings,
        start_worker,
        start_beat,
    )
    supervisor = threading.Thread(target=stack.supervise, daemon=True)
    supervisor.start()
    yield stack
    stack.stopping.set()
    supervisor.join(timeout=30)
    redis_server.stop()


@pytest.fixture
def shop(stack) -> dict:
    """Products with enough stock for most orders, and signed-in customers."""
    from strawberry.relay import to_base64

    products = [ProductFactory(stock=400, price="10.00") for _ in range(5)]
    users = UserFactory.create_batch(CLIENTS)
    access = [
        tokens.token_obtain(
            email=u.email, password=PASSWORD, client_address="127.0.0.1"
        ).access_token
        for u in users
    ]
    return {
        "products": products,
        "stock": {p.pk: p.stock for p in products},
        "tokens": access,
        "product_ids": [to_base64("Product", p.pk) for p in products],
    }


def run_load(
    stack: Stack,
    shop: dict,
    fault: Callable[[], None],
    recover: Callable[[], None],
    seconds: float = LOAD_SECONDS,
) -> tuple[list[Outcome], dict]:
    """Load for `seconds`: the fault at a third, the recovery at two thirds. Returns the
    outcomes and timings (when the first request succeeded again after the recovery)."""
    load = Load(stack.server.http_url, shop["tokens"], shop["product_ids"])
    load.start()
    time.sleep(seconds / 3)
    fault_at = time.monotonic()
    fault()
    time.sleep(seconds / 3)
    recovered_at = time.monotonic()
    recover()
    time.sleep(seconds / 3)
    outcomes = load.stop()
    return outcomes, {"fault_at": fault_at, "recovered_at": recovered_at}


def summary(name: str, outcomes: list[Outcome], stack: Stack, timings: dict) -> str:
    """One JSON line of figures: what was answered, what went out, how long recovery took."""
    by_kind: dict[str, dict[str, int]] = {}
    codes: Counter[str] = Counter()
    for o in outcomes:
        counts = by_kind.setdefault(o.kind, {"ok": 0, "failed": 0})
        counts["ok" if o.ok else "failed"] += 1
        if not o.ok:
            codes[o.code or str(o.status)] += 1
    failed_at = [o.at for o in outcomes if not o.ok]
    return json.dumps(
        {
            "fault": name,
            "load_seconds": LOAD_SECONDS,
            "requests": by_kind,
            "errors_by_code": dict(codes),
            "last_error_after_fault_s": round(max(failed_at) - timings["fault_at"], 2)
            if failed_at
            else None,
            "processes_restarted": dict(stack.restarts),
            "emails": len(set(stack.deliveries())),
            "deliveries": len(stack.deliveries()),
            "owed_work_drained_after_recovery_s": round(
                timings["drained_at"] - timings["recovered_at"], 1
            ),
        }
    )
