"""What a compiled operation runs for a request: querysets read with `values_list`, rows
shaped straight into the answer's dicts.

Every queryset is the one the normal path builds, from the same functions: the field's
`get_queryset` (the type's visibility rule, filters, ordering), the type's `get_queryset`
for objects reached apart, `schema.core.pagination.paginate` for pages. Only the reading
differs: tuples instead of model instances, and no field resolution. Anything the normal path
would answer differently from a page of data (a refusal, an error, a case no read here
covers) raises, and the normal path answers instead.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any, Protocol

import orjson
from django.core.exceptions import EmptyResultSet
from django.db.models import Count, Model, QuerySet
from graphql import FieldNode, GraphQLField, get_argument_values
from strawberry.permission import BasePermission
from strawberry.relay import GlobalID, to_base64

from schema.core.compat import (
    DjangoCursorEdge,
    OrderedCollectionCursor,
    OrderingDescriptor,
    StrawberryArgument,
    StrawberryDjangoField,
    VariableValues,
    convert_arguments,
    cursor_value,
    run_type_get_queryset,
)
from schema.core.compiled import statements
from schema.core.compiled.statements import Keys, StandIn
from schema.core.context import Context
from schema.core.ids import pk_of
from schema.core.pagination import (
    DEFAULT_PAGE_SIZE,
    FORWARD_ROW_NUMBER,
    TOTAL_COUNT_ANNOTATION,
    paginate,
)

# Relay's arguments: the connection reads them, the queryset hooks never see them.
RELAY_ARGUMENTS = frozenset({"first", "last", "before", "after"})


class NotCovered(Exception):
    """This request is the normal path's to answer: an error, a refusal, or a case that no read
    here covers."""


@dataclasses.dataclass(frozen=True)
class ViewerInfo:
    """The `info` the querysets' hooks and the permissions are given here: they read the caller
    from `info.context.viewer`, and nothing else of it."""

    context: Context


@dataclasses.dataclass(frozen=True)
class Run:
    """One request: its caller and its coerced variables, and the schema's argument
    conversion."""

    info: ViewerInfo
    variables: VariableValues
    convert: Callable[[dict[str, Any], list[StrawberryArgument]], dict[str, Any]]

    @functools.cached_property
    def shape(self) -> tuple:
        """What besides keys a read's SQL may depend on (`statements`): the caller's kind and
        the variables."""
        viewer = self.info.context.viewer
        authenticated = bool(viewer.is_authenticated)
        return (authenticated, authenticated and viewer.is_admin, repr(self.variables))

    @functools.cached_property
    def stand_in(self) -> Run:
        """This request with the caller as `StandIn`: a kept statement is built for it."""
        authenticated, admin, _ = self.shape
        viewer = StandIn(statements.VIEWER_KEY if authenticated else None, authenticated, admin)
        context = dataclasses.replace(self.info.context, viewer=viewer)
        return dataclasses.replace(self, info=ViewerInfo(context))

    def keys(self, *, node: Any = None, parents: list | None = None) -> Keys:
        viewer = self.info.context.viewer
        return Keys(
            viewer=viewer.pk if viewer.is_authenticated else None,
            node=node,
            parents=parents,
            bind=not statements.could_pass_for_key(self.shape[-1]),
        )

    def read(
        self, owner: Any, site: str, keys: Keys, build: statements.Build, *, count: bool = False
    ) -> tuple[Any, Any]:
        """`statements.run` for this request."""
        shape = (site, *self.shape)
        return statements.run(
            owner, shape, keys, build, caller=self, stand_in=self.stand_in, count=count
        )


@dataclasses.dataclass(frozen=True)
class Arguments:
    """A field's arguments as the document gives them, converted as strawberry converts them
    for the field's resolver (input objects become the filter and order types)."""

    field_def: GraphQLField
    node: FieldNode
    arguments: list[StrawberryArgument]

    def values(self, run: Run) -> dict[str, Any]:
        raw = get_argument_values(self.field_def, self.node, run.variables)
        return run.convert(raw, self.arguments)


def convert_with(schema: Any) -> Callable[[dict[str, Any], list[StrawberryArgument]], dict]:
    """strawberry's conversion of raw argument values, with `schema`'s scalars and names."""
    registry, config = schema.schema_converter.scalar_registry, schema.config

    def convert(raw: dict[str, Any], arguments: list[StrawberryArgument]) -> dict[str, Any]:
        return convert_arguments(raw, arguments, scalar_registry=registry, config=config)

    return convert


def check_permissions(permissions: Sequence[BasePermission], run: Run, kwargs: dict) -> None:
    """A root field's permissions, as its PermissionExtension checks them (they raise the
    contract's errors; a plain refusal is not covered either)."""
    for permission in permissions:
        if not permission.has_permission(None, run.info, **kwargs):
            raise NotCovered(f"{type(permission).__name__} refused")


# --- objects ---------------------------------------------------------------------------

Loaded = list[dict[Any, Any]]
Derive = Callable[[tuple, Loaded], Any]


@dataclasses.dataclass(frozen=True)
class Shape:
    """One object's dict from its row: each key's column, converted where the scalar writes
    something else than the column's value, or derived from other reads."""

    keys: tuple[str, ...]
    columns: tuple[int, ...]  # each key's column (unused for derived keys)
    converted: tuple[tuple[str, Callable[[Any], Any]], ...]
    derived: tuple[tuple[str, Derive], ...]

    @functools.cached_property
    def build(self) -> Callable[[tuple, Loaded], dict[str, Any]]:
        """A function that writes this object as one dict display, `{"id": c0(row[0]), ...}`:
        compiled once, it costs a call per object instead of one per field."""
        converted, derived = dict(self.converted), dict(self.derived)
        namespace: dict[str, Any] = {}
        entries = []
        for index, (key, column) in enumerate(zip(self.keys, self.columns, strict=True)):
            if key in derived:
                namespace[f"d{index}"] = derived[key]
                value = f"d{index}(row, loaded)"
            elif key in converted:
                namespace[f"c{index}"] = converted[key]
                value = f"c{index}(row[{column:d}])"
            else:
                value = f"row[{column:d}]"
            entries.append(f"{key!r}: {value}")
        # Keys are GraphQL names (`[_A-Za-z][_0-9A-Za-z]*`), columns integers: nothing else
        # reaches the source.
        source = f"lambda row, loaded: {{{', '.join(entries)}}}"
        return eval(compile(source, "<compiled shape>", "eval"), namespace)


class Child(Protocol):
    """Rows read after their parents' (a related object, a list, a page per parent), keyed by
    the value of the parents' column `key_column`."""

    key_column: int

    def load(self, run: Run, keys: list) -> dict[Any, Any]: ...


@dataclasses.dataclass(frozen=True)
class ObjectRead:
    """The columns (`values_list`) and annotations one selection of a model type reads, the
    reads that follow for its rows, and how a row becomes the answer's object. Column 0 is
    the primary key."""

    model: type[Model]
    origin: type  # the strawberry-django type: its `get_queryset`
    columns: tuple[str, ...]
    annotations: tuple[tuple[str, Any], ...]  # name, expression (or a function of info)
    shape: Shape
    children: tuple[Child, ...]

    def visible(self, run: Run) -> QuerySet:
        """Every row of the model the caller may see: the type's `get_queryset`."""
        return run_type_get_queryset(self.model._default_manager.all(), self.origin, run.info)

    def annotate(self, queryset: QuerySet, run: Run) -> QuerySet:
        if not self.annotations:
            return queryset
        return queryset.annotate(
            **{
                name: annotation(run.info) if callable(annotation) else annotation
                for name, annotation in self.annotations
            }
        )

    def rows(self, queryset: QuerySet, extra: Sequence[str] = ()) -> tuple[QuerySet, list[int]]:
        """The rows' queryset, and where each of the `extra` columns is in them (each column
        once)."""
        columns, positions = list(self.columns), []
        for name in extra:
            if name == self.model._meta.pk.attname:
                name = "pk"
            if name not in columns:
                columns.append(name)
            positions.append(columns.index(name))
        return queryset.values_list(*columns), positions

    def build(self, run: Run, rows: list[tuple]) -> list[dict[str, Any]]:
        loaded: Loaded = []
        for child in self.children:
            at = child.key_column
            keys = list(dict.fromkeys(row[at] for row in rows if row[at] is not None))
            loaded.append(child.load(run, keys) if keys else {})
        build = self.shape.build
        return [build(row, loaded) for row in rows]


@dataclasses.dataclass(frozen=True)
class RelatedObjects:
    """The objects a foreign key points to, read apart through their type's `get_queryset`,
    as the optimizer prefetches them; a row the caller may not see is not covered."""

    key_column: int
    read: ObjectRead

    def load(self, run: Run, keys: list) -> dict[Any, Any]:
        def build(caller: Run, bound: Keys) -> tuple[QuerySet, Any]:
            return self.read.rows(
                self.read.annotate(self.read.visible(caller).filter(pk__in=bound.parents), caller)
            )

        rows, _ = run.read(self, "objects", run.keys(parents=keys), build)
        return {row[0]: built for row, built in zip(rows, self.read.build(run, rows), strict=True)}


@dataclasses.dataclass(frozen=True)
class RelatedLists:
    """A reverse foreign key's rows (`items`), through the field's `get_queryset`, in its
    ordering, grouped by parent."""

    key_column: int
    field: StrawberryDjangoField
    related_id: str  # the rows' column naming their parent, e.g. `order_id`
    read: ObjectRead

    def load(self, run: Run, keys: list) -> dict[Any, Any]:
        def build(caller: Run, bound: Keys) -> tuple[QuerySet, Any]:
            queryset = self.field.get_queryset(self.read.model._default_manager.all(), caller.info)
            queryset = queryset.filter(**{f"{self.related_id}__in": bound.parents})
            return self.read.rows(self.read.annotate(queryset, caller), [self.related_id])

        rows, (parent_at,) = run.read(self, "lists", run.keys(parents=keys), build)
        lists: dict[Any, list] = {}
        for row, built in zip(rows, self.read.build(run, rows), strict=True):
            lists.setdefault(row[parent_at], []).append(built)
        return lists


# --- connections -------------------------------------------------------------------------


def cursor_of(row: tuple, positions: list[int], descriptors: list[OrderingDescriptor]) -> str:
    """The keyset cursor strawberry-django writes for a row, whose ordering values are at
    `positions`."""
    values = [
        cursor_value(SimpleNamespace(**{d.attname: row[at]}), d.order_by.expression, d.attname)
        for at, d in zip(positions, descriptors, strict=True)
    ]
    return to_base64(DjangoCursorEdge.CURSOR_PREFIX, str(OrderedCollectionCursor(values)))


@dataclasses.dataclass(frozen=True)
class Page:
    """One page as read: its rows (ordering values at `cursor_at`) and their objects."""

    rows: list[tuple]
    objects: list[dict[str, Any]]
    descriptors: list[OrderingDescriptor]
    cursor_at: list[int]
    has_next_page: bool
    has_previous_page: bool
    total_count: int | None

    @classmethod
    def of(
        cls,
        rows: list[tuple],
        objects: list[dict[str, Any]],
        *,
        paging: Paging,
        descriptors: list[OrderingDescriptor],
        cursor_at: list[int],
        row_number_at: int | None,
        total_count: int | None,
    ) -> Page:
        """The page of rows read one past it each way (`paginate`), cut as strawberry-django's
        connection cuts it: `first` counted forwards (by the row number read with both sizes),
        then `last`, read in reverse. A cursor is a row that was in the list, so there is a
        page on its side (`schema.core.pagination`)."""
        first, last = paging.first, paging.last
        has_next_page = has_previous_page = False
        if first is not None:
            if last is None:
                has_next_page = len(rows) > first
                rows, objects = rows[:first], objects[:first]
            elif rows and rows[0][row_number_at] > first:
                has_next_page = True
                rows, objects = rows[1:], objects[1:]
        if last is not None:
            has_previous_page = len(rows) > last
            rows, objects = rows[:last][::-1], objects[:last][::-1]
        has_previous_page |= bool(paging.after) and last is None
        has_next_page |= bool(paging.before) and first is None
        return cls(
            rows=rows,
            objects=objects,
            descriptors=descriptors,
            cursor_at=cursor_at,
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            total_count=total_count,
        )


@dataclasses.dataclass(frozen=True)
class ConnectionShape:
    """A connection's selection: `totalCount`, `pageInfo`, `edges` (`cursor`, `node`) and
    `__typename`s, each under its response key."""

    fields: tuple[tuple[str, str, Any], ...]  # key, part, the part's own selection
    counts: bool  # totalCount is asked for

    def build(self, page: Page) -> dict[str, Any]:
        built: dict[str, Any] = {}
        cursors: list[str] | None = None
        for key, part, selection in self.fields:
            if part == "totalCount":
                built[key] = page.total_count
            elif part == "__typename":
                built[key] = selection
            elif part == "pageInfo":
                built[key] = self._page_info(page, selection)
            else:  # edges
                if cursors is None and any(name == "cursor" for _, name, _ in selection):
                    cursors = [
                        cursor_of(row, page.cursor_at, page.descriptors) for row in page.rows
                    ]
                built[key] = [
                    self._edge(selection, cursors, index, node)
                    for index, node in enumerate(page.objects)
                ]
        return built

    @staticmethod
    def _edge(selection: tuple, cursors: list[str] | None, index: int, node: dict) -> dict:
        edge: dict[str, Any] = {}
        for key, name, typename in selection:
            if name == "node":
                edge[key] = node
            elif name == "cursor":
                edge[key] = cursors[index]
            else:
                edge[key] = typename
        return edge

    @staticmethod
    def _page_info(page: Page, selection: tuple) -> dict[str, Any]:
        info: dict[str, Any] = {}
        for key, name, typename in selection:
            if name == "hasNextPage":
                info[key] = page.has_next_page
            elif name == "hasPreviousPage":
                info[key] = page.has_previous_page
            elif name == "startCursor":
                info[key] = (
                    cursor_of(page.rows[0], page.cursor_at, page.descriptors) if page.rows else None
                )
            elif name == "endCursor":
                info[key] = (
                    cursor_of(page.rows[-1], page.cursor_at, page.descriptors)
                    if page.rows
                    else None
                )
            else:
                info[key] = typename
        return info


@dataclasses.dataclass(frozen=True)
class Paging:
    """A connection's Relay arguments (`first` is the default page when neither size is
    given)."""

    first: int | None
    last: int | None
    after: str | None
    before: str | None

    @classmethod
    def of(cls, kwargs: dict[str, Any]) -> Paging:
        first, last = kwargs.get("first"), kwargs.get("last")
        if first is None and last is None:
            first = DEFAULT_PAGE_SIZE
        return cls(first, last, kwargs.get("after"), kwargs.get("before"))

    @property
    def columns(self) -> list[str]:
        """The row number `paginate` reads for `first` with `last`."""
        both = self.first is not None and self.last is not None
        return [FORWARD_ROW_NUMBER] if both else []

    def paginate(self, queryset: QuerySet, **options: Any) -> tuple[QuerySet, Any]:
        """`schema.core.pagination.paginate` for these arguments."""
        return paginate(
            queryset,
            before=self.before,
            after=self.after,
            first=self.first,
            last=self.last,
            **options,
        )


@dataclasses.dataclass(frozen=True)
class ConnectionRead:
    """A keyset-paginated list: at the root (`products`), or one page per parent
    (`User.orders`, `related_id` naming the parent), windowed in one query."""

    field: StrawberryDjangoField
    arguments: Arguments
    permissions: tuple[BasePermission, ...]
    node: ObjectRead
    shape: ConnectionShape
    related_id: str | None = None
    # The root page's cache, where the connection type keeps one (`cached_page`), and what
    # tells this page's key from another operation's.
    cache: Callable[..., bytes] | None = None
    cache_scope: str = ""

    def _nodes(self, run: Run, kwargs: dict[str, Any]) -> QuerySet:
        """The list before pagination, as the connection is given it."""
        hooks = {name: value for name, value in kwargs.items() if name not in RELAY_ARGUMENTS}
        return self.field.get_queryset(self.node.model._default_manager.all(), run.info, **hooks)

    def resolve(self, run: Run) -> Any:
        """The root connection's value (a pre-encoded `orjson.Fragment` from the cache)."""
        kwargs = self.arguments.values(run)
        check_permissions(self.permissions, run, kwargs)
        paging = Paging.of(kwargs)
        if self.cache is None:
            return self._root_page(run, kwargs, paging)
        try:
            sql, params = self._nodes(run, kwargs).query.sql_with_params()
        except EmptyResultSet:
            return self._root_page(run, kwargs, paging)
        asked = repr((self.cache_scope, sql, params, paging))
        key = "compiled:" + hashlib.sha256(asked.encode()).hexdigest()
        encoded = self.cache(key, lambda: orjson.dumps(self._root_page(run, kwargs, paging)))
        return orjson.Fragment(encoded)

    def _root_page(self, run: Run, kwargs: dict[str, Any], paging: Paging) -> dict:
        def page(caller: Run, bound: Keys) -> tuple[QuerySet, Any]:
            queryset, descriptors = paging.paginate(
                self.node.annotate(self._nodes(caller, kwargs), caller)
            )
            columns = [*(d.attname for d in descriptors), *paging.columns]
            queryset, positions = self.node.rows(queryset, columns)
            return queryset, (descriptors, positions)

        def whole_list(caller: Run, bound: Keys) -> tuple[QuerySet, Any]:
            return self._nodes(caller, kwargs), None

        rows, (descriptors, positions) = run.read(self, "page", run.keys(), page)
        ordering, row_number = positions[: len(descriptors)], positions[len(descriptors) :]
        total = None
        if self.shape.counts:
            total, _ = run.read(self, "count", run.keys(), whole_list, count=True)
        page = Page.of(
            rows,
            self.node.build(run, rows),
            paging=paging,
            descriptors=descriptors,
            cursor_at=ordering,
            row_number_at=row_number[0] if row_number else None,
            total_count=total,
        )
        return self.shape.build(page)

    @property
    def key_column(self) -> int:
        return 0  # nested: the parent's primary key

    def load(self, run: Run, keys: list) -> dict[Any, Any]:
        """One page per parent in `keys`."""
        kwargs = self.arguments.values(run)
        paging = Paging.of(kwargs)

        def pages(caller: Run, bound: Keys) -> tuple[QuerySet, Any]:
            nodes = self._nodes(caller, kwargs).filter(**{f"{self.related_id}__in": bound.parents})
            if nodes.query.distinct:
                raise NotCovered("DISTINCT: the window's count does not hold")
            queryset, descriptors = paging.paginate(
                self.node.annotate(nodes, caller),
                related_field_id=self.related_id,
                counts_whole_list=self.shape.counts,
            )
            columns = [
                *(d.attname for d in descriptors),
                self.related_id,
                TOTAL_COUNT_ANNOTATION,
                *paging.columns,
            ]
            queryset, positions = self.node.rows(queryset, columns)
            return queryset, (descriptors, positions)

        rows, (descriptors, positions) = run.read(self, "pages", run.keys(parents=keys), pages)
        ordering, rest = positions[: len(descriptors)], positions[len(descriptors) :]
        parent_at, total_at, *row_number = rest
        by_parent: dict[Any, tuple[list, list]] = {key: ([], []) for key in keys}
        for row, built in zip(rows, self.node.build(run, rows), strict=True):
            parent_rows, parent_objects = by_parent[row[parent_at]]
            parent_rows.append(row)
            parent_objects.append(built)
        recounted = {}
        if (paging.after or paging.before) and self.shape.counts:
            recounted = self._recount(self._nodes(run, kwargs), by_parent)
        pages = {}
        for key, (parent_rows, parent_objects) in by_parent.items():
            # An empty first page has an empty list; past a cursor, the list is counted.
            total = parent_rows[0][total_at] if parent_rows else recounted.get(key, 0)
            page = Page.of(
                parent_rows,
                parent_objects,
                paging=paging,
                descriptors=descriptors,
                cursor_at=ordering,
                row_number_at=row_number[0] if row_number else None,
                total_count=total,
            )
            pages[key] = self.shape.build(page)
        return pages

    def _recount(self, nodes: QuerySet, by_parent: dict) -> dict[Any, int]:
        """The whole lists of the parents whose page past the cursor came back empty, counted
        in one query."""
        empty = [key for key, (parent_rows, _) in by_parent.items() if not parent_rows]
        if not empty:
            return {}
        counted = (
            nodes.filter(**{f"{self.related_id}__in": empty})
            .order_by()
            .values_list(self.related_id)
            .annotate(count=Count("*"))
        )
        return dict(counted)


# --- root objects ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ResolvedObject:
    """A root field whose resolver returns a queryset of one object, or None (`me`)."""

    field: StrawberryDjangoField
    resolver: Callable[..., Any]
    permissions: tuple[BasePermission, ...]
    read: ObjectRead

    def resolve(self, run: Run) -> dict[str, Any] | None:
        check_permissions(self.permissions, run, {})

        def build(caller: Run, bound: Keys) -> tuple[QuerySet, Any]:
            result = self.resolver(None, caller.info)
            if result is None:  # null, as no row is
                return self.read.model._default_manager.none(), None
            if not isinstance(result, QuerySet):
                raise NotCovered("the resolver returned no queryset")
            queryset = self.field.get_queryset(result, caller.info)
            if not queryset.ordered:  # as `QuerySet.first()`
                queryset = queryset.order_by("pk")
            return self.read.rows(self.read.annotate(queryset, caller)[:1])

        rows, _ = run.read(self, "object", run.keys(), build)
        return self.read.build(run, rows)[0] if rows else None


@dataclasses.dataclass(frozen=True)
class NodeById:
    """`node(id:)`: the object of the global id's type and key, through its type's
    `get_queryset` (`schema.core.nodes`); null when the caller may not see it."""

    arguments: Arguments
    reads: dict[str, ObjectRead]  # by type name

    def resolve(self, run: Run) -> dict[str, Any] | None:
        global_id = self.arguments.values(run).get("id")
        if not isinstance(global_id, GlobalID) or global_id.type_name not in self.reads:
            raise NotCovered("not a global id of a planned type")
        read = self.reads[global_id.type_name]
        pk = pk_of(global_id, global_id.type_name)
        if pk is None:  # past any key a row can have
            return None

        def build(caller: Run, bound: Keys) -> tuple[QuerySet, Any]:
            return read.rows(read.annotate(read.visible(caller).filter(pk=bound.node), caller))

        rows, _ = run.read(read, "node", run.keys(node=pk), build)
        return read.build(run, rows)[0] if rows else None
