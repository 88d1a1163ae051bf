import strawberry
from strawberry_django.relay import DjangoCursorConnection

from schema import connections
from schema.orders.filters import OrderFilter, OrderOrder
from schema.orders.types import OrderType
from schema.permissions import IsAuthenticated, require


@strawberry.type
class OrderQueries:
    orders: DjangoCursorConnection[OrderType] = connections.connection(
        filters=OrderFilter,
        ordering=OrderOrder,
        extensions=[require(IsAuthenticated())],
        description="The caller's own orders, or every order for an ADMIN; anonymous callers "
        "get UNAUTHENTICATED.",
    )
