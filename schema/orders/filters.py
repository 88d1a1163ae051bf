from datetime import datetime

import strawberry_django
from django.db.models import Q, QuerySet
from strawberry import auto

from apps.orders import models
from schema.orders.types import OrderStatus


@strawberry_django.filter_type(models.Order, name="OrderFilter")
class OrderFilter:
    status: OrderStatus | None = strawberry_django.filter_field()

    @strawberry_django.filter_field(description="Placed at or after this time (inclusive).")
    def created_after(self, queryset: QuerySet, value: datetime, prefix: str) -> tuple[QuerySet, Q]:
        return queryset, Q(**{f"{prefix}created_at__gte": value})

    @strawberry_django.filter_field(description="Placed before this time (exclusive).")
    def created_before(
        self, queryset: QuerySet, value: datetime, prefix: str
    ) -> tuple[QuerySet, Q]:
        return queryset, Q(**{f"{prefix}created_at__lt": value})


@strawberry_django.order_type(models.Order, name="OrderOrder")
class OrderOrder:
    created_at: auto
    total: auto
    status: auto
