from datetime import datetime
from typing import Self

import strawberry_django
from django.db.models import Q, QuerySet
from strawberry import auto

from apps.orders import models
from schema.core.connections import FILTER_OPERATORS
from schema.orders.enums import OrderStatus


@strawberry_django.filter_type(
    models.Order,
    name="OrderFilter",
    description="Narrows a list of orders: every field given must hold.",
)
class OrderFilter:
    status: OrderStatus | None = strawberry_django.filter_field(
        description="Orders in this status."
    )
    AND: Self | None = strawberry_django.filter_field(description=FILTER_OPERATORS["AND"])
    OR: Self | None = strawberry_django.filter_field(description=FILTER_OPERATORS["OR"])
    NOT: Self | None = strawberry_django.filter_field(description=FILTER_OPERATORS["NOT"])
    DISTINCT: bool | None = strawberry_django.filter_field(description=FILTER_OPERATORS["DISTINCT"])

    @strawberry_django.filter_field(description="Placed at or after this time (inclusive).")
    def created_after(self, queryset: QuerySet, value: datetime, prefix: str) -> tuple[QuerySet, Q]:
        return queryset, Q(**{f"{prefix}created_at__gte": value})

    @strawberry_django.filter_field(description="Placed before this time (exclusive).")
    def created_before(
        self, queryset: QuerySet, value: datetime, prefix: str
    ) -> tuple[QuerySet, Q]:
        return queryset, Q(**{f"{prefix}created_at__lt": value})


@strawberry_django.order_type(
    models.Order, name="OrderOrder", description="One sort key of a list of orders: set one field."
)
class OrderOrder:
    created_at: auto = strawberry_django.order_field(description="By placement time.")
    total: auto = strawberry_django.order_field(description="By order total.")
    status: auto = strawberry_django.order_field(
        description="By status, alphabetically: CANCELLED, CONFIRMED, FAILED, PENDING ascending."
    )
