"""Real Celery workers against Redis and PostgreSQL, started by the tests themselves."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis
from django.db import connection

from backend.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent.parent
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 15
BROKER_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
# The channel layer that carries subscription events between workers and web processes.
CHANNELS_REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/14"


def _redis_up() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config, items) -> None:
    reason = None
    if connection.vendor != "postgresql":
        reason = "needs PostgreSQL (DATABASE_URL) for a worker process to share the test database"
    elif not _redis_up():
        reason = f"needs Redis on {REDIS_HOST}:{REDIS_PORT} as the Celery broker"
    if reason:
        for item in items:
            if "integration" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to acknowledge or hand back anything."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while "ready." not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.output()}")
            time.sleep(0.2)


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    directory = tmp_path / "mail"
    directory.mkdir()
    return directory


def sent_mail(mail_dir: Path, subject: str) -> list[str]:
    """Messages the worker wrote with the file email backend, filtered by subject."""
    messages = []
    for path in sorted(mail_dir.glob("*.log")):
        messages += [m for m in path.read_text().split("-" * 79) if f"Subject: {subject}" in m]
    return messages


@pytest.fixture
def queue(settings) -> str:
    """The test run's own queue (test settings), so runs sharing one Redis stay apart."""
    return settings.CELERY_TASK_DEFAULT_QUEUE


@pytest.fixture
def broker(queue) -> Iterator[None]:
    """Tasks go to Redis (not in-process) while the test runs; the queue starts empty."""
    queues = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    queues.delete(queue)
    assert celery_app.conf.broker_url == BROKER_URL  # backend.settings.test
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True
    queues.delete(queue)


@pytest.fixture
def start_worker(broker, queue, mail_dir, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Starts `celery worker` processes on the test database; all are stopped afterwards.

    `wait=False` returns at once (`wait_ready()` later), to start a server meanwhile."""
    workers: list[Worker] = []

    def start(*, wait: bool = True, **settings: str) -> Worker:
        db = connection.settings_dict
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "backend.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "EMAIL_URL": f"filemail:///{mail_dir.as_posix().lstrip('/')}",
            "REDIS_URL": CHANNELS_REDIS_URL,
            **settings,
        }
        log = tmp_path / f"worker-{len(workers)}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backend",
                "worker",
                "--pool=threads",
                "--concurrency=4",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                f"--hostname={queue}-{len(workers)}@%h",
                f"--queues={queue}",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        worker = Worker(process, log)
        workers.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    yield start
    for worker in workers:  # all told first: their shutdowns overlap
        if worker.process.poll() is None:
            worker.process.terminate()
    for worker in workers:
        worker.stop()


class ProductLock:
    """Holds a row lock on a product from a connection of its own, as a busy order would."""

    def __init__(self, product) -> None:
        db = connection.settings_dict
        self.conn = psycopg.connect(
            dbname=db["NAME"], host=db["HOST"], port=db["PORT"], user=db["USER"]
        )
        self.conn.execute(
            "SELECT 1 FROM catalog_product WHERE id = %s FOR NO KEY UPDATE", [product.pk]
        )

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


def wait_for(condition: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql/"


@pytest.fixture
def start_server(broker, queue, tmp_path) -> Iterator[Callable[..., Server]]:
    """Starts `uvicorn backend.asgi:application` processes on the test database and Redis.

    Like gunicorn's worker (backend/gunicorn_worker.py), uvicorn leaves the peer address alone:
    the app reads X-Forwarded-For itself. `gunicorn=True` serves with gunicorn.conf.py, as
    production does (one worker); keyword settings go to the server's environment.
    """
    servers: list[Server] = []

    def start(*, gunicorn: bool = False, **settings: str) -> Server:
        db = connection.settings_dict
        port = _free_port()
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "backend.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": CHANNELS_REDIS_URL,
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            **settings,
        }
        log = tmp_path / f"server-{port}.log"
        app = "backend.asgi:application"
        command = (
            ["-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers", "1"]
            if gunicorn
            else ["-m", "uvicorn", app, "--port", str(port), "--no-proxy-headers"]
        )
        process = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        server = Server(process, port, log)
        servers.append(server)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return server
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start:\n{log.read_text()}") from None
                time.sleep(0.2)

    yield start
    for server in servers:
        server.process.terminate()
    for server in servers:
        server.process.wait(timeout=15)
