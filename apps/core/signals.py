"""An owed email is handed to a worker once the change that owes it has committed."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.core.models import Email


@receiver(post_save, sender=Email, dispatch_uid="core.enqueue_email")
def enqueue_email(sender, instance: Email, created: bool, **kwargs) -> None:
    if created:
        from apps.core.tasks import send_email

        # robust: a broker that is down delays the email (the sweep sends it), never the change.
        transaction.on_commit(lambda: send_email.delay(instance.pk), robust=True)
