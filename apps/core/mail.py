"""Emails that must go out once, even when the task sending them runs twice."""

from collections.abc import Callable

from django.db.models import QuerySet
from django.utils import timezone


def send_once(*, claim: QuerySet, sent_at_field: str, send: Callable[[], None]) -> bool:
    """Claims the row (an atomic UPDATE of `sent_at_field`), then sends; False if already sent.

    A failed send releases the claim, so a retry sends it.
    """
    now = timezone.now()
    claimed = claim.filter(**{f"{sent_at_field}__isnull": True}).update(**{sent_at_field: now})
    if not claimed:
        return False
    try:
        send()
    except Exception:
        claim.filter(**{sent_at_field: now}).update(**{sent_at_field: None})
        raise
    return True
