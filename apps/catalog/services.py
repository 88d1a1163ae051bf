"""Writes of the catalog domain: products created and changed by an administrator."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.catalog.errors import CatalogErrorCode
from apps.catalog.models import Product

SKU_TAKEN = "A product with this SKU already exists."
CENT = Decimal("0.01")


def _validate_and_save(product: Product, update_fields: list[str] | None = None) -> Product:
    """Field rules from the model; the unique index on sku settles duplicates, races included."""
    product.full_clean(validate_unique=False, validate_constraints=False)
    # Valid prices have at most two decimals; store and return them with exactly two ("10.00").
    product.price = product.price.quantize(CENT)
    try:
        with transaction.atomic():
            product.save(update_fields=update_fields)
    except IntegrityError as error:
        if Product.objects.filter(sku=product.sku).exclude(pk=product.pk).exists():
            raise ValidationError(
                {"sku": [ValidationError(SKU_TAKEN, code=CatalogErrorCode.SKU_TAKEN)]}
            ) from error
        raise
    return product


@transaction.atomic
def product_create(
    *, sku: str, name: str, description: str = "", price: Decimal, stock: int
) -> Product:
    """A new active product; nothing is written unless every field is valid and the SKU free."""
    product = Product(
        sku=sku.strip(), name=name.strip(), description=description, price=price, stock=stock
    )
    return _validate_and_save(product)


@transaction.atomic
def product_update(
    *,
    product: Product,
    name: str | None = None,
    description: str | None = None,
    price: Decimal | None = None,
    stock: int | None = None,
    is_active: bool | None = None,
) -> Product:
    """Changes the given fields (None leaves a field as it is); all or nothing.

    Only those columns are written: stock that an order reserves meanwhile is not overwritten
    unless `stock` itself is given.
    """
    changes = {
        "name": name.strip() if name is not None else None,
        "description": description,
        "price": price,
        "stock": stock,
        "is_active": is_active,
    }
    changed = [field for field, value in changes.items() if value is not None]
    if not changed:
        return product
    for field in changed:
        setattr(product, field, changes[field])
    return _validate_and_save(product, update_fields=[*changed, "updated_at"])
