"""A limit on the nodes one request may return, counted before execution the way GitHub does.

A connection may return its page size (`first`/`last`, the default page when neither is
given) of nodes for each node of the connection above it, so a request may return the sum,
over its connections, of the product of the page sizes along the path. A list fetched by
global ids (`nodes(ids:)`) counts as a connection whose page size is the number of ids.
Counting needs the request's variables, which a validation rule never sees, so
`MaxNodesLimiter` counts in `on_execute`: only once validation has passed (an invalid
document keeps its own errors), and before any resolver runs, where setting
`execution_context.result` makes strawberry skip execution altogether.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    NamedTypeNode,
    SelectionNode,
    SelectionSetNode,
    get_argument_values,
    get_directive_values,
    get_named_type,
    get_operation_ast,
    get_variable_values,
)
from strawberry.extensions import SchemaExtension
from strawberry.extensions.query_depth_limiter import IgnoreContext
from strawberry.types import ExecutionResult

from apps.core import metrics
from schema.core.compat import VariableValues
from schema.core.errors import ErrorCode
from schema.core.pagination import DEFAULT_PAGE_SIZE

ConnectionPredicate = Callable[[GraphQLNamedType], bool]

# Depth as strawberry's QueryDepthLimiter counts it, aliases and tokens per document, and
# nodes per request.
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000
MAX_NODES = 10_000

# The argument of a list fetched by global ids: one node per id.
IDS_ARGUMENT = "ids"

_NODES_REFUSED = metrics.REFUSALS.labels(limit="nodes")


def is_introspection(context: IgnoreContext) -> bool:
    """Introspection (`__schema`, `__type`) is exempt from the depth limit: GraphiQL and codegen
    tools send deep introspection queries."""
    return context.field_name.startswith("__")


def is_relay_connection(type_: GraphQLNamedType) -> bool:
    """A Relay connection as this schema names them: an object type `...Connection` with `edges`."""
    return (
        isinstance(type_, GraphQLObjectType)
        and type_.name.endswith("Connection")
        and "edges" in type_.fields
    )


class NodeCounter:
    """Counts the nodes an operation may return, walking its selections as written.

    Every field node counts, so a fragment spread in two places counts twice, and aliases
    count separately; a selection dropped by `@skip`/`@include` counts nothing. The count
    below one node does not depend on the path above it, which makes it linear in the page
    size and lets a named fragment be counted once however often it is spread.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues,
        *,
        is_connection: ConnectionPredicate,
        default_page_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.is_connection = is_connection
        self.default_page_size = default_page_size
        self._fragment_counts: dict[str, int] = {}

    def count(self, selection_set: SelectionSetNode, parent_type: GraphQLNamedType | None) -> int:
        """The nodes one object of `parent_type` may return through `selection_set`."""
        return sum(
            self._count_selection(selection, parent_type)
            for selection in selection_set.selections
            if self._is_included(selection)
        )

    def _count_selection(
        self, selection: SelectionNode, parent_type: GraphQLNamedType | None
    ) -> int:
        if isinstance(selection, FieldNode):
            return self._count_field(selection, parent_type)
        if isinstance(selection, InlineFragmentNode):
            return self.count(
                selection.selection_set, self._type(selection.type_condition, parent_type)
            )
        if isinstance(selection, FragmentSpreadNode):
            return self._count_fragment(selection.name.value, parent_type)
        return 0

    def _count_field(self, node: FieldNode, parent_type: GraphQLNamedType | None) -> int:
        if node.selection_set is None or not isinstance(
            parent_type, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        field = parent_type.fields.get(node.name.value)
        if field is None:  # `__schema`, `__type`: introspection returns no connections.
            return 0
        return_type = get_named_type(field.type)
        below = self.count(node.selection_set, return_type)
        if self.is_connection(return_type):
            return self._page_size(field, node) * (1 + below)
        if IDS_ARGUMENT in field.args:
            return self._id_count(field, node) * (1 + below)
        return below

    def _count_fragment(self, name: str, parent_type: GraphQLNamedType | None) -> int:
        if name not in self._fragment_counts:
            fragment = self.fragments.get(name)
            # Validation rules out unknown and cyclic fragments; without it they count 0.
            self._fragment_counts[name] = 0
            if fragment is not None:
                fragment_type = self._type(fragment.type_condition, parent_type)
                self._fragment_counts[name] = self.count(fragment.selection_set, fragment_type)
        return self._fragment_counts[name]

    def _page_size(self, field: GraphQLField, node: FieldNode) -> int:
        """`first` or `last` (the smaller when both: the slice is cut by both), never below 0."""
        try:
            arguments = get_argument_values(field, node, self.variables)
        except GraphQLError:  # The field fails when it executes; count it as unpaged.
            return self.default_page_size
        sizes = [
            value
            for name in ("first", "last")
            if isinstance(value := arguments.get(name), int) and not isinstance(value, bool)
        ]
        return max(0, min(sizes)) if sizes else self.default_page_size

    def _id_count(self, field: GraphQLField, node: FieldNode) -> int:
        """How many ids the field is given: each may return a node."""
        try:
            ids = get_argument_values(field, node, self.variables).get(IDS_ARGUMENT)
        except GraphQLError:  # The field fails when it executes, returning nothing.
            return 0
        return len(ids) if isinstance(ids, list) else 0

    def _is_included(self, node: SelectionNode) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (skip and skip["if"]) and not (include and not include["if"])

    def _type(
        self, condition: NamedTypeNode | None, parent_type: GraphQLNamedType | None
    ) -> GraphQLNamedType | None:
        return self.schema.get_type(condition.name.value) if condition else parent_type


class MaxNodesLimiter(SchemaExtension):
    """Refuses, with `QUERY_TOO_COMPLEX` and before any resolver runs, a request that may
    return more than `max_nodes` nodes."""

    def __init__(
        self,
        max_nodes: int = 10_000,
        *,
        is_connection: ConnectionPredicate = is_relay_connection,
        default_page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.max_nodes = max_nodes
        self.is_connection = is_connection
        self.default_page_size = default_page_size

    def on_execute(self) -> Iterator[None]:
        count = self.count_nodes()
        if count is not None and count > self.max_nodes:
            error = GraphQLError(
                f"This query may return {count:,} nodes, more than the limit of "
                f"{self.max_nodes:,}.",
                extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value},
            )
            # strawberry executes only when no extension has set a result.
            self.execution_context.result = ExecutionResult(data=None, errors=[error])
            _NODES_REFUSED.inc()
        yield

    def count_nodes(self) -> int | None:
        """The nodes the operation may return, or None when execution will refuse it anyway."""
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return None
        operation = get_operation_ast(document, context.operation_name)
        schema = context.schema._schema  # strawberry exposes its graphql-core schema only so.
        root_type = schema.get_root_type(operation.operation) if operation else None
        if operation is None or root_type is None:
            return None
        variables = get_variable_values(
            schema, operation.variable_definitions or (), context.variables or {}
        )
        if isinstance(variables, list):  # Variables that do not coerce: execution reports them.
            return None
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        counter = NodeCounter(
            schema,
            fragments,
            variables,
            is_connection=self.is_connection,
            default_page_size=self.default_page_size,
        )
        return counter.count(operation.selection_set, root_type)
