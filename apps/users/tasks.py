"""User tasks: thin, take ids, idempotent."""

from celery import shared_task
from django.db import DatabaseError

from apps.users import services


@shared_task(
    bind=True,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError, DatabaseError),
    retry_backoff=True,
)
def send_welcome_email(self, user_id: int) -> bool:
    """The one welcome email of a new user."""
    return services.user_welcome_send(user_id=user_id)
