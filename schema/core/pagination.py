"""Keyset pagination with the contract's page sizes: `first`/`last` default 20, at most 100.

Every connection is strawberry-django's `DjangoCursorConnection`: a cursor holds the values
of the page's ordering (its last column always the primary key), and the next page is a
`WHERE (ordering) > (cursor)` on an index, so a page deep in a million rows costs what the
first page costs. `totalCount` is a separate `COUNT`, run only when a client asks for it.

The library computes every page, top-level or prefetched by the optimizer for a nested
connection, in `apply_cursor_pagination`. This module replaces that one function, so the
contract's rules hold on both paths:

- the default page is 20 (the library's is unbounded) and sizes outside 0..100 are
  `BAD_USER_INPUT`, as are malformed cursors;
- the comparison also bounds the leading ordering column on its own (`created_at <= x`),
  which PostgreSQL can use as an index condition where the expanded `OR` of the tuple
  comparison is only a filter;
- a nested page after a cursor counts its `totalCount` over the whole list, not over the
  rows past the cursor (a correlated `COUNT` when `totalCount` is asked for; a `COUNT` of
  the list when the page is empty).
"""

from __future__ import annotations

import inspect
import json
from functools import partial
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode
from strawberry.relay import from_base64

from schema.core import compat
from schema.core.compat import (
    DjangoCursorConnection,
    DjangoCursorEdge,
    NameConverter,
    OrderingDescriptor,
    StrawberryObjectDefinition,
    annotate_ordering_fields,
    apply_window_pagination,
    build_tuple_compare,
    get_object_definition,
    get_queryset_config,
    is_optimized_by_prefetching,
    remove_window_pagination,
    resolve_awaitable,
)
from schema.core.context import Info
from schema.core.errors import BadUserInput

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

TOTAL_COUNT_ANNOTATION = "_strawberry_total_count"
# With both `first` and `last`: each row's number counted forwards (strawberry-django's name).
FORWARD_ROW_NUMBER = "_strawberry_row_number_fwd"
PAGE_FIELDS = frozenset({"edges", "pageInfo"})


def validate_page_size(*, first: int | None, last: int | None) -> None:
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            message = f"`{name}` must be between 0 and {MAX_PAGE_SIZE}."
            raise BadUserInput(message, fields={name: [message]})


def _malformed_cursor(name: str) -> BadUserInput:
    return BadUserInput("Malformed cursor.", fields={name: ["Malformed cursor."]})


def decode_cursor(cursor: str, descriptors: list[OrderingDescriptor], *, name: str) -> list:
    """The ordering values a cursor holds, checked against this page's ordering."""
    try:
        prefix, payload = from_base64(cursor)
        values = json.loads(payload)
    except (ValueError, TypeError) as error:
        raise _malformed_cursor(name) from error
    if (
        prefix != DjangoCursorEdge.CURSOR_PREFIX
        or not isinstance(values, list)
        or len(values) != len(descriptors)
        or any(value is not None and not isinstance(value, str) for value in values)
        or any(value is not None and "\x00" in value for value in values)
    ):
        # A cursor made under another ordering has other columns: refused, not misread.
        raise _malformed_cursor(name)
    try:
        return [
            None if value is None else d.order_by.expression.output_field.to_python(value)
            for d, value in zip(descriptors, values, strict=True)
        ]
    except Exception as error:  # to_python raises ValidationError, or ValueError on overflow
        raise _malformed_cursor(name) from error


class KeysetCondition(ExpressionWrapper):
    """A cursor's condition, marked so that counting the whole list can drop it again."""


def keyset_condition(descriptors: list[OrderingDescriptor], values: list, *, before: bool) -> Q:
    """Rows strictly after (or before) the cursor's position in the ordering."""
    condition = build_tuple_compare(descriptors, values, before)
    leading, value = descriptors[0], values[0]
    if value is not None and not leading.maybe_null:
        lookup = "lte" if before ^ leading.order_by.descending else "gte"
        bound = Value(value, output_field=leading.order_by.expression.output_field)
        condition &= Q((f"{leading.attname}__{lookup}", bound))
    return condition


def _total_count_over(qs: QuerySet, related_field_id: str) -> Coalesce:
    """Per parent, the count of the list before any cursor filter: a correlated COUNT."""
    counted = (
        qs.order_by()
        .filter(**{related_field_id: OuterRef(related_field_id)})
        .values(related_field_id)
        .annotate(count=Count("*"))
        .values("count")
    )
    return Coalesce(Subquery(counted), 0)


def apply_cursor_pagination(
    qs: QuerySet,
    *,
    related_field_id: str | None = None,
    info: Info,
    before: str | None,
    after: str | None,
    first: int | None,
    last: int | None,
    max_results: int | None,
) -> tuple[QuerySet, list[OrderingDescriptor]]:
    del max_results  # the library's signature; the contract's sizes apply everywhere
    return paginate(
        qs,
        related_field_id=related_field_id,
        before=before,
        after=after,
        first=first,
        last=last,
        counts_whole_list=(
            related_field_id is not None and bool(after or before) and selects(info, {"totalCount"})
        ),
    )


def paginate(
    qs: QuerySet,
    *,
    related_field_id: str | None = None,
    before: str | None,
    after: str | None,
    first: int | None,
    last: int | None,
    counts_whole_list: bool = False,
) -> tuple[QuerySet, list[OrderingDescriptor]]:
    """The page of `qs` (one more row each way than asked, telling whether more follow), and
    the descriptors of its ordering; one window per parent for a nested list
    (`related_field_id`), whose rows then carry the list's total count when
    `counts_whole_list`. Shared by the connections and the compiled operations
    (`schema.core.compiled`)."""
    validate_page_size(first=first, last=last)
    if first is None and last is None:
        first = DEFAULT_PAGE_SIZE

    qs, descriptors, order_by = annotate_ordering_fields(qs)
    uncut = qs
    for name, cursor, is_before in (("after", after, False), ("before", before, True)):
        if cursor:
            values = decode_cursor(cursor, descriptors, name=name)
            condition = keyset_condition(descriptors, values, before=is_before)
            qs = qs.filter(KeysetCondition(condition, output_field=BooleanField()))

    if first is not None and last is not None:
        # Relay's `first` applies before `last`: rows counted forwards, read backwards.
        qs = (
            qs.reverse()
            .annotate(**{FORWARD_ROW_NUMBER: Window(RowNumber(), order_by=order_by)})
            .filter(**{f"{FORWARD_ROW_NUMBER}__lte": first + 1})
        )
        limit = last + 2
    elif first is not None:
        limit = first + 1  # one more row tells whether there is a next page
    else:
        qs = qs.reverse()
        limit = last + 1

    if related_field_id is None:
        qs = qs[:limit]
    else:
        qs = apply_window_pagination(qs, related_field_id=related_field_id, limit=limit)
        if (after or before) and counts_whole_list:
            # The window's count only sees the rows past the cursor.
            qs = qs.annotate(**{TOTAL_COUNT_ANNOTATION: _total_count_over(uncut, related_field_id)})

    get_queryset_config(qs).ordering_descriptors = descriptors
    return qs, descriptors


def selects(info: Info, names: set[str] | frozenset[str]) -> bool:
    """Whether any of `names` is asked for directly under this field, or in its fragments.

    strawberry's own check for a connection's page converts the field's whole selection tree
    to `SelectedField`s, for each nested connection of a page (50 times for 50 users); the
    field's own nodes answer it. A field skipped by `@skip`/`@include` still counts: the
    page is loaded, never shown.
    """
    raw_info = info._raw_info
    pending = [
        selection
        for node in raw_info.field_nodes
        if node.selection_set is not None
        for selection in node.selection_set.selections
    ]
    while pending:
        selection = pending.pop()
        if isinstance(selection, FieldNode):
            if selection.name.value in names:
                return True
        elif isinstance(selection, InlineFragmentNode):
            pending.extend(selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = raw_info.fragments.get(selection.name.value)
            if fragment is not None:
                pending.extend(fragment.selection_set.selections)
    return False


def selects_page(info: Info) -> bool:
    return selects(info, PAGE_FIELDS)


def without_cursor(qs: QuerySet) -> QuerySet:
    """A nested page's whole list: its window pagination and cursor conditions dropped."""
    qs = remove_window_pagination(qs)
    qs.query.where.children = [
        child
        for child in qs.query.where.children
        if not isinstance(getattr(child, "lhs", None), KeysetCondition)
    ]
    return qs


RENAMED = {
    get_object_definition(DjangoCursorConnection, strict=True).name: "Connection",
    get_object_definition(DjangoCursorEdge, strict=True).name: "Edge",
}


class ConnectionNames(NameConverter):
    """`UserConnection` and `UserEdge`, as the contract names them, not `UserCursorConnection`."""

    def from_generic(self, generic_type: StrawberryObjectDefinition, types: list) -> str:
        name = super().from_generic(generic_type, types)
        if generic_type.name in RENAMED:
            name = name.removesuffix(generic_type.name) + RENAMED[generic_type.name]
        return name


# The library's own resolution, which `_resolve_connection` extends (set by `install`).
_library_resolve_connection: Any = None


def _resolve_connection(
    cls: type[DjangoCursorConnection],
    nodes: QuerySet,
    *,
    first: int | None = None,
    last: int | None = None,
    **kwargs: Any,
) -> Any:
    # The page is cut to `first` here, after the query fetched one more row.
    if first is None and last is None:
        first = DEFAULT_PAGE_SIZE
    connection = _library_resolve_connection(cls, nodes, first=first, last=last, **kwargs)
    after, before = kwargs.get("after"), kwargs.get("before")
    finish = partial(
        _finish,
        # A nested page past a cursor that came back empty has no row to carry its count.
        recount=bool(after or before) and is_optimized_by_prefetching(nodes),
        # A cursor is a row that was in the list: Relay allows `true` without a query.
        has_previous_page=bool(after) and last is None,
        has_next_page=bool(before) and first is None,
    )
    if inspect.isawaitable(connection):
        return resolve_awaitable(connection, finish)
    return finish(connection)


def _finish(
    connection: DjangoCursorConnection,
    *,
    recount: bool,
    has_previous_page: bool,
    has_next_page: bool,
) -> DjangoCursorConnection:
    if recount and not connection.edges and connection.total_count_qs is not None:
        connection.total_count_qs = without_cursor(connection.total_count_qs)
    connection.page_info.has_previous_page |= has_previous_page
    connection.page_info.has_next_page |= has_next_page
    return connection


def install() -> None:
    """Both callers of the pagination (the connection and the optimizer) use this module's;
    the connection cuts the page to the same default size."""
    global _library_resolve_connection
    if _library_resolve_connection is None:
        _library_resolve_connection = compat.patch_pagination(
            apply_cursor_pagination=apply_cursor_pagination,
            should_resolve_edges=selects_page,
            resolve_connection=_resolve_connection,
        )
