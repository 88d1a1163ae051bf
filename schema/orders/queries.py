import strawberry
import strawberry_django
from strawberry_django.relay import DjangoCursorConnection

from schema.orders.filters import OrderFilter, OrderOrder
from schema.orders.types import OrderType
from schema.permissions import IsAuthenticated, require


@strawberry.type
class OrderQueries:
    orders: DjangoCursorConnection[OrderType] = strawberry_django.connection(
        filters=OrderFilter,
        ordering=OrderOrder,
        extensions=[require(IsAuthenticated())],
        description="Orders the caller may see: their own, or every order for an ADMIN.",
    )
