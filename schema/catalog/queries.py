import strawberry
import strawberry_django

from schema.catalog.filters import ProductFilter, ProductOrder
from schema.catalog.types import ProductConnection


@strawberry.type
class CatalogQueries:
    products: ProductConnection = strawberry_django.connection(
        filters=ProductFilter,
        ordering=ProductOrder,
        description="The catalog: active products, and inactive ones too for an ADMIN.",
    )
