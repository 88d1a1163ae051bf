"""GET /healthz, with live dependencies and with stopped ones (closed ports)."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.django_db
def test_healthy_without_a_broker(client, settings):
    settings.CELERY_BROKER_URL = settings.IN_PROCESS_BROKER
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}


@pytest.mark.django_db
@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379 as the broker")
def test_healthy_with_a_live_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    assert client.get("/healthz").json()["broker"] == "ok"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again once the socket is


@pytest.mark.parametrize(
    "down", [("database", "cache", "broker"), ("broker",)], ids=["all", "broker"]
)
def test_stopped_dependencies_make_it_503_with_the_parts_marked(down, tmp_path):
    port = _closed_port()
    script = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz'); print(r.status_code, json.dumps(r.json()))"
    )
    closed = {
        "database": {"DATABASE_URL": f"postgres://nobody@127.0.0.1:{port}/nothing"},
        "cache": {"REDIS_URL": f"redis://127.0.0.1:{port}/0"},
        "broker": {"CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/1"},
    }
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "backend.settings.development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'health.sqlite3'}",
        "REDIS_URL": "",
        "ALLOWED_HOSTS": "testserver",
        "LOG_LEVEL": "CRITICAL",
    }
    for part in down:
        env |= closed[part]
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    status, body = result.stdout.strip().split(" ", 1)
    assert status == "503", result.stderr
    expected = {part: ("error" if part in down else "ok") for part in closed}
    assert json.loads(body) == {"status": "error", **expected}
