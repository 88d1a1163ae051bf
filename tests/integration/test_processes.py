"""The README's process commands: gunicorn serving the WSGI app (HTTP) and the ASGI app
(WebSockets, or everything), and celery beat scheduling."""

import json
import os
import subprocess
import sys
import time
from urllib.request import urlopen

import pytest

from tests.live import BROKER_URL, ROOT, free_port, wait_for


@pytest.mark.parametrize("app", ["backend.wsgi:application", "backend.asgi:application"])
def test_gunicorn_serves_the_app(tmp_path, app):
    port = free_port()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "backend.settings.development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "CELERY_BROKER_URL": BROKER_URL,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    health = json.loads(response.read())
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.3)
        assert health == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_celery_beat_schedules_the_stale_order_sweep(tmp_path, queue):
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "backend.settings.test",
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    log = tmp_path / "beat.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "backend",
            "beat",
            "--loglevel=DEBUG",
            f"--schedule={tmp_path / 'celerybeat-schedule'}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        # Beat lists its schedule at start (the first run is a minute later).
        wait_for(lambda: "requeue-stale-orders" in log.read_text(), what="beat's schedule")
        assert "apps.orders.tasks.requeue_stale_orders" in log.read_text()
        assert "<freq: 1.00 minute>" in log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)
