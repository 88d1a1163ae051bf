import strawberry

from schema.catalog.filters import ProductFilter, ProductOrder
from schema.catalog.types import ProductConnection
from schema.core import connections


@strawberry.type
class CatalogQueries:
    products: ProductConnection = connections.connection(
        filters=ProductFilter,
        ordering=ProductOrder,
        description="The catalog, for anyone: active products, and inactive ones too for an ADMIN.",
    )
