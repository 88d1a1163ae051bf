"""The Celery app: configured from Django settings (namespace CELERY), tasks autodiscovered;
owed work swept when a worker starts; traced in each process that runs tasks."""

import os

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.development")

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
