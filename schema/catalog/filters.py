import strawberry_django
from django.db.models import Q, QuerySet
from strawberry import auto

from apps.catalog import models


@strawberry_django.filter_type(models.Product, name="ProductFilter")
class ProductFilter:
    is_active: bool | None = strawberry_django.filter_field(
        description="Honoured for admins; others only ever see active products."
    )

    @strawberry_django.filter_field(description="Case-insensitive substring of sku or name.")
    def search(self, queryset: QuerySet, value: str, prefix: str) -> tuple[QuerySet, Q]:
        return queryset, Q(**{f"{prefix}sku__icontains": value}) | Q(
            **{f"{prefix}name__icontains": value}
        )

    @strawberry_django.filter_field(description="true: stock > 0; false: stock = 0.")
    def in_stock(self, queryset: QuerySet, value: bool, prefix: str) -> tuple[QuerySet, Q]:
        return queryset, Q(**{f"{prefix}stock__gt": 0}) if value else Q(**{f"{prefix}stock": 0})


@strawberry_django.order_type(models.Product, name="ProductOrder")
class ProductOrder:
    name: auto
    price: auto
    sku: auto
