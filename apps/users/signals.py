"""Side effects of changes to users, once the transaction has committed."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.users import tokens
from apps.users.models import User


@receiver(post_save, sender=User, dispatch_uid="users.retire_sessions")
def retire_sessions(sender, instance: User, created: bool, **kwargs) -> None:
    # Any saved change (a deactivation, a role, a name) from the API, the admin or a shell:
    # each process's kept sessions of that user are retired before the change answers. (A
    # bare QuerySet.update() sends no signal: such a change is seen within SESSION_MAX_AGE.)
    if not created:
        tokens.sessions_retire(instance)


@receiver(post_delete, sender=User, dispatch_uid="users.retire_sessions_of_deleted")
def retire_sessions_of_deleted(sender, instance: User, **kwargs) -> None:
    tokens.sessions_retire(instance)
