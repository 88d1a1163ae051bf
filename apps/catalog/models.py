from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models


class ProductQuerySet(models.QuerySet["Product"]):
    def active(self) -> ProductQuerySet:
        return self.filter(is_active=True)

    def visible_to(self, viewer) -> ProductQuerySet:
        """Admins see the whole catalog, everyone else only active products."""
        if viewer.is_authenticated and viewer.is_admin:
            return self
        return self.active()


class Product(models.Model):
    """Something the shop sells, with its current price and units in stock.

    Everyone sees active products; inactive ones are shown to admins and on the orders holding them.
    """

    sku = models.CharField(
        max_length=64, unique=True, help_text="Stock keeping unit, unique, 1 to 64 characters."
    )
    name = models.CharField(max_length=200, help_text="Product name, 1 to 200 characters.")
    description = models.TextField(
        blank=True, default="", help_text="Long description; empty when there is none."
    )
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Current unit price, more than 0.",
    )
    stock = models.IntegerField(
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Units available to order, 0 or more.",
    )
    is_active = models.BooleanField(
        default=True,
        help_text="Inactive products cannot be ordered and only admins find them in the catalog.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gt=0), name="catalog_product_price_gt_0"
            ),
            models.CheckConstraint(
                condition=models.Q(stock__gte=0), name="catalog_product_stock_gte_0"
            ),
        ]
        # Each ordering of the contract with the primary key after it: the keyset of a page.
        indexes = [
            models.Index(fields=["name", "id"], name="catalog_product_name_keyset"),
            models.Index(fields=["price", "id"], name="catalog_product_price_keyset"),
            models.Index(fields=["stock"], name="catalog_product_stock_idx"),
            models.Index(fields=["is_active"], name="catalog_product_is_active_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
