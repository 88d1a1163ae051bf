"""The schema: every domain's queries merged, with the extensions the contract relies on."""

from decimal import Decimal

import strawberry
import strawberry_django
from strawberry import relay
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry_django.optimizer import DjangoOptimizerExtension

from schema import pagination
from schema.catalog.queries import CatalogQueries
from schema.errors import ErrorCodes
from schema.orders.queries import OrderQueries
from schema.scalars import MONEY_SCALAR
from schema.users.queries import UserQueries

pagination.install()


@strawberry.type
class NodeQueries:
    node: relay.Node | None = strawberry_django.node(
        description="Any object by its global id; null when it does not exist or is not yours."
    )


Query = merge_types("Query", (NodeQueries, UserQueries, CatalogQueries, OrderQueries))

schema = strawberry.Schema(
    query=Query,
    extensions=[ErrorCodes, lambda: DjangoOptimizerExtension(prefetch_custom_queryset=True)],
    config=StrawberryConfig(
        relay_max_results=pagination.MAX_PAGE_SIZE, scalar_map={Decimal: MONEY_SCALAR}
    ),
)
