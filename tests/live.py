"""Live processes the tests start for real: web servers and Celery workers on the PostgreSQL test
database and Redis, under the settings a deployment uses (test, development or production).

A pytest plugin (tests/conftest.py loads it): the fixtures `start_server` and `start_worker`
start processes that are stopped after the test; both skip the test, with the reason, where
PostgreSQL or Redis is missing. Each test run has its own Celery queue and each test its own
cache key prefix, so runs sharing one Redis never take each other's tasks, and no test reads what
another one cached (a persisted query, a product list).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
import redis
from django.db import connection

from backend.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 15
BROKER_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
# The cache, and the subscription events between workers and web processes.
CHANNELS_REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/14"

DEVELOPMENT = {"DJANGO_SETTINGS_MODULE": "backend.settings.development"}
# What backend.settings.production requires, for a server on plain http at 127.0.0.1.
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.production",
    "SECRET_KEY": "live-test-production-key-Zq8!vR2#wL9pT4xN6bM1cD3fG5hY7jK0",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
}


def redis_up() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5):
            return True
    except OSError:
        return False


def missing_services() -> str | None:
    """Why live processes cannot run here, or None when PostgreSQL and Redis are both there."""
    if connection.vendor != "postgresql":
        return "needs PostgreSQL (DATABASE_URL) for a live process to share the test database"
    if not redis_up():
        return f"needs Redis on {REDIS_HOST}:{REDIS_PORT} (broker, cache, subscription events)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


@dataclass
class Process:
    process: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to acknowledge or hand back anything."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text()


class Beat(Process):
    """A `celery beat` process."""


class Worker(Process):
    """A `celery worker` process."""

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while "ready." not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.output()}")
            time.sleep(0.2)


def stop_all(processes: list[Process]) -> None:
    """All told first, so that their shutdowns overlap; then each waited for."""
    for process in processes:
        if process.process.poll() is None:
            process.process.terminate()
    for process in processes:
        process.stop()


@dataclass
class Server(Process):
    port: int

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql/"

    def answers(self) -> bool:
        """True once the application answers HTTP (any status): it has loaded."""
        try:
            with urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                return True
        except HTTPError:
            return True
        except OSError:
            return False


def _server_command(command: str, port: int) -> tuple[list[str], dict[str, str]]:
    """The command line and extra environment of each way the project is served."""
    if command == "uvicorn":
        # Like gunicorn's worker (backend/gunicorn_worker.py), the peer address is left alone:
        # the app reads X-Forwarded-For itself, behind TRUSTED_PROXY_COUNT proxies.
        app = "backend.asgi:application"
        return [sys.executable, "-m", "uvicorn", app, f"--port={port}", "--no-proxy-headers"], {}
    if command == "gunicorn":  # the ASGI app (WebSockets and HTTP), gunicorn.conf.py
        bind = {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
        return [sys.executable, "-m", "gunicorn", "backend.asgi:application"], bind
    if command == "gunicorn-wsgi":  # the deployment's HTTP service, gunicorn.conf.py
        bind = {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
        return [sys.executable, "-m", "gunicorn", "backend.wsgi:application"], bind
    if command == "runserver":  # scripts/dev's (daphne; static files served under DEBUG)
        return [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], {}
    raise ValueError(f"unknown server command {command!r}")


@dataclass
class RedisServer:
    """A `redis-server` of the test's own (no persistence), to stop, pause and start again
    without touching the shared one: Redis down, for real."""

    port: int
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )
        wait_for(self._answers, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        """Down: connections are refused (its data is gone with it)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        """Unreachable but not gone (a network partition, a stalled host): connections hang,
        and its data is there again after `resume`."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    """A running `redis-server` of the test's own; stopped (resumed first) afterwards."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on the PATH")
    server = RedisServer(port=free_port(), log=tmp_path / "redis-server.log")
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.resume()
    server.stop()


@pytest.fixture
def live_services() -> None:
    """Skips the test, saying why, where PostgreSQL or Redis is missing."""
    if reason := missing_services():
        pytest.skip(reason)


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    directory = tmp_path / "mail"
    directory.mkdir()
    return directory


@pytest.fixture
def queue(settings) -> str:
    """The test run's own queue (test settings), so runs sharing one Redis stay apart."""
    return settings.CELERY_TASK_DEFAULT_QUEUE


@pytest.fixture
def broker(live_services, queue) -> Iterator[None]:
    """Tasks go to Redis (not in-process) while the test runs; the queue starts empty."""
    queues = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    queues.delete(queue)
    assert celery_app.conf.broker_url == BROKER_URL  # backend.settings.test
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True
    queues.delete(queue)


@pytest.fixture
def live_environment(broker, queue, mail_dir) -> Callable[[], dict[str, str]]:
    """The environment every live process of a test shares (read once the test database exists):
    the test database, this run's queue on the broker, Redis for the cache (under this test's own
    key prefix) and subscription events, mail written to `mail_dir`; test settings unless a test
    says otherwise."""
    cache_key_prefix = f"{queue}-{uuid.uuid4().hex[:8]}"

    def environment() -> dict[str, str]:
        db = connection.settings_dict
        return os.environ | {
            "DJANGO_SETTINGS_MODULE": "backend.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "EMAIL_URL": f"filemail:///{mail_dir.as_posix().lstrip('/')}",
            "REDIS_URL": CHANNELS_REDIS_URL,
            "CACHE_KEY_PREFIX": cache_key_prefix,
        }

    return environment


@pytest.fixture
def start_worker(live_environment, queue, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Starts `celery worker` processes on the test database; all are stopped afterwards.

    Keyword arguments are environment variables (settings), e.g. `**DEVELOPMENT`; `wait=False`
    returns at once (`wait_ready()` later), to start a server meanwhile; `pool="prefork"` runs
    tasks in two forked children, as deployments do, instead of four threads."""
    workers: list[Worker] = []

    def start(*, wait: bool = True, pool: str = "threads", **settings: str) -> Worker:
        log = tmp_path / f"worker-{len(workers)}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backend",
                "worker",
                f"--pool={pool}",
                f"--concurrency={2 if pool == 'prefork' else 4}",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                f"--hostname={queue}-{len(workers)}@%h",
                f"--queues={queue}",
            ],
            cwd=ROOT,
            env=live_environment() | settings,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        worker = Worker(process, log)
        workers.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    yield start
    stop_all(workers)


@pytest.fixture
def start_server(live_environment, tmp_path) -> Iterator[Callable[..., Server]]:
    """Starts web processes on the test database and Redis; all are stopped afterwards.

    `command` is how the project is served: "uvicorn" (default), "gunicorn" (the ASGI app, as
    the deployment serves WebSockets), "gunicorn-wsgi" (the WSGI app, as it serves HTTP) or
    "runserver" (scripts/dev's). Keyword arguments are environment variables
    (settings), e.g. `**PRODUCTION`."""
    servers: list[Server] = []

    def start(command: str = "uvicorn", **settings: str) -> Server:
        port = free_port()
        argv, extra = _server_command(command, port)
        log = tmp_path / f"server-{port}.log"
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=live_environment() | extra | settings,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        server = Server(process, log, port)
        servers.append(server)
        deadline = time.monotonic() + 30
        while not server.answers():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{server.output()}")
            time.sleep(0.2)
        return server

    yield start
    stop_all(servers)


@pytest.fixture
def start_beat(live_environment, tmp_path) -> Iterator[Callable[..., Beat]]:
    """Starts `celery beat` processes (keyword arguments: settings); stopped afterwards."""
    beats: list[Beat] = []

    def start(**settings: str) -> Beat:
        log = tmp_path / f"beat-{len(beats)}.log"
        schedule = tmp_path / f"celerybeat-schedule-{len(beats)}"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "backend", "beat", f"--schedule={schedule}"],
            cwd=ROOT,
            env=live_environment() | settings,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        beat = Beat(process, log)
        beats.append(beat)
        return beat

    yield start
    stop_all(beats)
