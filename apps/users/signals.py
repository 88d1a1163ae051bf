"""A new user is welcomed by email from a background task, once its transaction has committed."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.users.models import User


@receiver(post_save, sender=User, dispatch_uid="users.enqueue_welcome_email")
def enqueue_welcome_email(sender, instance: User, created: bool, **kwargs) -> None:
    if created:
        from apps.users.tasks import send_welcome_email

        transaction.on_commit(lambda: send_welcome_email.delay(instance.pk))
