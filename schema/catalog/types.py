import dataclasses
import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import strawberry
import strawberry_django
from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet
from strawberry import auto, relay
from strawberry_django.relay import DjangoCursorConnection

from apps.catalog import models, selectors
from schema.core.compat import in_async_context, resolve_edge_class
from schema.core.context import Info
from schema.core.pagination import selects

T = TypeVar("T")


@strawberry_django.type(models.Product, name="Product")
class ProductType(relay.Node):
    pk: relay.NodeID[int]
    sku: auto
    name: auto
    description: auto
    price: Decimal
    stock: auto
    is_active: auto

    @classmethod
    def get_queryset(
        cls, queryset: models.ProductQuerySet, info: Info, **kwargs
    ) -> models.ProductQuerySet:
        return queryset.visible_to(info.context.viewer)


@dataclasses.dataclass(frozen=True)
class CachedProductPage:
    """A resolved page of products, as the cache keeps it: plain data and model instances."""

    edges: list[tuple[str, models.Product]]
    start_cursor: str | None
    end_cursor: str | None
    has_previous_page: bool
    has_next_page: bool
    total_count: int | None


def _page_key(nodes: QuerySet, info: Info) -> str:
    """Everything the page depends on: its SQL (visibility, filters, ordering, columns) and the
    field as asked (arguments with variables resolved, and the selection)."""
    sql, params = nodes.query.sql_with_params()
    asked = repr((sql, params, info.selected_fields))
    return hashlib.sha256(asked.encode()).hexdigest()


@strawberry.type(name="ProductConnection", description="A connection to a list of items.")
class ProductConnection(DjangoCursorConnection[ProductType]):
    """The catalog's pages, each cached until the next change to any product."""

    cached_total_count: strawberry.Private[int | None] = None

    @strawberry.field(description="Total quantity of existing nodes.")
    def total_count(self) -> int:
        if self.cached_total_count is not None:
            return self.cached_total_count
        return super().total_count()

    @classmethod
    def cached_page(cls, key: str, load: Callable[[], T]) -> T:
        """A root page by its key, cached until the next change to any product: this
        connection's cache, and the compiled operations' (`schema.core.compiled`)."""
        return selectors.product_list_cached(key=key, load=load)

    @classmethod
    def resolve_connection(cls, nodes: Any, *, info: Info, **kwargs: Any) -> Any:
        if info.path.prev is not None or not isinstance(nodes, QuerySet) or in_async_context():
            # Only the root list, resolved synchronously, is cached: a nested one would also
            # depend on its parent.
            return super().resolve_connection(nodes, info=info, **kwargs)
        try:
            key = _page_key(nodes, info)
        except EmptyResultSet:
            # A filter that nothing can match (`pk__in=[]`) has no SQL to key by; nor rows.
            return super().resolve_connection(nodes, info=info, **kwargs)
        resolve = super().resolve_connection

        def load() -> CachedProductPage:
            connection = resolve(nodes, info=info, **kwargs)
            return CachedProductPage(
                edges=[(edge.cursor, edge.node) for edge in connection.edges],
                start_cursor=connection.page_info.start_cursor,
                end_cursor=connection.page_info.end_cursor,
                has_previous_page=connection.page_info.has_previous_page,
                has_next_page=connection.page_info.has_next_page,
                # A COUNT, run only when the count is asked for, as the library would.
                total_count=(
                    DjangoCursorConnection.total_count(connection)
                    if selects(info, {"totalCount"})
                    else None
                ),
            )

        page = cls.cached_page(key, load)
        edge_class = resolve_edge_class(cls)
        return cls(
            edges=[edge_class(cursor=cursor, node=node) for cursor, node in page.edges],
            page_info=relay.PageInfo(
                start_cursor=page.start_cursor,
                end_cursor=page.end_cursor,
                has_previous_page=page.has_previous_page,
                has_next_page=page.has_next_page,
            ),
            total_count_qs=nodes,
            cached_total_count=page.total_count,
        )
