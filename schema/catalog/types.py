from decimal import Decimal

import strawberry_django
from strawberry import Info, auto, relay

from apps.catalog import models
from schema.context import get_viewer


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
        if info.python_name == "product":
            # Reached through an order item: the order's visibility already decided, and a
            # product on an order the caller can see stays visible once deactivated.
            return queryset
        return queryset.visible_to(get_viewer(info))
