"""Objects a mutation or subscription returns, loaded the way a query would load them."""

import dataclasses
import json
from collections.abc import Hashable
from typing import TypeVar

from django.db import models
from graphql import VariableNode, print_ast, visit
from graphql.language import Visitor
from strawberry_django.optimizer import OptimizerConfig, optimize

from schema.core.context import EVERY_ROW, Info

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


def load_all_for_selection(queryset: models.QuerySet[M], info: Info) -> list[M]:
    """Every object of `queryset` loaded for the selection as a viewer who sees every row
    would: one load shared by subscribers of different viewers, each then sent only what its
    own visibility rule lets it see (so nested rows must not narrow by viewer on that path)."""
    context = dataclasses.replace(info.context, viewer=EVERY_ROW)
    raw_info = info._raw_info._replace(context=context)
    return list(optimize(queryset, raw_info, config=OPTIMIZER_CONFIG))


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_) -> None:
        self.names.add(node.name.value)


def selection_key(info: Info) -> Hashable:
    """What decides how the field's objects load: its selection, the document's fragments and
    the variables the selection uses (not the field's own arguments). Equal keys, one load."""
    (field,) = info._raw_info.field_nodes
    used = _Variables()
    visit(field.selection_set, used)
    fragments = info._raw_info.fragments
    for fragment in fragments.values():
        visit(fragment, used)
    variables = {name: info.variable_values.get(name) for name in sorted(used.names)}
    return (
        print_ast(field.selection_set),
        tuple(print_ast(fragments[name]) for name in sorted(fragments)),
        json.dumps(variables, sort_keys=True, default=str),
    )
