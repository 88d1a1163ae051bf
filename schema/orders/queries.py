import strawberry
from strawberry_django.relay import DjangoCursorConnection

from schema.core import connections
from schema.core.permissions import IsAuthenticated, require
from schema.orders.filters import OrderFilter, OrderOrder
from schema.orders.types import OrderType


@strawberry.type
class OrderQueries:
    orders: DjangoCursorConnection[OrderType] = connections.connection(
        filters=OrderFilter,
        ordering=OrderOrder,
        extensions=[require(IsAuthenticated())],
        description="The caller's own orders, or every order for an ADMIN; anonymous callers "
        "get UNAUTHENTICATED.",
    )
