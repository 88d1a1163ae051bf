"""Tasks of what the apps share: sending owed emails, and the sweep that finds lost ones."""

from collections.abc import Iterable

from celery import Task, shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

from apps.core import mail


def hand_back(task: Task, ids: Iterable[int], *, hold_for: float) -> int:
    """Enqueues `task` for each id not already handed back in the last `hold_for` seconds.

    A backlog keeps work owed past its threshold while its first task still waits in the
    queue; without the hold, every sweep would enqueue it again. (The tasks are idempotent:
    the hold only spares the duplicates. A cache that lost its keys hands back again.)
    """
    handed = 0
    for pk in ids:
        if cache.add(f"handed-back:{task.name}:{pk}", 1, timeout=hold_for):
            task.delay(pk)
            handed += 1
    return handed


@shared_task(
    bind=True,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError, DatabaseError),
    retry_backoff=True,
)
def send_email(self, email_id: int) -> bool:
    """Sends one owed email; retried on SMTP or database trouble, sent once (apps.core.mail)."""
    return mail.email_send(email_id=email_id)


@shared_task(acks_late=True)
def requeue_owed_emails() -> int:
    """Hands owed emails whose task was lost back to the workers (beat, and worker start-up)."""
    return hand_back(send_email, mail.emails_owed(), hold_for=settings.OWED_EMAIL_AFTER)
