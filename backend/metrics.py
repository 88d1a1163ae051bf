"""Serving the metrics (apps/core/metrics.py defines them) to Prometheus.

The web processes answer `GET /metrics` only with `Authorization: Bearer <METRICS_TOKEN>`;
without METRICS_TOKEN the path does not exist (404). A Celery worker serves its own on
WORKER_METRICS_ADDRESS:WORKER_METRICS_PORT, from its main process, where that is set
(`backend/celery.py`). Under gunicorn and the Celery worker the answer adds up every process's
files (prometheus_client's multiprocess mode, `backend/multiprocess.py`); elsewhere it is the
one process's values.

Each web scrape also collects what no process records: the task queue's length, read from the
broker, and the work still owed, read from PostgreSQL. Each read has a deadline, so that a
broker or database that does not answer delays a scrape by seconds, never hangs it: its series
are then left out, and the failure logged.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from kombu import Connection
from kombu.exceptions import ChannelError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from apps.core import metrics
from apps.core.mail import emails_owed_backlog
from apps.orders.selectors import orders_pending_backlog
from schema.core import trusted_documents

logger = logging.getLogger(__name__)

# The path the request metrics count (RequestTimingMiddleware): GraphQL over HTTP.
API_PATH = "/graphql/"
# Seconds a scrape waits for the broker (to connect, then to answer), and for the database.
BROKER_TIMEOUT = 1.0
DATABASE_TIMEOUT_MS = 2000


def observe_graphql_request(
    request: HttpRequest, status: int, seconds: float, statements: int
) -> None:
    """One request to the GraphQL endpoint: its duration and its SQL statements.

    The operation is named as the apps name theirs (the trusted documents' manifest); any other
    name is `other`, so that clients cannot add series at will.
    """
    name = getattr(request, "graphql_operation_name", None)
    if name is None:
        operation = "anonymous"
    elif name in trusted_documents.operation_names():
        operation = name
    else:
        operation = "other"
    operation_type = getattr(request, "graphql_operation_type", None) or "unknown"
    code = getattr(request, "graphql_result_code", None) or _code_of_status(status)
    key = (operation, operation_type, code)
    series = _series.get(key)
    if series is None:
        series = _series[key] = (
            metrics.GRAPHQL_REQUEST_DURATION.labels(operation, operation_type, code),
            metrics.GRAPHQL_SQL_STATEMENTS.labels(operation),
        )
    duration, sql_statements = series
    duration.observe(seconds)
    sql_statements.inc(statements)


# Each label set's series, looked up once per process (`labels()` costs more than the update).
_series: dict[tuple[str, str, str], tuple] = {}


def _code_of_status(status: int) -> str:
    """The code of an answer the GraphQL view did not give (refused before it, or a 500)."""
    if status >= 500:
        return "INTERNAL_SERVER_ERROR"
    return "BAD_USER_INPUT" if status >= 400 else "OK"


def registry() -> CollectorRegistry:
    """What a scrape answers: every process's values (multiprocess mode) or this process's."""
    collected = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(collected)
    else:
        collected.register(REGISTRY)
    return collected


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """`GET /metrics` with the bearer token: this deployment's metrics, in Prometheus' text
    format. 404 without METRICS_TOKEN; 401 for another token (compared in constant time)."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    given = request.headers.get("Authorization", "").encode()
    if not hmac.compare_digest(given, f"Bearer {token}".encode()):
        return HttpResponse(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    collected = registry()
    collected.register(BacklogCollector())
    return HttpResponse(generate_latest(collected), content_type=CONTENT_TYPE_LATEST)


class BacklogCollector:
    """Read at each scrape: the broker's queue length, and the work owed but not yet done."""

    def describe(self) -> list:
        return []  # not collected when registered, only when scraped

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._queue()
        yield from self._owed_work()

    def _queue(self) -> Iterator[GaugeMetricFamily]:
        if settings.CELERY_BROKER_URL == settings.IN_PROCESS_BROKER:
            return  # no broker: tasks run in-process, nothing waits
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        try:
            length = _queue_length(queue)
        except Exception as error:
            logger.warning("metrics: the queue's length could not be read (%s)", error)
            return
        family = GaugeMetricFamily(
            "shop_celery_queue_length",
            "Tasks waiting in the broker's queue for a worker.",
            labels=["queue"],
        )
        family.add_metric([queue], length)
        yield family

    def _owed_work(self) -> Iterator[GaugeMetricFamily]:
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute(f"SET LOCAL statement_timeout = {DATABASE_TIMEOUT_MS}")
                backlogs = {"email": emails_owed_backlog(), "order": orders_pending_backlog()}
        except Exception as error:
            logger.warning("metrics: the owed work could not be read (%s)", error)
            return
        items = GaugeMetricFamily(
            "shop_owed_work_items",
            "Work owed by committed changes and not yet done: unsent emails, PENDING orders.",
            labels=["kind"],
        )
        oldest = GaugeMetricFamily(
            "shop_owed_work_oldest_age_seconds",
            "Age of the oldest item of owed work not yet done (0 when there is none).",
            labels=["kind"],
        )
        now = timezone.now()
        for kind, (count, since) in backlogs.items():
            items.add_metric([kind], count)
            oldest.add_metric([kind], (now - since).total_seconds() if since else 0.0)
        yield items
        yield oldest


def _queue_length(queue: str) -> int:
    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "socket_connect_timeout": BROKER_TIMEOUT,
        "socket_timeout": BROKER_TIMEOUT,
    }
    with Connection(
        settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT, transport_options=options
    ) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)
        try:
            return broker.default_channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:
            return 0  # not declared yet, or (Redis) empty


def serve_worker_metrics() -> None:
    """A Celery worker's metrics on WORKER_METRICS_ADDRESS:WORKER_METRICS_PORT, from a thread
    of its main process (its pool's processes write files that this adds up)."""
    start_http_server(
        settings.WORKER_METRICS_PORT, addr=settings.WORKER_METRICS_ADDRESS, registry=registry()
    )


def start_counting_tasks(task_names: list[str]) -> None:
    """Every task's series from 0, so that rates and alerts have them before the first run."""
    for name in task_names:
        metrics.CELERY_TASK_DURATION.labels(task=name)
        metrics.CELERY_TASK_RETRIES.labels(task=name)
        metrics.CELERY_TASK_FAILURES.labels(task=name)
