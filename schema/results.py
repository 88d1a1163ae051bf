"""Objects a mutation returns, loaded the way a query would load them."""

from typing import TypeVar

from django.db import models
from strawberry import Info
from strawberry_django.optimizer import optimize

M = TypeVar("M", bound=models.Model)


def reload_for_selection(instance: M, info: Info) -> M:
    """Reloads a just-written object with the annotations and prefetches the selection needs."""
    queryset = type(instance)._default_manager.filter(pk=instance.pk)
    return optimize(queryset, info).get()
