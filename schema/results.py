"""Objects a mutation returns, loaded the way a query would load them."""

from typing import TypeVar

from django.db import models
from strawberry import Info
from strawberry_django.optimizer import optimizer

M = TypeVar("M", bound=models.Model)


def reload_for_selection(instance: M, info: Info) -> M:
    """Reloads a just-written object with the annotations and prefetches the selection needs.

    The schema's own optimizer extension does it, so the result obeys the same
    configuration (and the same visibility on related objects) as any query.
    """
    queryset = type(instance)._default_manager.filter(pk=instance.pk)
    extension = optimizer.get()
    if extension is not None:
        queryset = extension.optimize(queryset, info=info)
    return queryset.get()
