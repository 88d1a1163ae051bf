"""Every use of a library's internals, in one place, for the versions it was written for.

The libraries' public API is imported where it is used. What is not public (private helpers,
undocumented modules, methods that are not documented hooks, message texts, module globals
replaced at start-up) is reached only through this module, which refuses to load beside
versions it was not written for: upgrading strawberry-graphql, strawberry-graphql-django or
graphql-core means reading each use below against the new release, then `WRITTEN_FOR`.

What each use replaces:

- graphql-core's executor (`gather_with_cancel`, `to_nodes`, and the 3.3 signatures of
  `execute_fields`, `execute_field`, `complete_value`, `collect_subfields`): the planned
  executor (`schema.core.execution`) completes loaded objects without the per-value layers.
- graphql-core's field collection (`collect_fields`, `collect_subfields`, `FieldDetails`,
  `FragmentDetails`): the node loader (`schema.core.nodes`) reads every `node` and `nodes`
  field of an operation, and their selections, before the first one resolves.
- strawberry's execution context, schema converter, type definitions and name converter: the
  planned executor reads strawberry's field definitions; connection types keep the
  contract's names (`UserConnection`, not `UserCursorConnection`).
- strawberry-django's keyset pagination (`relay.cursor_connection`, window pagination,
  queryset config, `is_optimized_by_prefetching`): `patch_pagination` installs the
  contract's page sizes and cursor checks on the one function both the connection and the
  optimizer call (neither offers a hook; the optimizer recognises `DjangoCursorConnection`
  by identity, so a subclass would lose nested prefetching).
- `describe_library_types`: `Ordering` and `PageInfo` have no option for descriptions.
- graphql-core's message texts (`TOO_MANY_TOKENS` ...): the only way to tell a refused
  variable or a token limit from other errors (`schema.core.errors`); strawberry's depth and
  alias limiters' (`DEPTH_EXCEEDED`, `TOO_MANY_ALIASES`): which limit refused a document, for
  the metrics.
- graphql-core's `allow_empty_selection_sets` parse option (deprecated in 3.3): the spec's
  grammar, `{}` refused (`schema.core.parsing`).
- strawberry's view methods overridden or called in `schema.views` and `schema.websocket`
  (`run`, `parse_http_body`, `execute_single`, `create_websocket_response`,
  `reject_websocket`), and its WebSocket protocol handlers' (`handle_subscribe`,
  `handle_start`: each operation's document resolved before it runs): listed in `OVERRIDDEN`
  and checked by the tests to exist with the parameters they are called with.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import re
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from cross_web import HTTPException
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.executor import gather_with_cancel, to_nodes
from graphql.execution.values import VariableValues
from strawberry.http import GraphQLRequestData
from strawberry.relay import PageInfo
from strawberry.relay.types import GlobalIDValueError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import StrawberryObjectDefinition, get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.graphql import OperationType
from strawberry.utils.aio import resolve_awaitable
from strawberry.utils.inspect import in_async_context
from strawberry.utils.str_converters import to_camel_case
from strawberry_django.descriptors import ModelProperty
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.optimizer import is_optimized_by_prefetching
from strawberry_django.ordering import Ordering
from strawberry_django.pagination import apply_window_pagination, remove_window_pagination
from strawberry_django.queryset import get_queryset_config
from strawberry_django.relay import cursor_connection
from strawberry_django.relay.cursor_connection import (
    DjangoCursorConnection,
    DjangoCursorEdge,
    OrderingDescriptor,
    annotate_ordering_fields,
    build_tuple_compare,
)
from strawberry_django.relay.utils import resolve_edge_class, resolve_model_id
from strawberry_django.utils.typing import get_django_definition

# The release series each use below was read against.
WRITTEN_FOR = {
    "strawberry-graphql": "0.341",
    "strawberry-graphql-django": "0.93",
    "graphql-core": "3.3",
}


class IncompatibleLibrary(ImportError):
    """A library this module reaches into is not the release series it was written for."""


def check_versions(installed: Mapping[str, str] | None = None) -> None:
    """Raises IncompatibleLibrary naming every library outside its series."""
    if installed is None:
        installed = {name: importlib.metadata.version(name) for name in WRITTEN_FOR}
    wrong = [
        f"{name} {installed[name]} (written for {series}.x)"
        for name, series in WRITTEN_FOR.items()
        if installed[name].split(".")[:2] != series.split(".")
    ]
    if wrong:
        raise IncompatibleLibrary(
            "schema/core/compat.py uses internals of "
            + ", ".join(wrong)
            + ": check each use it lists against the installed release, then WRITTEN_FOR "
            "(or install the versions uv.lock pins)."
        )


check_versions()


# graphql-core 3.3's message texts, the only trace of what refused a request.
TOO_MANY_TOKENS = "Syntax Error: Document contains more than"
ARGUMENT_ERRORS = ("Argument ", "Expected variable ", "Variable ")
ARGUMENT_NAME = re.compile(r"^Argument '(\w+)'")
# strawberry's QueryDepthLimiter's and MaxAliasesLimiter's validation errors.
DEPTH_EXCEEDED = re.compile(r"^'[^']*' exceeds maximum operation depth of \d+$")
TOO_MANY_ALIASES = re.compile(r"^\d+ aliases found\. Allowed: \d+$")
# Where in a variable's value coercion failed: "... has invalid value at .items[0].quantity: ".
INVALID_VARIABLE_AT = re.compile(r"^Variable '\$\w+' has invalid value at (\S+): ")
MISSING_INPUT_FIELD = re.compile(r"to include required field '(\w+)'")
# The refusals of the variables as a whole (graphql/execution/values.py), located nowhere.
VARIABLES_REFUSED = (
    "Too many errors processing variables, error limit reached.",
    "Variable values are nested too deeply.",
)

# The spec's grammar: a selection set has a selection (graphql-core 3.3 parses `{}`).
STRICT_PARSE_OPTIONS = {"allow_empty_selection_sets": False}

# Library methods the project overrides that are not documented hooks.
OVERRIDDEN: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "strawberry.django.views.GraphQLView": [
        ("run", ("request",)),
        ("parse_http_body", ("request",)),
        ("execute_single", ("request", "request_adapter", "sub_response", "context")),
        ("create_response", ("response_data", "sub_response")),
        ("should_render_graphql_ide", ("request",)),
    ],
    "strawberry.http.async_base_view.AsyncBaseHTTPView": [
        ("run", ("request",)),
        ("create_websocket_response", ("request", "subprotocol")),
        ("reject_websocket", ("request",)),
    ],
    "strawberry.subscriptions.protocols.graphql_transport_ws.handlers."
    "BaseGraphQLTransportWSHandler": [("handle_subscribe", ("message",))],
    "strawberry.subscriptions.protocols.graphql_ws.handlers.BaseGraphQLWSHandler": [
        ("handle_start", ("message",)),
    ],
    "strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext": [
        ("execute_fields", ("parent_type", "source_value", "path", "grouped_field_set")),
        ("execute_field", ("parent_type", "source", "field_details_list", "path")),
        ("complete_value", ("return_type", "field_details_list", "info", "path", "result")),
        ("collect_subfields", ("return_type", "field_details_list")),
        ("handle_field_error", ("raw_error", "return_type", "field_details_list", "path")),
        ("build_resolve_info", ("field_def", "field_nodes", "parent_type", "path")),
    ],
}


def patch_pagination(
    *,
    apply_cursor_pagination: Callable[..., Any],
    should_resolve_edges: Callable[..., bool],
    resolve_connection: Callable[..., Any],
) -> Callable[..., Any]:
    """Installs the project's keyset pagination where strawberry-django looks it up at call
    time (the connection and the optimizer both), and the connection's resolution; returns
    the library's own resolution for the replacement to call."""
    library_resolve_connection = DjangoCursorConnection.resolve_connection.__func__
    cursor_connection.apply_cursor_pagination = apply_cursor_pagination
    cursor_connection.should_resolve_list_connection_edges = should_resolve_edges
    DjangoCursorConnection.resolve_connection = classmethod(resolve_connection)
    return library_resolve_connection


def describe_library_types(
    *,
    ordering: str,
    ordering_values: Mapping[str, str],
    page_info: str,
    page_info_fields: Mapping[str, str],
) -> None:
    """Gives strawberry-django's `Ordering` and strawberry's `PageInfo` these descriptions,
    before the schema is built; refuses a shape it does not know."""
    ordering_definition = Ordering.__strawberry_definition__
    values = {value.name: value for value in ordering_definition.values}
    page_info_definition = PageInfo.__strawberry_definition__
    fields = {field.python_name: field for field in page_info_definition.fields}
    if values.keys() != ordering_values.keys() or fields.keys() != page_info_fields.keys():
        raise IncompatibleLibrary(
            "strawberry-django's Ordering or strawberry's PageInfo changed: "
            f"{sorted(values)}, {sorted(fields)}"
        )
    ordering_definition.description = ordering
    for name, description in ordering_values.items():
        values[name].description = description
    page_info_definition.description = page_info
    for name, description in page_info_fields.items():
        fields[name].description = description


__all__ = [
    "OVERRIDDEN",
    "WRITTEN_FOR",
    "CannotGetOperationTypeError",
    "DjangoCursorConnection",
    "DjangoCursorEdge",
    "FieldDetails",
    "FragmentDetails",
    "GlobalIDValueError",
    "GraphQLCoreConverter",
    "GraphQLRequestData",
    "HTTPException",
    "InvalidOperationTypeError",
    "ModelProperty",
    "NameConverter",
    "OperationType",
    "OrderingDescriptor",
    "StrawberryArgument",
    "StrawberryDjangoField",
    "StrawberryField",
    "StrawberryGraphQLCoreExecutionContext",
    "StrawberryObjectDefinition",
    "VariableValues",
    "annotate_ordering_fields",
    "apply_window_pagination",
    "build_tuple_compare",
    "collect_fields",
    "collect_subfields",
    "gather_with_cancel",
    "get_django_definition",
    "get_object_definition",
    "get_queryset_config",
    "in_async_context",
    "is_optimized_by_prefetching",
    "remove_window_pagination",
    "resolve_awaitable",
    "resolve_edge_class",
    "resolve_model_id",
    "to_camel_case",
    "to_nodes",
]


def compact_event_loop_tables(loop: asyncio.AbstractEventLoop) -> None:
    """Rebuilds the event loop's tables (tasks, async generators, transports, watched file
    descriptors) at their present size: a hash table keeps the size of its peak, so after
    thousands of WebSockets have closed, asyncio's registry of async generators alone would
    hold megabytes of empty slots."""
    tasks = asyncio.tasks._all_tasks
    tasks.data = set(tasks.data)
    if isinstance(getattr(loop, "_asyncgens", None), weakref.WeakSet):
        loop._asyncgens = weakref.WeakSet(loop._asyncgens)
    if isinstance(getattr(loop, "_transports", None), weakref.WeakValueDictionary):
        loop._transports = weakref.WeakValueDictionary(loop._transports)
    selector = getattr(loop, "_selector", None)
    if isinstance(getattr(selector, "_fd_to_key", None), dict):
        selector._fd_to_key = dict(selector._fd_to_key)


def compact_in_place(table: set | dict) -> None:
    """Rebuilds a set or dict that others hold at its present size (`clear` frees the
    table; refilling sizes a new one for what is left)."""
    kept = table.copy()
    table.clear()
    table.update(kept)
