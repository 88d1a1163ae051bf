"""What every list of this API offers a client, described where the libraries leave it blank.

strawberry and strawberry-django add the arguments of a connection (`filters`, `ordering`,
`first`, `last`, `after`, `before`), the operators of a filter (`AND`, `OR`, `NOT`,
`DISTINCT`), the `Ordering` enum and `PageInfo` themselves. The arguments are described by
`ConnectionField`, the field class strawberry-django lets a connection choose; the filter
operators are declared on each filter with `FILTER_OPERATORS`' text. `Ordering` and
`PageInfo` have no such option: `describe_library_types` gives their definitions this API's
text, once, before the schema is built.
"""

from __future__ import annotations

from typing import Any

import strawberry_django

from schema.core import compat
from schema.core.compat import StrawberryArgument, StrawberryDjangoField
from schema.core.limits import MAX_NODES
from schema.core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

_NODE_LIMIT = (
    f"Nested pages multiply: a request that could return more than {MAX_NODES:,} nodes is "
    "refused with QUERY_TOO_COMPLEX."
)
_CURSOR = (
    "A keyset cursor: it holds the item's place in the ordering, so pages do not shift as "
    "items come and go. Use it only with the `ordering` it came from; a malformed cursor is "
    "BAD_USER_INPUT."
)

ARGUMENT_DESCRIPTIONS = {
    "filters": "Only the items that match this filter.",
    "ordering": (
        "Sort keys, one field each, earlier keys sorting first; ties, and an empty list, "
        "fall back to the order of creation, oldest first."
    ),
    "first": (
        f"Page size from the start, or from `after`: 0 to {MAX_PAGE_SIZE}, BAD_USER_INPUT "
        f"otherwise; {DEFAULT_PAGE_SIZE} when neither `first` nor `last` is given. {_NODE_LIMIT}"
    ),
    "last": (
        f"Page size back from the end, or from `before`: 0 to {MAX_PAGE_SIZE}, "
        f"BAD_USER_INPUT otherwise. {_NODE_LIMIT}"
    ),
    "after": f"Start after this cursor (an edge's `cursor`, or `pageInfo.endCursor`). {_CURSOR}",
    "before": (
        f"End before this cursor (an edge's `cursor`, or `pageInfo.startCursor`). {_CURSOR}"
    ),
}

FILTER_OPERATORS = {
    "AND": "Items must also match this filter.",
    "OR": "Items that match this filter match too, whatever the other fields of this one say.",
    "NOT": "Items must not match this filter.",
    "DISTINCT": "true: each item at most once.",
}

ORDERING = "The direction of one sort key. No sort key of this API is ever null."
ORDERING_VALUES = {
    "ASC": "Ascending: lowest, earliest or alphabetically first.",
    "ASC_NULLS_FIRST": "Ascending, null values first.",
    "ASC_NULLS_LAST": "Ascending, null values last.",
    "DESC": "Descending: highest, latest or alphabetically last first.",
    "DESC_NULLS_FIRST": "Descending, null values first.",
    "DESC_NULLS_LAST": "Descending, null values last.",
}

PAGE_INFO = "Where a page lies in its list, and the cursors to the pages beside it."
PAGE_INFO_FIELDS = {
    "has_next_page": (
        "Whether items follow this page; always true when paging back from a `before` cursor."
    ),
    "has_previous_page": (
        "Whether items precede this page; always true when paging on from an `after` cursor."
    ),
    "start_cursor": (
        "The first edge's cursor, null for an empty page: pass it as `before` for the page "
        "before this one."
    ),
    "end_cursor": (
        "The last edge's cursor, null for an empty page: pass it as `after` for the next page."
    ),
}


class ConnectionField(StrawberryDjangoField):
    """strawberry-django's connection field, its list arguments described for clients.

    The libraries set a connection's arguments once, when the schema is built, leaving
    `filters` and `ordering` blank and giving `first`, `last`, `after` and `before` the Relay
    wording, which knows nothing of this API's page sizes and cursors.
    """

    @property
    def arguments(self) -> list[StrawberryArgument]:
        return super().arguments

    @arguments.setter
    def arguments(self, value: list[StrawberryArgument]) -> None:
        for argument in value:
            description = ARGUMENT_DESCRIPTIONS.get(argument.python_name)
            if description is not None:
                argument.description = description
        StrawberryDjangoField.arguments.fset(self, value)


def connection(**kwargs: Any) -> Any:
    """`strawberry_django.connection` with `ConnectionField`: every list of this API uses it."""
    return strawberry_django.connection(field_cls=ConnectionField, **kwargs)


def describe_library_types() -> None:
    """Gives `Ordering` and `PageInfo` this API's descriptions, before the schema is built."""
    compat.describe_library_types(
        ordering=ORDERING,
        ordering_values=ORDERING_VALUES,
        page_info=PAGE_INFO,
        page_info_fields=PAGE_INFO_FIELDS,
    )
