from decimal import Decimal

import strawberry_django
from strawberry import auto, relay
from strawberry_django.relay import DjangoCursorConnection

from apps.orders import selectors as order_selectors
from apps.users import models
from schema.core import connections
from schema.core.context import Info
from schema.orders.filters import OrderFilter, OrderOrder
from schema.orders.types import OrderType
from schema.users.enums import UserRole


@strawberry_django.type(models.User, name="User")
class UserType(relay.Node):
    pk: relay.NodeID[int]
    email: auto
    name: auto
    role: UserRole
    is_active: auto
    date_joined: auto
    orders: DjangoCursorConnection[OrderType] = connections.connection(
        filters=OrderFilter, ordering=OrderOrder, description="This user's orders."
    )
    order_count: int = strawberry_django.field(
        annotate={"order_count": lambda info: order_selectors.order_count_by_user()},
        description="Every order of this user, any status.",
    )
    total_spent: Decimal = strawberry_django.field(
        annotate={"total_spent": lambda info: order_selectors.total_spent_by_user()},
        description="Sum of `total` over this user's CONFIRMED orders.",
    )

    @classmethod
    def get_queryset(
        cls, queryset: models.UserQuerySet, info: Info, **kwargs
    ) -> models.UserQuerySet:
        return queryset.visible_to(info.context.viewer)
