from typing import Self

import strawberry_django
from django.db.models import Q, QuerySet
from strawberry import auto

from apps.catalog import models, selectors
from schema.core.connections import FILTER_OPERATORS


@strawberry_django.filter_type(
    models.Product,
    name="ProductFilter",
    description="Narrows a list of products: every field given must hold.",
)
class ProductFilter:
    is_active: bool | None = strawberry_django.filter_field(
        description="Honoured for admins; others only ever see active products."
    )
    AND: Self | None = strawberry_django.filter_field(description=FILTER_OPERATORS["AND"])
    OR: Self | None = strawberry_django.filter_field(description=FILTER_OPERATORS["OR"])
    NOT: Self | None = strawberry_django.filter_field(description=FILTER_OPERATORS["NOT"])
    DISTINCT: bool | None = strawberry_django.filter_field(description=FILTER_OPERATORS["DISTINCT"])

    @strawberry_django.filter_field(description="Case-insensitive substring of sku or name.")
    def search(self, queryset: QuerySet, value: str, prefix: str) -> tuple[QuerySet, Q]:
        return queryset, selectors.product_search(value, prefix=prefix)

    @strawberry_django.filter_field(description="true: stock > 0; false: stock = 0.")
    def in_stock(self, queryset: QuerySet, value: bool, prefix: str) -> tuple[QuerySet, Q]:
        return queryset, selectors.product_in_stock(value, prefix=prefix)


@strawberry_django.order_type(
    models.Product,
    name="ProductOrder",
    description="One sort key of a list of products: set one field.",
)
class ProductOrder:
    name: auto = strawberry_django.order_field(description="By product name.")
    price: auto = strawberry_django.order_field(description="By current unit price.")
    sku: auto = strawberry_django.order_field(description="By stock keeping unit.")
