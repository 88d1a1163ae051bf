from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class OrderQuerySet(models.QuerySet["Order"]):
    def visible_to(self, viewer) -> OrderQuerySet:
        """Admins see every order, users their own, anonymous callers none."""
        if not viewer.is_authenticated:
            return self.none()
        if viewer.is_admin:
            return self
        return self.filter(user_id=viewer.pk)


def visible_to(viewer, *, owner_id: int) -> bool:
    """`OrderQuerySet.visible_to`'s rule for one order in hand, by its owner's id."""
    return bool(viewer.is_authenticated and (viewer.is_admin or owner_id == viewer.pk))


class Order(models.Model):
    """A user's purchase of one or more products, processed in the background.

    Visible to the user who placed it and to admins.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        help_text="The user who placed the order.",
    )
    status = models.CharField(
        max_length=10,
        choices=OrderStatus.choices,
        default=OrderStatus.PENDING,
        help_text="Where the order is in its lifecycle.",
    )
    total = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Sum of item subtotals, fixed when the order is placed.",
    )
    # Null, not "", when there is no failure: the API shows null and a constraint ties it to FAILED.
    failure_reason = models.CharField(  # noqa: DJ001
        max_length=255,
        null=True,
        blank=True,
        help_text="Why processing failed; null unless FAILED.",
    )
    idempotency_key = models.CharField(  # noqa: DJ001
        max_length=100,
        null=True,
        blank=True,
        help_text="The client's key for retrying a placement; unique per user while it counts.",
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the order was placed.")
    updated_at = models.DateTimeField(
        auto_now=True, help_text="When the order last changed, e.g. its status."
    )

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total__gte=0), name="orders_order_total_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="orders_order_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status=OrderStatus.FAILED)
                | models.Q(failure_reason__isnull=True),
                name="orders_order_failure_reason_only_when_failed",
            ),
            # Two placements racing with one key: the second waits for the first, then fails.
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="orders_order_idempotency_key_once",
            ),
        ]
        # Each ordering of the contract with the primary key after it: the keyset of a page.
        indexes = [
            models.Index(fields=["user", "created_at", "id"], name="orders_order_user_keyset"),
            models.Index(fields=["created_at", "id"], name="orders_order_created_keyset"),
            models.Index(fields=["status", "id"], name="orders_order_status_keyset"),
            models.Index(fields=["total", "id"], name="orders_order_total_keyset"),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} ({self.status})"


class OrderItem(models.Model):
    """One product line of an order, priced when the order was placed."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.PROTECT,
        related_name="order_items",
        help_text="The product ordered, shown even once it is deactivated.",
    )
    quantity = models.PositiveIntegerField(help_text="Units ordered, 1 to 1,000.")
    unit_price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="The product's price when the order was placed.",
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="orders_item_product_once"),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="orders_item_quantity_gt_0"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gt=0), name="orders_item_unit_price_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity
