"""Options every email task shares: retried on SMTP or database trouble, acknowledged only when
done; sending itself is once-only (apps.core.mail)."""

from django.db import DatabaseError

EMAIL_TASK_OPTIONS = {
    "bind": True,
    "max_retries": 5,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OSError, DatabaseError),
    "retry_backoff": True,
}
