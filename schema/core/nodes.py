"""`node` and `nodes`, Relay's refetch by global id: every id of an operation loaded together.

Both fields load through the execution's `NodeLoader`. The first of them to resolve reads
every `node` and `nodes` field of the operation (root fields after `@skip`/`@include`,
fragments followed, variables applied) with their ids, so that each type's ids then load in
one call of the type's `resolve_nodes`, strawberry-django's: the type's `get_queryset` (its
visibility rule), `pk IN (...)`, and the optimizer's `only()`, joins and prefetches for the
field's selection. The optimizer shapes a query for one selection, so one load serves the
fields that select the same of a type (aliases of one fragment, `nodes` beside `node`);
fields that select differently load apart.

strawberry's `DataLoader` batches what one turn of the event loop collects. HTTP runs an
operation synchronously (`execute_sync`): no loop turns, and a resolver may not return an
awaitable. Reading the operation first gives the same batches without a loop. Over WebSocket
operations run asynchronously: the loads then go through `sync_to_async` (strawberry-django's
`django_resolver`), each awaited by every field that needs it.

A loader lives for one execution (`NodeLoading`), not in the Context: a WebSocket's Context
lasts as long as the connection and serves its operations concurrently.
"""

import asyncio
import inspect
import operator
from collections.abc import Awaitable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any

import strawberry
from django.db.models import Model
from graphql import GraphQLError, GraphQLResolveInfo, get_argument_values, print_ast
from strawberry import relay
from strawberry.extensions import SchemaExtension

from schema.core.compat import (
    FieldDetails,
    FragmentDetails,
    GlobalIDValueError,
    VariableValues,
    collect_fields,
    collect_subfields,
    resolve_awaitable,
)
from schema.core.context import Info
from schema.core.errors import BadUserInput
from schema.core.ids import MALFORMED, pk_of
from schema.core.limits import IDS_ARGUMENT, MAX_NODES

# Ids per `nodes` field: as many as one page of a connection.
MAX_IDS = 100
# The root fields that take global ids, and the argument holding them.
ID_ARGUMENTS = {"node": "id", "nodes": IDS_ARGUMENT}

Rows = dict[int, Model | None]
# What a field selects of one type, as text: response keys and their field nodes.
Selection = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class NodeKey:
    """What a well-formed global id names. `pk` is None past any key a row can have."""

    type_name: str
    origin: type[relay.Node]
    pk: int | None


def node_keys(
    info: Info, ids: Sequence[str | relay.GlobalID], *, argument: str, listed: bool = True
) -> list[NodeKey]:
    """The keys `ids` name, in order. BAD_USER_INPUT on `argument` for more than MAX_IDS, or
    for an id that is not a Node type's with an integer key."""
    if len(ids) > MAX_IDS:
        message = f"At most {MAX_IDS} ids."
        raise BadUserInput(message, fields={argument: [message]})
    keys: list[NodeKey] = []
    malformed: list[str] = []
    for index, value in enumerate(ids):
        try:
            global_id = relay.GlobalID.from_id(value) if isinstance(value, str) else value
            origin = global_id.resolve_type(info)
            pk = pk_of(global_id, global_id.type_name, field=argument)
        except (GlobalIDValueError, BadUserInput):
            malformed.append(f"Malformed global id at index {index}." if listed else MALFORMED)
            continue
        keys.append(NodeKey(global_id.type_name, origin, pk))
    if malformed:
        raise BadUserInput(MALFORMED, fields={argument: malformed})
    return keys


@dataclass(eq=False)
class _Load:
    """One type's rows for one selection: the keys to load, then the rows (or their future)."""

    origin: type[relay.Node]
    pks: set[int] = field(default_factory=set)
    rows: Rows | asyncio.Future | None = None

    def run(self, info: Info) -> Rows | asyncio.Future:
        """Loads the rows on the first call, with `info`'s selection; the same rows after."""
        if self.rows is None:
            pks = sorted(self.pks)
            # One entry per key, in order, None where the viewer may see no such row.
            found = self.origin.resolve_nodes(info=info, node_ids=[str(pk) for pk in pks])
            if inspect.isawaitable(found):
                keyed = resolve_awaitable(found, lambda rows: dict(zip(pks, rows, strict=True)))
                self.rows = asyncio.ensure_future(keyed)
            else:
                self.rows = dict(zip(pks, found, strict=True))
        return self.rows


class NodeLoader:
    """The loads of one execution's `node` and `nodes` fields, each run once, when first
    needed."""

    def __init__(self) -> None:
        self._loads: dict[tuple[str, Selection], _Load] = {}
        self._selections: dict[tuple[tuple, str], Selection] = {}
        # The operation's, as graphql-core's field collection takes them; set by the first load.
        self._fragments: dict[str, FragmentDetails] = {}
        self._variables: VariableValues | None = None

    def load_one(self, info: Info, global_id: relay.GlobalID) -> Any:
        """`node`: the object, or None."""
        found = self.load(info, [global_id], argument="id", listed=False)
        if isinstance(found, list):
            return found[0]
        return resolve_awaitable(found, operator.itemgetter(0))

    def load(
        self,
        info: Info,
        ids: Sequence[str | relay.GlobalID],
        *,
        argument: str,
        listed: bool = True,
    ) -> list[Any] | Awaitable[list[Any]]:
        """`nodes`: one entry per id, in order, None where there is nothing the viewer may see."""
        keys = node_keys(info, ids, argument=argument, listed=listed)
        raw = info._raw_info
        if self._variables is None:
            self._fragments = {name: FragmentDetails(node) for name, node in raw.fragments.items()}
            # strawberry hands resolvers the coerced values alone.
            self._variables = VariableValues(sources={}, coerced=raw.variable_values)
            self._plan(info)
        details = [FieldDetails(node=node, defer_usage=None) for node in raw.field_nodes]
        path = tuple(raw.path.as_list())
        loads = [None if key.pk is None else self._load_of(raw, path, details, key) for key in keys]
        started = {load: load.run(info) for load in loads if load is not None}

        def answer(rows: dict[_Load, Rows]) -> list[Any]:
            return [
                None if load is None else rows[load].get(key.pk)
                for key, load in zip(keys, loads, strict=True)
            ]

        if all(isinstance(rows, dict) for rows in started.values()):
            return answer(started)

        async def awaited() -> list[Any]:
            return answer(
                {
                    load: rows if isinstance(rows, dict) else await rows
                    for load, rows in started.items()
                }
            )

        return awaited()

    def _plan(self, info: Info) -> None:
        """Registers the keys of every `node` and `nodes` field of the operation, so that
        the first load of a type and selection covers them all."""
        raw = info._raw_info
        root = collect_fields(
            raw.schema, self._fragments, self._variables, raw.parent_type, raw.operation
        )
        for response_key, details in root.grouped_field_set.items():
            field_node = details[0].node
            argument = ID_ARGUMENTS.get(field_node.name.value)
            if argument is None:
                continue
            try:
                value = get_argument_values(
                    raw.parent_type.fields[field_node.name.value], field_node, self._variables
                )[argument]
                keys = node_keys(
                    info, value if isinstance(value, list) else [value], argument=argument
                )
            except (GraphQLError, BadUserInput):
                continue  # the field refuses its argument when it resolves
            for key in keys:
                if key.pk is not None:
                    self._load_of(raw, (response_key,), details, key)

    def _load_of(
        self, raw: GraphQLResolveInfo, path: tuple, details: list[FieldDetails], key: NodeKey
    ) -> _Load:
        selection = self._selection(raw, path, details, key.type_name)
        load = self._loads.get((key.type_name, selection))
        if load is None or (load.rows is not None and key.pk not in load.pks):
            # A key the plan did not register once its load ran: a load of its own.
            load = self._loads[(key.type_name, selection)] = _Load(key.origin)
        load.pks.add(key.pk)
        return load

    def _selection(
        self, raw: GraphQLResolveInfo, path: tuple, details: list[FieldDetails], type_name: str
    ) -> Selection:
        """What the field at `path` selects of `type_name`, as the optimizer will collect it.
        Text is enough to compare: one operation, one set of fragments and variables."""
        cache_key = (path, type_name)
        selection = self._selections.get(cache_key)
        if selection is None:
            collected = collect_subfields(
                raw.schema,
                self._fragments,
                self._variables,
                raw.operation,
                raw.schema.get_type(type_name),
                details,
            )
            selection = self._selections[cache_key] = tuple(
                (response_key, tuple(print_ast(detail.node) for detail in field_details))
                for response_key, field_details in collected.grouped_field_set.items()
            )
        return selection


_loader: ContextVar[NodeLoader | None] = ContextVar("node_loader", default=None)


class NodeLoading(SchemaExtension):
    """A `NodeLoader` for each execution."""

    def on_execute(self) -> Iterator[None]:
        token = _loader.set(NodeLoader())
        try:
            yield
        finally:
            _loader.reset(token)


def node_loader() -> NodeLoader:
    """The execution's loader; a loader of its own where the schema runs without
    `NodeLoading`."""
    return _loader.get() or NodeLoader()


@strawberry.type
class NodeQueries:
    @strawberry.field(
        description="Any object by its global id; null when it does not exist or is not yours."
    )
    def node(
        self,
        info: Info,
        id: Annotated[
            relay.GlobalID,
            strawberry.argument(
                description="A global id, as an `id` field returns it; a malformed one is "
                "BAD_USER_INPUT."
            ),
        ],
    ) -> relay.Node | None:
        return node_loader().load_one(info, id)

    @strawberry.field(
        description="Objects by their global ids: one entry per id, in order, null where it "
        "does not exist or is not yours. Loaded with the operation's other `node` and `nodes` "
        f"fields, one query per type. Toward the limit of {MAX_NODES:,} nodes per request, "
        "counts like a connection with a page of that many nodes."
    )
    def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(
                description=f"At most {MAX_IDS} global ids, repeats allowed; more, or a "
                "malformed one, is BAD_USER_INPUT."
            ),
        ],
    ) -> list[relay.Node | None]:
        return node_loader().load(info, ids, argument=IDS_ARGUMENT)
