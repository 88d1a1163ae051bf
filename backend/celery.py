"""The Celery app: configured from Django settings (namespace CELERY), tasks autodiscovered;
owed work swept when a worker starts."""

import os

from celery import Celery
from celery.signals import worker_ready

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
