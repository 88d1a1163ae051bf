"""Leaf fields read straight off the rows; graphql-core's per-field machinery for the rest.

Most of a large answer is scalar fields that strawberry-django resolves by reading what the
query already loaded (`email`, `total`, an annotation such as `orderCount`) or by encoding
the primary key (`id`). Executing each of them through graphql-core (resolve info, path,
strawberry's resolver wrappers, the optimizer's resolve hook, completion) costs many times
the read itself.

`PlannedExecutor` plans every field of an object type once per process. A field that takes
no arguments, has no resolver, permission or extension of its own, and returns a scalar or
an enum gets a reader: the same attribute read and the same scalar serialisation, done
inline. Everything else (relations, connections, custom resolvers, root fields with their
permission checks) runs through graphql-core as before. Whenever a reader cannot give what
the resolver would (a deferred column, a null, a value the scalar refuses), that field falls
back to graphql-core too, so that answers and errors are the same either way;
`tests/schema/test_execution.py` runs every contract operation both ways and compares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models.query_utils import DeferredAttribute
from graphql import (
    GraphQLField,
    GraphQLObjectType,
    Undefined,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.executor import gather_with_cancel
from graphql.pyutils import Path
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition, get_object_definition
from strawberry.types.field import StrawberryField
from strawberry_django.descriptors import ModelProperty
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.relay.utils import resolve_model_id
from strawberry_django.utils.typing import get_django_definition

Reader = Callable[[Any], Any]

# What a reader returns when graphql-core must resolve the field instead.
FALLBACK = object()

# `Node.id`'s resolver, a classmethod: bound to each Node type, the same function under it.
_NODE_ID_RESOLVER = get_object_definition(relay.Node, strict=True).get_field("_id").base_resolver
# strawberry's own `resolve_id`, and strawberry-django's for model types.
_STOCK_RESOLVE_ID = (relay.Node.resolve_id.__func__, resolve_model_id)


def _attribute_getter(field: StrawberryDjangoField, model: type) -> Callable[[Any], Any] | None:
    """How strawberry-django's `get_result` reads a loaded value, for the cases it reads one."""
    name = field.django_name or field.python_name
    attribute = getattr(model, name, None)
    if isinstance(attribute, DeferredAttribute):
        if attribute.field.attname != name:
            return None

        def column(row: Any) -> Any:
            return row.__dict__[name]  # KeyError when deferred: the resolver would load it

        return column
    if isinstance(attribute, ModelProperty):
        cached = attribute.name
        return lambda row: row.__dict__[cached]
    if attribute is None or isinstance(attribute, property):
        # An annotation the query added, or a plain property such as `pk` or `subtotal`.
        return lambda row: getattr(row, name)
    return None


def _node_id_getter(origin: type, type_name: str) -> Callable[[Any], Any] | None:
    """`Node.id` as strawberry resolves it, for types that keep the stock id resolution."""
    resolve_id = origin.resolve_id
    if (
        getattr(resolve_id, "__func__", None) not in _STOCK_RESOLVE_ID
        or origin.resolve_typename.__func__ is not relay.Node.resolve_typename.__func__
    ):
        return None

    def node_id(row: Any) -> relay.GlobalID:
        value = resolve_id(row, info=None)
        if not isinstance(value, str | int):
            raise TypeError(value)  # a deferred key, loaded asynchronously: not inline
        return relay.GlobalID(type_name=type_name, node_id=str(value))

    return node_id


def _getter(parent_type: GraphQLObjectType, field_def: GraphQLField) -> Callable | None:
    type_definition = parent_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(type_definition, StrawberryObjectDefinition) or field is None:
        return None
    if field.extensions or getattr(field, "permission_classes", None):
        return None
    origin = type_definition.origin
    resolver = field.base_resolver
    if resolver is not None:
        if getattr(
            resolver.wrapped_func, "__func__", None
        ) is _NODE_ID_RESOLVER.wrapped_func.__func__ and issubclass(origin, relay.Node):
            return _node_id_getter(origin, parent_type.name)
        return None
    if type(field) is StrawberryField and field.default_resolver is getattr:
        # A plain strawberry field (an edge's cursor, `PageInfo`): the default resolver.
        name = field.python_name
        return lambda row: getattr(row, name)
    django_definition = get_django_definition(origin)
    if not isinstance(field, StrawberryDjangoField) or django_definition is None:
        return None
    return _attribute_getter(field, django_definition.model)


def _reader(getter: Callable[[Any], Any], serialize: Callable[[Any], Any]) -> Reader:
    def read(row: Any) -> Any:
        try:
            value = getter(row)
            if value is None:
                return FALLBACK  # nullability and its error are graphql-core's to decide
            serialized = serialize(value)
        except Exception:  # the resolver path raises it again, as a field error
            return FALLBACK
        return FALLBACK if serialized is None else serialized

    return read


def plan(parent_type: GraphQLObjectType) -> dict[str, Reader]:
    """The readers of an object type's fields, by field name."""
    readers: dict[str, Reader] = {"__typename": lambda row: parent_type.name}
    for name, field_def in parent_type.fields.items():
        named_type = get_named_type(field_def.type)
        if field_def.args or not is_leaf_type(named_type):
            continue
        getter = _getter(parent_type, field_def)
        if getter is not None:
            readers[name] = _reader(getter, named_type.serialize)
    return readers


_plans: dict[GraphQLObjectType, dict[str, Reader]] = {}


def plan_of(parent_type: GraphQLObjectType) -> dict[str, Reader]:
    readers = _plans.get(parent_type)
    if readers is None:
        readers = _plans[parent_type] = plan(parent_type)
    return readers


class PlannedExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with the planned leaf fields read inline."""

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
        readers = plan_of(parent_type)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                reader = None if node.arguments else readers.get(node.name.value)
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
