"""Objects a mutation or subscription returns, loaded the way a query would load them."""

from typing import TypeVar

from django.db import models
from strawberry_django.optimizer import OptimizerConfig, optimize

from schema.core.context import Info

M = TypeVar("M", bound=models.Model)

# The optimizer configuration, shared with the schema's DjangoOptimizerExtension.
OPTIMIZER_CONFIG = OptimizerConfig(prefetch_custom_queryset=True)


def load_for_selection(queryset: models.QuerySet[M], info: Info) -> M | None:
    """The first object of `queryset` with the annotations and prefetches the selection needs."""
    return optimize(queryset, info, config=OPTIMIZER_CONFIG).first()


def reload_for_selection(instance: M, info: Info) -> M:
    """Reloads a just-written object for the selection of the field that returns it."""
    loaded = load_for_selection(type(instance)._default_manager.filter(pk=instance.pk), info)
    assert loaded is not None
    return loaded
