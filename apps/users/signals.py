"""Side effects of changes to users, once the transaction has committed."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.users import tokens
from apps.users.models import User


@receiver(post_save, sender=User, dispatch_uid="users.retire_sessions")
def retire_sessions(sender, instance: User, created: bool, **kwargs) -> None:
    # Any saved change (a deactivation, a role, a name) from the API, the admin or a shell:
    # each process's cached row of that user is retired before the change answers.
    if not created:
        tokens.sessions_retire(instance)
