"""Metrics from real processes: gunicorn with two workers (multiprocess mode: a scrape adds up
both workers' files, whichever answers it) and a Celery worker serving its own port."""

import socket
import time
from pathlib import Path
from urllib.request import Request, urlopen

import httpx
import pytest
from strawberry.relay import to_base64

from apps.users import tokens
from schema.core.operations import operation
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.live import wait_for
from tests.metrics import Samples, parse, requests, value

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "integration-metrics-token-Lw4"
# Ports for the metrics servers these tests start.
PORTS = range(18200, 18300)


def free_port_in(ports: range = PORTS) -> int:
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports}")


def scrape(url: str, token: str | None = TOKEN) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urlopen(Request(url, headers=headers), timeout=10) as response:
        return parse(response.read().decode())


def test_a_scrape_adds_up_every_gunicorn_worker(start_server, tmp_path):
    files = tmp_path / "metrics"
    server = start_server(
        "gunicorn",
        WEB_CONCURRENCY="2",
        METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(files),
    )
    metrics_url = f"http://127.0.0.1:{server.port}/metrics"
    catalog = {"query": operation("Catalog"), "variables": {"first": 1}}
    sent = 0
    # A connection per request, until both workers have served some (each writes its own files).
    deadline = time.monotonic() + 30
    while len(_pids(files)) < 2 or sent < 20:
        assert time.monotonic() < deadline, f"one worker served all: {_pids(files)}"
        assert httpx.post(server.http_url, json=catalog, timeout=10).status_code == 200
        sent += 1

    answers = [requests(scrape(metrics_url), "Catalog", "query", "OK") for _ in range(6)]
    assert answers == [sent] * 6  # whichever worker answered, the sum of both


def _pids(directory: Path) -> set[str]:
    return {path.stem.rpartition("_")[2] for path in directory.glob("histogram_*.db")}


def test_the_worker_serves_its_tasks_and_heartbeat_and_the_web_the_queue(
    start_server, start_worker, queue
):
    user = UserFactory()
    product = ProductFactory(stock=3)
    bearer = tokens.token_obtain(email=user.email, password=PASSWORD, client_address="t")
    worker_port = free_port_in()
    start_worker(WORKER_METRICS_PORT=str(worker_port))
    server = start_server(METRICS_TOKEN=TOKEN)
    worker_url = f"http://127.0.0.1:{worker_port}/metrics"
    web_url = f"http://127.0.0.1:{server.port}/metrics"

    started = time.time()
    place = {
        "query": operation("PlaceOrder"),
        "variables": {"items": [{"productId": to_base64("Product", product.pk), "quantity": 1}]},
    }
    headers = {"Authorization": f"Bearer {bearer.access_token}"}
    placed = httpx.post(server.http_url, json=place, headers=headers, timeout=10).json()
    assert placed["data"]["createOrder"]["status"] == "PENDING"

    task = "apps.orders.tasks.process_order"
    runs = "shop_celery_task_duration_seconds_count"
    confirmed = {"from_status": "pending", "to_status": "confirmed"}
    transitions = "shop_order_status_transitions_total"
    wait_for(
        lambda: value(scrape(worker_url, None), transitions, **confirmed) == 1,
        what="the worker's metrics to count the order's confirmation",
    )
    worker = scrape(worker_url, None)
    assert value(worker, runs, task=task) >= 1
    # Every task's failures and retries have a series from the start.
    assert ("shop_celery_task_failures_total", frozenset({("task", task)})) in worker
    assert ("shop_celery_task_retries_total", frozenset({("task", task)})) in worker
    heartbeat = value(worker, "shop_celery_worker_last_heartbeat_timestamp_seconds")
    assert started - 30 < heartbeat <= time.time()
    # The web process counted the placement, the worker the confirmation.
    web = scrape(web_url)
    assert value(web, transitions, from_status="none", to_status="pending") == 1
    assert value(web, transitions, **confirmed) == 0
    assert requests(web, "PlaceOrder", "mutation", "OK") == 1
    assert value(web, "shop_celery_queue_length", queue=queue) == 0
    assert ("shop_celery_queue_length", frozenset({("queue", queue)})) in web
