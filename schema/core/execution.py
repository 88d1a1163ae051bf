"""Fields read straight off the loaded rows; graphql-core's resolver machinery for the rest.

Most of a large answer is fields that strawberry-django resolves by reading what the
optimizer's queries already loaded: columns and annotations (`email`, `orderCount`), the
encoded primary key (`id`), a `select_related` object (`product`), a prefetched list
(`items`), an edge's node. Resolving each through graphql-core and strawberry (resolve info,
argument coercion, resolver and extension wrappers, the optimizer's hook, queryset hooks)
costs many times the read itself.

`PlannedExecutor` plans every field of an object type once per process. A field that takes
no arguments and has no resolver, permission or extension of its own gets a getter doing
the read the resolver would do. Scalar and enum fields are then read and serialised inline;
each object of an object or list field goes straight to the same field loop, without
graphql-core's per-value completion layers. Everything else (root fields with their
permission checks, connections, custom resolvers) runs through graphql-core as before.
Whenever a getter cannot give what the resolver would (a deferred column, an object not
loaded, a null where the schema forbids one, a value the scalar refuses), the field falls
back to its resolver, so answers and errors are the same either way:
`tests/schema/test_execution.py` runs every contract operation both ways and compares.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models.fields.related_descriptors import (
    ForwardManyToOneDescriptor,
    ReverseManyToOneDescriptor,
)
from django.db.models.query_utils import DeferredAttribute
from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Path
from strawberry import relay

from schema.core.compat import (
    GraphQLCoreConverter,
    ModelProperty,
    StrawberryDjangoField,
    StrawberryField,
    StrawberryGraphQLCoreExecutionContext,
    StrawberryObjectDefinition,
    gather_with_cancel,
    get_django_definition,
    get_object_definition,
    resolve_model_id,
    to_nodes,
)

Getter = Callable[[Any], Any]

# What a leaf reader returns when the field's resolver must run instead.
FALLBACK = object()

# `Node.id`'s resolver, a classmethod: bound to each Node type, the same function under it.
_NODE_ID_RESOLVER = get_object_definition(relay.Node, strict=True).get_field("_id").base_resolver
# strawberry's own `resolve_id`, and strawberry-django's for model types.
_STOCK_RESOLVE_ID = (relay.Node.resolve_id.__func__, resolve_model_id)


def _model_getter(field: StrawberryDjangoField, model: type, *, leaf: bool) -> Getter | None:
    """What strawberry-django's `get_result` returns without a query, where it reads one.

    Objects and lists only from the relation caches the optimizer filled: any other value
    (a property returning a queryset, say) must go through the field's queryset hooks.
    """
    name = field.django_name or field.python_name
    attribute = getattr(model, name, None)
    if not leaf:
        if isinstance(attribute, ForwardManyToOneDescriptor):
            # The object `select_related` or a prefetch put there; KeyError when it did not.
            return attribute.field.get_cached_value
        if isinstance(attribute, ReverseManyToOneDescriptor):
            return _prefetched_list_getter(field, attribute)
        return None
    if isinstance(attribute, DeferredAttribute):
        if attribute.field.attname != name:
            return None
        # KeyError when deferred: the resolver would load it.
        return lambda row: row.__dict__[name]
    if isinstance(attribute, ModelProperty):
        cached = attribute.name
        return lambda row: row.__dict__[cached]
    if attribute is None or isinstance(attribute, property):
        # An annotation the query added, or a plain property such as `pk` or `subtotal`.
        return lambda row: getattr(row, name)
    return None


def _prefetched_list_getter(
    field: StrawberryDjangoField, attribute: ReverseManyToOneDescriptor
) -> Getter | None:
    """A plain related list (`items`) as the optimizer prefetched it.

    Only where strawberry-django would hand the prefetched rows on unchanged: a list with no
    filters, ordering or pagination, of a type that does not narrow its querysets.
    """
    target = get_django_definition(field.django_type) if field.django_type else None
    if (
        not field.is_list
        or field.is_connection
        or field.is_paginated
        or target is None
        or hasattr(field.django_type, "get_queryset")
    ):
        return None
    cache_name = attribute.field.remote_field.cache_name

    def prefetched(row: Any) -> list:
        rows = row._prefetched_objects_cache[cache_name]._result_cache
        if rows is None:
            raise KeyError(cache_name)
        return rows

    return prefetched


def is_stock_node_id(origin: type, field: StrawberryField) -> bool:
    """Whether `field` is `Node.id` of a type that keeps strawberry's own id resolution: the
    global id of the type's name and the row's `resolve_id_attr()` (also read by
    `schema.core.compiled`)."""
    resolver = field.base_resolver
    return (
        resolver is not None
        and getattr(resolver.wrapped_func, "__func__", None)
        is _NODE_ID_RESOLVER.wrapped_func.__func__
        and issubclass(origin, relay.Node)
        and getattr(origin.resolve_id, "__func__", None) in _STOCK_RESOLVE_ID
        and origin.resolve_typename.__func__ is relay.Node.resolve_typename.__func__
    )


def _node_id_getter(origin: type, type_name: str) -> Getter:
    """`Node.id` as strawberry resolves it, for types that keep the stock id resolution."""
    resolve_id = origin.resolve_id

    def node_id(row: Any) -> relay.GlobalID:
        value = resolve_id(row, info=None)
        if not isinstance(value, str | int):
            raise TypeError(value)  # a deferred key, loaded asynchronously: not inline
        return relay.GlobalID(type_name=type_name, node_id=str(value))

    return node_id


def _getter(
    parent_type: GraphQLObjectType, field_def: GraphQLField, *, leaf: bool
) -> Getter | None:
    type_definition = parent_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(type_definition, StrawberryObjectDefinition) or field is None:
        return None
    if field_def.args or field.extensions or getattr(field, "permission_classes", None):
        return None
    origin = type_definition.origin
    if field.base_resolver is not None:
        if is_stock_node_id(origin, field):
            return _node_id_getter(origin, parent_type.name)
        return None
    if type(field) is StrawberryField and field.default_resolver is getattr:
        # A plain strawberry field (edges, an edge's node and cursor, `PageInfo`).
        name = field.python_name
        return lambda row: getattr(row, name)
    django_definition = get_django_definition(origin)
    if not isinstance(field, StrawberryDjangoField) or django_definition is None:
        return None
    return _model_getter(field, django_definition.model, leaf=leaf)


def _leaf_reader(getter: Getter, serialize: Callable[[Any], Any], *, nullable: bool) -> Getter:
    def read(row: Any) -> Any:
        try:
            value = getter(row)
            if value is None:
                # A null where the schema allows one; otherwise graphql-core raises the error.
                return None if nullable else FALLBACK
            serialized = serialize(value)
        except Exception:  # the resolver raises it again, as a field error
            return FALLBACK
        return FALLBACK if serialized is None else serialized

    return read


@dataclass(frozen=True)
class Plan:
    """One object type's planned fields: leaves read inline, objects and lists completed."""

    leaves: dict[str, Getter] = field(default_factory=dict)
    composites: dict[str, Getter] = field(default_factory=dict)


def plan(parent_type: GraphQLObjectType) -> Plan:
    planned = Plan(leaves={"__typename": lambda row: parent_type.name})
    for name, field_def in parent_type.fields.items():
        nullable = not is_non_null_type(field_def.type)
        field_type = field_def.type if nullable else field_def.type.of_type
        leaf = is_leaf_type(field_type)  # a scalar or enum itself, not a list of them
        if not leaf and is_leaf_type(get_named_type(field_type)):
            continue
        getter = _getter(parent_type, field_def, leaf=leaf)
        if getter is None:
            continue
        if leaf:
            planned.leaves[name] = _leaf_reader(getter, field_type.serialize, nullable=nullable)
        else:
            planned.composites[name] = getter
    return planned


_plans: dict[GraphQLObjectType, Plan] = {}


def plan_of(parent_type: GraphQLObjectType) -> Plan:
    planned = _plans.get(parent_type)
    if planned is None:
        planned = _plans[parent_type] = plan(parent_type)
    return planned


class PlannedExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with the planned fields read instead of resolved."""

    use_plans = True

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if not self.use_plans or path is None:  # root fields: resolvers and permissions
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        leaves = plan_of(parent_type).leaves
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                reader = None if node.arguments else leaves.get(node.name.value)
                if reader is not None:
                    value = reader(source_value)
                    if value is not FALLBACK:
                        results[response_name] = value
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
            results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        getter = (
            plan_of(parent_type).composites.get(node.name.value)
            if self.use_plans and not node.arguments
            else None
        )
        if getter is not None:
            try:
                result = getter(source)
            except Exception:
                result = None
            if result is not None:
                return self.complete_planned(
                    parent_type, field_details_list, path, result, position_context
                )
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def complete_planned(
        self,
        parent_type: GraphQLObjectType,
        field_details_list: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """`execute_field` from the point where the resolver has returned `result`."""
        field_def = parent_type.fields[field_details_list[0].node.name.value]
        return_type = field_def.type
        try:
            completed = FALLBACK
            if position_context is None and not self.in_event_loop:
                completed = self.complete_objects(return_type, field_details_list, path, result)
            if completed is FALLBACK:
                info = self.build_resolve_info(
                    field_def, to_nodes(field_details_list), parent_type, path
                )
                completed = self.complete_value(
                    return_type, field_details_list, info, path, result, position_context
                )
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, return_type, field_details_list, path)
                return None

        return await_completed()

    @cached_property
    def in_event_loop(self) -> bool:
        """Async execution (subscriptions) keeps graphql-core's completion, awaitables and all."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def complete_objects(
        self, return_type: GraphQLOutputType, field_details_list: Any, path: Path, result: Any
    ) -> Any:
        """graphql-core's completion of an object or a list of objects, minus its per-value
        layers (completion dispatch, type check calls with resolve info, sub-field collection):
        each object goes straight to `execute_fields`. FALLBACK when the value or the type is
        anything else: nulls, abstract types, `@defer`."""
        nullable = not is_non_null_type(return_type)
        if not nullable:
            return_type = return_type.of_type
        if result is None:
            return None if nullable else FALLBACK
        if is_list_type(return_type):
            non_null_item_type = return_type.of_type
            if not is_non_null_type(non_null_item_type) or not isinstance(result, list):
                return FALLBACK
            item_type = non_null_item_type.of_type
            items = result
        else:
            item_type, items = return_type, None
        if not is_object_type(item_type):
            return FALLBACK
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            item_type, field_details_list
        )
        is_type_of = item_type.is_type_of
        for item in [result] if items is None else items:
            if item is None:
                return FALLBACK
            if is_type_of is not None:
                try:
                    if is_type_of(item, None) is not True:
                        return FALLBACK
                except Exception:
                    return FALLBACK
        if new_defer_usages:
            return FALLBACK
        if items is None:
            return self.execute_fields(item_type, result, path, grouped_field_set, None)
        completed = []
        for index, item in enumerate(items):
            item_path = Path(path, index, None)
            try:
                completed.append(
                    self.execute_fields(item_type, item, item_path, grouped_field_set, None)
                )
            except Exception as raw_error:
                # As graphql-core: for a non-null item this raises on, to null the nearest
                # nullable parent (unless error propagation is off).
                self.handle_field_error(
                    raw_error, non_null_item_type, field_details_list, item_path
                )
                completed.append(None)
        return completed
