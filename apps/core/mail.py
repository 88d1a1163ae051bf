"""Emails owed by committed changes: recorded with the change, sent once, never lost.

A service calls `email_owe` inside its transaction, so the email exists if and only if the
change committed. Sending locks the row and marks it sent in the same transaction: a worker
that dies mid-send leaves it unsent (the lock goes with its connection), and two workers
never both send it. What is still unsent after OWED_EMAIL_AFTER seconds (a broker that lost
its queue, an enqueue that failed) is handed to the workers again by `emails_owed`' sweep.

No mail server takes a transaction: a worker killed between the server accepting the message
and the commit recording it sends it again. Both deliveries then carry the email's own
Message-ID, by which mail clients show one message.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone

from apps.core.models import Email


def email_owe(*, key: str, to: str, subject: str, body: str) -> Email:
    """Records the email `key` names as owed (once: owing it again changes nothing)."""
    email, _ = Email.objects.get_or_create(
        key=key, defaults={"to": to, "subject": subject, "body": body}
    )
    return email


def message_id(email: Email) -> str:
    """The same for every delivery of one owed email (RFC 5322 `Message-ID`)."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    local = "".join(c if c.isalnum() or c in "-_" else "." for c in email.key)
    return f"<{local}.{email.pk}@{domain}>"


def email_send(*, email_id: int) -> bool:
    """Sends an owed email; False when it was sent already or another worker is sending it."""
    with transaction.atomic():
        email = (
            Email.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, sent_at__isnull=True)
            .first()
        )
        if email is None:
            return False
        EmailMessage(
            subject=email.subject,
            body=email.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
            headers={"Message-ID": message_id(email)},
        ).send()
        email.sent_at = timezone.now()
        email.save(update_fields=["sent_at"])
    return True


def emails_owed() -> list[int]:
    """Unsent emails owed for longer than OWED_EMAIL_AFTER: their enqueue or task was lost."""
    cutoff = timezone.now() - timedelta(seconds=settings.OWED_EMAIL_AFTER)
    return list(
        Email.objects.filter(sent_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )


def emails_owed_backlog() -> tuple[int, datetime | None]:
    """How many emails are owed and not sent yet, and since when the oldest (the metrics)."""
    backlog = Email.objects.filter(sent_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    return backlog["count"], backlog["oldest"]
