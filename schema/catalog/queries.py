import strawberry
import strawberry_django
from strawberry_django.relay import DjangoListConnection

from schema.catalog.filters import ProductFilter, ProductOrder
from schema.catalog.types import ProductType


@strawberry.type
class CatalogQueries:
    products: DjangoListConnection[ProductType] = strawberry_django.connection(
        filters=ProductFilter,
        ordering=ProductOrder,
        description="The catalog: active products, and inactive ones too for an ADMIN.",
    )
