"""User tasks: thin, take ids, idempotent."""

from celery import shared_task

from apps.core.tasks import EMAIL_TASK_OPTIONS
from apps.users import services


@shared_task(**EMAIL_TASK_OPTIONS)
def send_welcome_email(self, user_id: int) -> bool:
    """The one welcome email of a new user."""
    return services.user_welcome_send(user_id=user_id)
