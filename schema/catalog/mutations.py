from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry import relay

from apps.catalog import services
from apps.catalog.models import Product
from schema.catalog.types import ProductType
from schema.core.context import Info
from schema.core.ids import object_of
from schema.core.permissions import IsAdmin, require
from schema.core.results import reload_for_selection


@strawberry.input(description="A new product; it starts active.")
class CreateProductInput:
    sku: str = strawberry.field(
        description="Stock keeping unit, 1 to 64 characters once trimmed; taken, BAD_USER_INPUT."
    )
    name: str = strawberry.field(description="Product name, 1 to 200 characters once trimmed.")
    description: str | None = strawberry.field(
        default=None, description="Long description; empty when omitted."
    )
    price: Decimal = strawberry.field(description="Unit price, more than 0.")
    stock: int = strawberry.field(description="Units in stock, 0 or more.")


@strawberry.input(description="Changes to a product; omitted or null fields stay as they are.")
class UpdateProductInput:
    id: relay.GlobalID = strawberry.field(description="The product's global id.")
    name: str | None = strawberry.field(
        default=None, description="New name, 1 to 200 characters once trimmed."
    )
    description: str | None = strawberry.field(
        default=None, description="New long description; an empty string clears it."
    )
    price: Decimal | None = strawberry.field(
        default=None, description="New unit price, more than 0; placed orders keep theirs."
    )
    stock: int | None = strawberry.field(default=None, description="New units in stock, 0 or more.")
    is_active: bool | None = strawberry.field(
        default=None,
        description="false: the product can no longer be ordered and only admins find it.",
    )


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(
        description="Adds a product to the catalog. ADMIN only (FORBIDDEN for others, "
        "UNAUTHENTICATED when anonymous); BAD_USER_INPUT for a taken SKU or an invalid value.",
        extensions=[require(IsAdmin())],
    )
    def create_product(
        self,
        info: Info,
        input: Annotated[CreateProductInput, strawberry.argument(description="The product.")],
    ) -> ProductType:
        product = services.product_create(
            sku=input.sku,
            name=input.name,
            description=input.description or "",
            price=input.price,
            stock=input.stock,
        )
        return reload_for_selection(product, info)

    @strawberry.mutation(
        description="Changes a product's given fields. ADMIN only (FORBIDDEN for others, "
        "UNAUTHENTICATED when anonymous); NOT_FOUND for an unknown product, BAD_USER_INPUT "
        "for an invalid value.",
        extensions=[require(IsAdmin())],
    )
    def update_product(
        self,
        info: Info,
        input: Annotated[UpdateProductInput, strawberry.argument(description="The changes.")],
    ) -> ProductType:
        product = services.product_update(
            product=object_of(input.id, "Product", Product.objects.all()),
            name=input.name,
            description=input.description,
            price=input.price,
            stock=input.stock,
            is_active=input.is_active,
        )
        return reload_for_selection(product, info)
