from decimal import Decimal

import strawberry
from strawberry import Info, relay

from apps.catalog import services
from apps.catalog.models import Product
from schema.catalog.types import ProductType
from schema.ids import object_of
from schema.permissions import IsAdmin, require
from schema.results import reload_for_selection


@strawberry.input
class CreateProductInput:
    sku: str
    name: str
    description: str | None = None
    price: Decimal
    stock: int


@strawberry.input
class UpdateProductInput:
    id: relay.GlobalID
    name: str | None = None
    description: str | None = None
    price: Decimal | None = None
    stock: int | None = None
    is_active: bool | None = None


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(
        description="Adds a product to the catalog (ADMIN).", extensions=[require(IsAdmin())]
    )
    def create_product(self, info: Info, input: CreateProductInput) -> ProductType:
        product = services.product_create(
            sku=input.sku,
            name=input.name,
            description=input.description or "",
            price=input.price,
            stock=input.stock,
        )
        return reload_for_selection(product, info)

    @strawberry.mutation(
        description="Changes a product; omitted fields stay as they are (ADMIN).",
        extensions=[require(IsAdmin())],
    )
    def update_product(self, info: Info, input: UpdateProductInput) -> ProductType:
        product = services.product_update(
            product=object_of(input.id, "Product", Product.objects.all()),
            name=input.name,
            description=input.description,
            price=input.price,
            stock=input.stock,
            is_active=input.is_active,
        )
        return reload_for_selection(product, info)
