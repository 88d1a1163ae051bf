"""Tasks of what the apps share: sending owed emails, and the sweep that finds lost ones."""

from celery import shared_task
from django.db import DatabaseError

from apps.core import mail


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
    email_ids = mail.emails_owed()
    for email_id in email_ids:
        send_email.delay(email_id)
    return len(email_ids)
