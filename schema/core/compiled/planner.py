"""Compiling a query document into its reads (`schema.core.compiled.reads`), once per
process.

The document's selections are collected as graphql-core collects them (fragments merged,
response keys in order), then each field is matched to what strawberry-django would do for
it: a column (`email`), an annotation (`orderCount`), a property over columns (`subtotal`),
the global id (`id`), an object joined in its row (`select_related`, `product`) or read apart
(`user`), a related list (`items`), a nested connection (`orders`); at the root, a connection,
a resolver returning a queryset (`me`), or `node(id:)`. Anything else (a custom resolver, an
argument outside those, a directive) makes the document not compilable, and the normal path
keeps answering it.
"""

from __future__ import annotations

import dataclasses
import enum
from binascii import b2a_base64
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from django.db import models
from django.db.models.fields.related_descriptors import (
    ForwardManyToOneDescriptor,
    ReverseManyToOneDescriptor,
)
from django.db.models.query_utils import DeferredAttribute
from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    get_named_type,
    is_non_null_type,
    parse,
    specified_rules,
    validate,
    visit,
)
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.permission import PermissionExtension

from schema.core import compat
from schema.core.compat import (
    DjangoCursorConnection,
    FieldDetails,
    FragmentDetails,
    GraphQLCoreConverter,
    StrawberryDjangoField,
    VariableValues,
    collect_fields,
    collect_subfields,
    get_django_definition,
    get_object_definition,
)
from schema.core.compiled.reads import (
    Arguments,
    Child,
    ConnectionRead,
    ConnectionShape,
    Derive,
    NodeById,
    ObjectRead,
    RelatedLists,
    RelatedObjects,
    ResolvedObject,
    Shape,
)
from schema.core.execution import is_stock_node_id
from schema.core.inputs import has_nul_literal
from schema.core.limits import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_NODES,
    MAX_TOKENS,
    NodeCounter,
    is_introspection,
    is_relay_connection,
)
from schema.core.nodes import NodeQueries
from schema.core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from schema.core.trusted_documents import sha256_of

BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
PAGE_INFO_FIELDS = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})
# Model fields whose values are the GraphQL scalar's own output: str, bool, 32-bit int.
_AS_IS = {
    GraphQLString: (models.CharField, models.TextField),
    GraphQLBoolean: (models.BooleanField,),
    GraphQLInt: (models.IntegerField, models.AutoField),
}
_WIDE_INTEGERS = (models.BigIntegerField, models.BigAutoField)
_NODE_FIELD = get_object_definition(NodeQueries, strict=True).get_field("node")


class NotCompilable(Exception):
    """The document holds something no read covers: the normal path answers it."""


@dataclasses.dataclass(frozen=True)
class OperationPlan:
    """A query operation's reads, by response key, and what is checked before they run."""

    name: str
    document: DocumentNode
    operation: OperationDefinitionNode
    fields: tuple[tuple[str, Any], ...]  # response key, its read
    counts_nodes: bool  # its pages could multiply past the node limit: count per request
    fragments: dict[str, Any]


def _rules() -> list:
    """The validation the schema runs, its depth and alias limits included."""
    rules = list(specified_rules)
    rules += QueryDepthLimiter(max_depth=MAX_DEPTH, should_ignore=is_introspection).validation_rules
    rules += MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules
    return rules


class _Directives(Visitor):
    found = False

    def enter_directive(self, node: DirectiveNode, *_) -> None:
        self.found = True


def compile_operation(schema: Any, body: str) -> OperationPlan:
    """The plan of a document's one query operation; raises NotCompilable."""
    document = parse(body, max_tokens=MAX_TOKENS, **compat.STRICT_PARSE_OPTIONS)
    graphql_schema: GraphQLSchema = schema._schema
    if validate(graphql_schema, document, _rules()):
        raise NotCompilable("does not validate")
    directives = _Directives()
    visit(document, directives)
    if directives.found or has_nul_literal(document):
        raise NotCompilable("directives or NUL characters")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        raise NotCompilable("not a single query operation")
    (operation,) = operations
    fragments = {
        d.name.value: FragmentDetails(d)
        for d in document.definitions
        if d.kind == "fragment_definition"
    }
    planner = _Planner(schema, graphql_schema, fragments, operation, sha256_of(body))
    root_type = graphql_schema.query_type
    collected = collect_fields(
        graphql_schema, fragments, planner.variables, root_type, operation
    ).grouped_field_set
    fields = tuple(
        (key, planner.root_field(root_type, details)) for key, details in collected.items()
    )
    return OperationPlan(
        name=operation.name.value if operation.name else "",
        document=document,
        operation=operation,
        fields=fields,
        counts_nodes=_may_pass_node_limit(graphql_schema, document, operation),
        fragments=fragments,
    )


def _may_pass_node_limit(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> bool:
    """Whether the limit's count could pass MAX_NODES with every page at its largest size
    (larger pages are refused anyway): only then is it counted per request."""
    largest = {
        definition.variable.name.value: MAX_PAGE_SIZE
        for definition in operation.variable_definitions or ()
    }
    fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
    counter = NodeCounter(
        schema,
        fragments,
        VariableValues(sources={}, coerced=largest),
        is_connection=is_relay_connection,
        default_page_size=DEFAULT_PAGE_SIZE,
    )
    return counter.count(operation.selection_set, schema.query_type) > MAX_NODES


def _strawberry_field(field_def: GraphQLField) -> Any:
    field = field_def.extensions.get(BACKREF)
    if field is None:
        raise NotCompilable("not a strawberry field")
    return field


def _object_type(field_def: GraphQLField) -> GraphQLObjectType:
    named = get_named_type(field_def.type)
    if not isinstance(named, GraphQLObjectType):
        raise NotCompilable(f"{named} is not an object type")
    return named


def _model_type(type_: GraphQLObjectType) -> tuple[type[models.Model], type]:
    definition = type_.extensions.get(BACKREF)
    django_definition = get_django_definition(definition.origin) if definition else None
    if django_definition is None:
        raise NotCompilable(f"{type_.name} is not a model type")
    return django_definition.model, definition.origin


def _permissions(field: Any) -> tuple:
    """A root field's permission classes; any other extension but the connection's is not
    compilable."""
    permissions: list = []
    for extension in field.extensions:
        if isinstance(extension, PermissionExtension):
            permissions += extension.permissions
        elif not isinstance(extension, compat_connection_extension()):
            raise NotCompilable(f"extension {type(extension).__name__}")
    return tuple(permissions)


def compat_connection_extension() -> type:
    from strawberry_django.fields.field import StrawberryDjangoConnectionExtension

    return StrawberryDjangoConnectionExtension


def _leaf_converter(
    graphql_type: Any, model_field: models.Field | None, *, nullable: bool
) -> Callable[[Any], Any] | None:
    """What turns a column's value into the scalar's output; None where they are the same."""
    named = get_named_type(graphql_type)
    as_is = _AS_IS.get(named)
    if (
        as_is is not None
        and isinstance(model_field, as_is)
        and not isinstance(model_field, _WIDE_INTEGERS)
    ):
        convert = None
    elif isinstance(named, GraphQLEnumType):
        convert = _enum_names(named).__getitem__
    else:
        convert = named.serialize
    column_nullable = model_field is None or model_field.null
    if nullable and column_nullable and convert is not None:
        return _or_none(convert)
    if not nullable and column_nullable:
        return _required(convert)
    return convert


def _enum_names(enum_type: GraphQLEnumType) -> dict[Any, str]:
    """Each stored value of the enum and the name the enum writes for it."""
    names = {}
    for name, value in enum_type.values.items():
        stored = value.value.value if isinstance(value.value, enum.Enum) else value.value
        if enum_type.serialize(stored) != name:
            raise NotCompilable(f"{enum_type.name}.{name} does not serialize as its name")
        names[stored] = name
    return names


def _or_none(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _required(convert: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    def required(value: Any) -> Any:
        if value is None:
            raise ValueError("null for a non-null field")  # the normal path's error
        return value if convert is None else convert(value)

    return required


class _ShapeBuilder:
    """The columns one query reads (shared with the objects joined in its rows) and one
    object's keys."""

    def __init__(self, columns: list[str], prefix: str = "") -> None:
        self.columns = columns
        self.prefix = prefix
        self.keys: list[str] = []
        self.picks: list[int] = []
        self.converted: list[tuple[str, Callable]] = []
        self.derived: list[tuple[str, Derive]] = []
        self.pk = self.column("pk")

    def column(self, name: str) -> int:
        path = self.prefix + name
        if path not in self.columns:
            self.columns.append(path)
        return self.columns.index(path)

    def leaf(self, key: str, column: int, convert: Callable | None) -> None:
        self.keys.append(key)
        self.picks.append(column)
        if convert is not None:
            self.converted.append((key, convert))

    def derive(self, key: str, derive: Derive) -> None:
        self.keys.append(key)
        self.picks.append(self.pk)  # a placeholder, replaced
        self.derived.append((key, derive))

    def shape(self) -> Shape:
        shape = Shape(
            keys=tuple(self.keys),
            columns=tuple(self.picks),
            converted=tuple(self.converted),
            derived=tuple(self.derived),
        )
        shape.build  # noqa: B018 (compiled now, at start-up, not by a first request)
        return shape


class _Planner:
    def __init__(
        self,
        schema: Any,
        graphql_schema: GraphQLSchema,
        fragments: dict[str, FragmentDetails],
        operation: OperationDefinitionNode,
        document_id: str,
    ) -> None:
        self.schema = schema
        self.document_id = document_id
        self.graphql_schema = graphql_schema
        self.fragments = fragments
        self.operation = operation
        self.variables = VariableValues(sources={}, coerced={})
        self.name = operation.name.value if operation.name else ""

    def subfields(
        self, type_: GraphQLObjectType, details: list[FieldDetails]
    ) -> dict[str, list[FieldDetails]]:
        return collect_subfields(
            self.graphql_schema, self.fragments, self.variables, self.operation, type_, details
        ).grouped_field_set

    def arguments(self, field_def: GraphQLField, field: Any, details: list) -> Arguments:
        node: FieldNode = details[0].node
        if any(d.node.arguments != node.arguments for d in details[1:]):
            raise NotCompilable("one field asked with different arguments")
        return Arguments(field_def=field_def, node=node, arguments=field.arguments)

    # --- root fields

    def root_field(self, root_type: GraphQLObjectType, details: list[FieldDetails]) -> Any:
        name = details[0].node.name.value
        if name == "__typename":
            raise NotCompilable("__typename at the root")
        field_def = root_type.fields[name]
        field = _strawberry_field(field_def)
        if field.base_resolver is not None and (
            field.base_resolver.wrapped_func is _NODE_FIELD.base_resolver.wrapped_func
        ):
            return self.node_field(field_def, field, details)
        if not isinstance(field, StrawberryDjangoField):
            raise NotCompilable(f"{name}: not a strawberry-django field")
        permissions = _permissions(field)
        if field.is_connection and compat.is_default_connection_resolver(field):
            return self.connection(field_def, field, details, permissions=permissions)
        resolver = field.base_resolver
        if (
            resolver is None
            or field.is_list
            or field.is_connection
            or field.is_paginated
            or resolver.arguments
            or resolver.is_async
            or field_def.args
        ):
            raise NotCompilable(f"{name}: a resolver that is not a plain queryset")
        return ResolvedObject(
            field=field,
            resolver=resolver.wrapped_func,
            permissions=permissions,
            read=self.object_read(_object_type(field_def), details),
        )

    def node_field(self, field_def: GraphQLField, field: Any, details: list) -> NodeById:
        interface = get_named_type(field_def.type)
        if not isinstance(interface, GraphQLInterfaceType):
            raise NotCompilable("node is not an interface")
        reads = {}
        for type_ in self.graphql_schema.get_possible_types(interface):
            try:
                reads[type_.name] = self.object_read(type_, details)
            except NotCompilable:
                continue  # that type's ids are the normal path's
        return NodeById(arguments=self.arguments(field_def, field, details), reads=reads)

    # --- objects

    def object_read(self, type_: GraphQLObjectType, details: list[FieldDetails]) -> ObjectRead:
        model, origin = _model_type(type_)
        columns: list[str] = []
        annotations: dict[str, Any] = {}
        children: list[Child] = []
        builder = _ShapeBuilder(columns)
        self.fill(builder, type_, details, model, origin, annotations, children)
        return ObjectRead(
            model=model,
            origin=origin,
            columns=tuple(columns),
            annotations=tuple(annotations.items()),
            shape=builder.shape(),
            children=tuple(children),
        )

    def fill(
        self,
        builder: _ShapeBuilder,
        type_: GraphQLObjectType,
        details: list[FieldDetails],
        model: type[models.Model],
        origin: type,
        annotations: dict[str, Any],
        children: list[Child] | None,
    ) -> None:
        """Plans every field of one object's selection into `builder`; `children` None for an
        object joined in its parent's row, which reads nothing apart."""
        for key, field_details in self.subfields(type_, details).items():
            name = field_details[0].node.name.value
            if name == "__typename":
                builder.leaf(key, builder.pk, _constant(type_.name))
                continue
            field_def = type_.fields[name]
            field = _strawberry_field(field_def)
            if is_stock_node_id(origin, field):
                builder.leaf(key, builder.pk, _global_id(type_.name))
                continue
            if not isinstance(field, StrawberryDjangoField) or _permissions(field):
                raise NotCompilable(f"{type_.name}.{name}")
            if field.is_connection and compat.is_default_connection_resolver(field):
                self.nested_connection(
                    builder, key, field_def, field, field_details, model, children
                )
                continue
            if field.extensions or field.base_resolver is not None or field_def.args:
                raise NotCompilable(f"{type_.name}.{name}: a resolver or arguments")
            self.model_field(
                builder, key, field_def, field, field_details, model, annotations, children
            )

    def model_field(
        self,
        builder: _ShapeBuilder,
        key: str,
        field_def: GraphQLField,
        field: StrawberryDjangoField,
        details: list[FieldDetails],
        model: type[models.Model],
        annotations: dict[str, Any],
        children: list[Child] | None,
    ) -> None:
        name = field.django_name or field.python_name
        attribute = getattr(model, name, None)
        nullable = not is_non_null_type(field_def.type)
        if field.store.annotate:
            if builder.prefix or set(field.store.annotate) != {name}:
                raise NotCompilable(f"{name}: annotations")
            annotations.update(field.store.annotate)
            convert = _leaf_converter(field_def.type, None, nullable=nullable)
            builder.leaf(key, builder.column(name), convert)
        elif isinstance(attribute, DeferredAttribute) and attribute.field.attname == name:
            convert = _leaf_converter(field_def.type, attribute.field, nullable=nullable)
            builder.leaf(key, builder.column(name), convert)
        elif name == "pk":
            convert = _leaf_converter(field_def.type, model._meta.pk, nullable=nullable)
            builder.leaf(key, builder.pk, convert)
        elif isinstance(attribute, property) and field.store.only:
            builder.derive(key, self.property_reader(builder, attribute, field, field_def))
        elif isinstance(attribute, ForwardManyToOneDescriptor):
            self.related_object(builder, key, field_def, attribute, field, details, children)
        elif (
            isinstance(attribute, ReverseManyToOneDescriptor)
            and field.is_list
            and children is not None
        ):
            read = self.object_read(_object_type(field_def), details)
            slot = len(children)
            children.append(
                RelatedLists(
                    key_column=builder.pk,
                    field=field,
                    related_id=attribute.field.attname,
                    read=read,
                )
            )
            pk = builder.pk
            builder.derive(key, lambda row, loaded: loaded[slot].get(row[pk], []))
        else:
            raise NotCompilable(f"{model.__name__}.{name}")

    def property_reader(
        self, builder: _ShapeBuilder, attribute: property, field: Any, field_def: GraphQLField
    ) -> Derive:
        """A property computed from the columns its `only` names, on a stand-in row."""
        if any("__" in column for column in field.store.only):
            raise NotCompilable("a property over related columns")
        columns = tuple((name, builder.column(name)) for name in field.store.only)
        getter = attribute.fget
        nullable = not is_non_null_type(field_def.type)
        convert = _leaf_converter(field_def.type, None, nullable=nullable)

        def read(row: tuple, loaded: Any) -> Any:
            return convert(getter(SimpleNamespace(**{name: row[at] for name, at in columns})))

        return read

    def related_object(
        self,
        builder: _ShapeBuilder,
        key: str,
        field_def: GraphQLField,
        attribute: ForwardManyToOneDescriptor,
        field: StrawberryDjangoField,
        details: list[FieldDetails],
        children: list[Child] | None,
    ) -> None:
        type_ = _object_type(field_def)
        model, origin = _model_type(type_)
        name = attribute.field.name
        nullable = not is_non_null_type(field_def.type)
        if not nullable and attribute.field.null:
            raise NotCompilable(f"{name}: a nullable key for a non-null field")
        if name in field.store.select_related:
            # Joined in the row, as `select_related`: the parent's visibility holds.
            joined = _ShapeBuilder(builder.columns, prefix=f"{builder.prefix}{name}__")
            self.fill(joined, type_, details, model, origin, {}, None)
            shape, pk = joined.shape(), joined.pk
            if nullable:
                builder.derive(
                    key, lambda row, loaded: None if row[pk] is None else shape.build(row, loaded)
                )
            else:
                builder.derive(key, shape.build)
            return
        if children is None:
            raise NotCompilable(f"{name}: read apart from a joined object")
        column = builder.column(attribute.field.attname)
        slot = len(children)
        children.append(RelatedObjects(key_column=column, read=self.object_read(type_, details)))
        if nullable:
            builder.derive(
                key, lambda row, loaded: None if row[column] is None else loaded[slot][row[column]]
            )
        else:
            builder.derive(key, lambda row, loaded: loaded[slot][row[column]])

    # --- connections

    def connection(
        self,
        field_def: GraphQLField,
        field: StrawberryDjangoField,
        details: list[FieldDetails],
        *,
        permissions: tuple = (),
        related_id: str | None = None,
    ) -> ConnectionRead:
        node: FieldNode = details[0].node
        connection_type = _object_type(field_def)
        origin = connection_type.extensions[BACKREF].origin
        cache = getattr(origin, "cached_page", None) if related_id is None else None
        resolves_itself = (
            origin.resolve_connection.__func__
            is not DjangoCursorConnection.resolve_connection.__func__
        )
        if not issubclass(origin, DjangoCursorConnection) or (resolves_itself and cache is None):
            raise NotCompilable(f"{connection_type.name}: a connection of its own")
        fields: list[tuple[str, str, Any]] = []
        node_read: ObjectRead | None = None
        for key, field_details in self.subfields(connection_type, details).items():
            name = field_details[0].node.name.value
            if name == "__typename":
                fields.append((key, "__typename", connection_type.name))
            elif name == "totalCount":
                fields.append((key, "totalCount", None))
            elif name == "pageInfo":
                page_info = _object_type(connection_type.fields[name])
                selection = []
                for info_key, info_details in self.subfields(page_info, field_details).items():
                    part = info_details[0].node.name.value
                    if part not in PAGE_INFO_FIELDS and part != "__typename":
                        raise NotCompilable(f"PageInfo.{part}")
                    selection.append((info_key, part, page_info.name))
                fields.append((key, "pageInfo", tuple(selection)))
            elif name == "edges":
                if any(part == "edges" for _, part, _ in fields):
                    raise NotCompilable("edges asked twice")
                edge_type = _object_type(connection_type.fields[name])
                selection = []
                for edge_key, edge_details in self.subfields(edge_type, field_details).items():
                    part = edge_details[0].node.name.value
                    if part == "node":
                        if node_read is not None:
                            raise NotCompilable("node asked twice")
                        node_read = self.object_read(
                            _object_type(edge_type.fields[part]), edge_details
                        )
                    elif part not in ("cursor", "__typename"):
                        raise NotCompilable(f"{edge_type.name}.{part}")
                    selection.append((edge_key, part, edge_type.name))
                fields.append((key, "edges", tuple(selection)))
            else:
                raise NotCompilable(f"{connection_type.name}.{name}")
        if node_read is None:  # no node asked for: its rows are read all the same
            model, type_origin = _model_type(_node_type_of(connection_type))
            node_read = ObjectRead(
                model=model,
                origin=type_origin,
                columns=("pk",),
                annotations=(),
                shape=_ShapeBuilder(["pk"]).shape(),
                children=(),
            )
        return ConnectionRead(
            field=field,
            arguments=self.arguments(field_def, field, details),
            permissions=permissions,
            node=node_read,
            shape=ConnectionShape(
                fields=tuple(fields), counts=any(part == "totalCount" for _, part, _ in fields)
            ),
            related_id=related_id,
            cache=cache,
            # The document and the field's response key: what the cached bytes hold.
            cache_scope=f"{self.document_id}:{(node.alias or node.name).value}",
        )

    def nested_connection(
        self,
        builder: _ShapeBuilder,
        key: str,
        field_def: GraphQLField,
        field: StrawberryDjangoField,
        details: list[FieldDetails],
        model: type[models.Model],
        children: list[Child] | None,
    ) -> None:
        name = field.django_name or field.python_name
        attribute = getattr(model, name, None)
        if children is None or not isinstance(attribute, ReverseManyToOneDescriptor):
            raise NotCompilable(f"{model.__name__}.{name}: not a related list")
        slot = len(children)
        children.append(
            self.connection(field_def, field, details, related_id=attribute.field.attname)
        )
        pk = builder.pk
        builder.derive(key, lambda row, loaded: loaded[slot][row[pk]])


def _node_type_of(connection_type: GraphQLObjectType) -> GraphQLObjectType:
    edge_type = get_named_type(connection_type.fields["edges"].type)
    return get_named_type(edge_type.fields["node"].type)


def _constant(value: str) -> Callable[[Any], str]:
    return lambda _: value


def _global_id(type_name: str) -> Callable[[Any], str]:
    """strawberry's `to_base64(type_name, pk)`, without its checks of the type argument."""
    prefix = f"{type_name}:"
    return lambda pk: b2a_base64(f"{prefix}{pk}".encode(), newline=False).decode()
