from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from strawberry import auto, relay

from apps.catalog.models import Product
from apps.orders import models
from apps.orders import selectors as order_selectors
from schema.catalog.types import ProductType
from schema.core.context import Info
from schema.orders.enums import OrderStatus

if TYPE_CHECKING:
    from schema.users.types import UserType


@strawberry_django.type(models.OrderItem, name="OrderItem")
class OrderItemType:
    id: strawberry.ID = strawberry_django.field(
        field_name="pk", description="This item's id; not a global id, so `node` does not take it."
    )
    # Joined to the item, every column: an item's product needs no query of its own (its
    # type's prefetch then finds it loaded). Visibility is the order's: `ProductType`
    # narrows nothing on this path.
    product: ProductType = strawberry_django.field(
        select_related=["product"],
        only=[f"product__{field.attname}" for field in Product._meta.concrete_fields],
    )
    quantity: auto
    unit_price: Decimal
    subtotal: Decimal = strawberry_django.field(
        only=["unit_price", "quantity"], description="unitPrice * quantity."
    )


@strawberry_django.type(models.Order, name="Order")
class OrderType(relay.Node):
    pk: relay.NodeID[int]
    user: Annotated["UserType", strawberry.lazy("schema.users.types")]
    status: OrderStatus
    total: Decimal
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    items: list[OrderItemType] = strawberry_django.field(
        description="The order's items, one per product (repeated products merged)."
    )
    item_count: int = strawberry_django.field(
        annotate={"item_count": lambda info: order_selectors.item_count_by_order()},
        description="Sum of item quantities.",
    )

    @classmethod
    def get_queryset(
        cls, queryset: models.OrderQuerySet, info: Info, **kwargs
    ) -> models.OrderQuerySet:
        return queryset.visible_to(info.context.viewer)
