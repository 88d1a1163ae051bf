"""Reads of orders: querysets, and SQL expressions that batch per-row aggregates."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.orders.models import Order, OrderItem, OrderStatus

MONEY = models.DecimalField(max_digits=12, decimal_places=2)


def _per_outer_row(
    queryset: models.QuerySet, *, group_by: str, aggregate: models.Aggregate
) -> models.Subquery:
    """One aggregate per outer row: a correlated subquery, run only for the rows returned."""
    return models.Subquery(
        queryset.order_by().values(group_by).annotate(result=aggregate).values("result")[:1]
    )


def order_count_by_user() -> models.Expression:
    """Every order of the outer user, any status."""
    orders = Order.objects.filter(user_id=models.OuterRef("pk"))
    return Coalesce(_per_outer_row(orders, group_by="user_id", aggregate=models.Count("pk")), 0)


def total_spent_by_user() -> models.Expression:
    """Sum of `total` over the outer user's CONFIRMED orders."""
    orders = Order.objects.filter(user_id=models.OuterRef("pk"), status=OrderStatus.CONFIRMED)
    return Coalesce(
        _per_outer_row(orders, group_by="user_id", aggregate=models.Sum("total")),
        models.Value(Decimal("0.00")),
        output_field=MONEY,
    )


def item_count_by_order() -> models.Expression:
    """Sum of item quantities of the outer order."""
    items = OrderItem.objects.filter(order_id=models.OuterRef("pk"))
    return Coalesce(_per_outer_row(items, group_by="order_id", aggregate=models.Sum("quantity")), 0)


def orders_stale_pending() -> list[int]:
    """PENDING orders older than ORDER_STALE_AFTER: their task was lost or is stuck."""
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_STALE_AFTER)
    return list(
        Order.objects.filter(status=OrderStatus.PENDING, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def orders_pending_backlog() -> tuple[int, datetime | None]:
    """How many orders are PENDING (owed processing), and since when the oldest (the metrics)."""
    backlog = Order.objects.filter(status=OrderStatus.PENDING).aggregate(
        count=models.Count("pk"), oldest=models.Min("created_at")
    )
    return backlog["count"], backlog["oldest"]
