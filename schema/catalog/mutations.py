from decimal import Decimal

import strawberry
from strawberry import Info, relay

from apps.catalog import services
from apps.catalog.models import Product
from schema.catalog.types import ProductType
from schema.errors import NotFound
from schema.ids import pk_of
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


def _product_by_global_id(global_id: relay.GlobalID) -> Product:
    pk = pk_of(global_id, "Product")
    product = Product.objects.filter(pk=pk).first() if pk is not None else None
    if product is None:
        raise NotFound("No such product.")
    return product


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
            product=_product_by_global_id(input.id),
            name=input.name,
            description=input.description,
            price=input.price,
            stock=input.stock,
            is_active=input.is_active,
        )
        return reload_for_selection(product, info)
