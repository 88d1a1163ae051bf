"""The Celery app: configured from Django settings (namespace CELERY), tasks autodiscovered;
owed work swept when a worker starts; tasks and the worker's heartbeat measured
(apps/core/metrics.py), and served where WORKER_METRICS_PORT is set (backend/metrics.py);
traced in each process that runs tasks (backend/telemetry.py)."""

import os
import time

from celery import Celery
from celery.signals import (
    heartbeat_sent,
    import_modules,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
)

from backend import multiprocess

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.development")


@import_modules.connect
def prepare_metrics_files(**kwargs) -> None:
    """First in a worker's (or beat's) start-up, before Django's set-up imports anything that
    records metrics (this receiver is connected before the app's own): with a metrics port,
    every process of the worker writes its metrics to one directory."""
    from django.conf import settings

    if settings.WORKER_METRICS_PORT:
        multiprocess.prepare("shop-worker-metrics-")


app = Celery("backend")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def deliver_owed_work(sender, **kwargs) -> None:
    """A worker that starts (after a crash, a deploy, a broker restarted empty) first hands
    back what is owed: PENDING orders and unsent emails past their thresholds."""
    sender.app.send_task("apps.orders.tasks.requeue_stale_orders")
    sender.app.send_task("apps.core.tasks.requeue_owed_emails")


@worker_process_init.connect
def trace_pool_process(**kwargs) -> None:
    """Each child of the prefork pool traces on its own, set up after its fork."""
    from backend import telemetry

    telemetry.setup(telemetry.WORKER)


@worker_init.connect
def trace_worker(sender, **kwargs) -> None:
    """The pools that run tasks in the worker's own process (threads, solo) trace there."""
    from celery.concurrency import get_implementation
    from celery.concurrency.prefork import TaskPool as PreforkPool

    from backend import telemetry

    if not issubclass(get_implementation(sender.pool_cls), PreforkPool):
        telemetry.setup(telemetry.WORKER)


@worker_ready.connect
def serve_metrics(sender, **kwargs) -> None:
    from django.conf import settings

    from backend import metrics

    metrics.start_counting_tasks(
        [name for name in sender.app.tasks if not name.startswith("celery.")]
    )
    _heartbeat()
    if settings.WORKER_METRICS_PORT:
        metrics.serve_worker_metrics()


@heartbeat_sent.connect
def _heartbeat(**kwargs) -> None:
    """The consumer's heartbeat (every 2 s): this worker takes tasks."""
    from apps.core import metrics

    metrics.CELERY_WORKER_HEARTBEAT.set_to_current_time()


# The handlers import the metrics when they run, not here: every process imports this module,
# and a worker must have chosen where its metrics go (above) before prometheus_client is loaded.

# When each task run started, by task id: its duration is measured from prerun to postrun.
_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id: str, **kwargs) -> None:
    _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id: str, task, **kwargs) -> None:
    from apps.core import metrics

    started = _started.pop(task_id, None)
    if started is not None:
        metrics.CELERY_TASK_DURATION.labels(task=task.name).observe(time.perf_counter() - started)


@task_retry.connect
def _task_retried(sender, **kwargs) -> None:
    from apps.core import metrics

    metrics.CELERY_TASK_RETRIES.labels(task=sender.name).inc()


@task_failure.connect
def _task_failed(sender, **kwargs) -> None:
    from apps.core import metrics

    metrics.CELERY_TASK_FAILURES.labels(task=sender.name).inc()


@worker_process_shutdown.connect
def _pool_process_exits(**kwargs) -> None:
    multiprocess.mark_process_dead(os.getpid())
