"""Writes of the orders domain: placing, processing (stock reservation) and cancelling orders.

Every function that touches stock locks the order row first and then its products in
primary-key order, so two of them can never deadlock and an order is processed or
cancelled by one of them at a time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.catalog.models import Product
from apps.core import metrics
from apps.core.mail import email_owe
from apps.orders.errors import (
    IdempotencyKeyReused,
    OrderErrorCode,
    OrderNotCancellable,
    OrderNotFound,
)
from apps.orders.models import Order, OrderItem, OrderStatus
from apps.users.models import User

MAX_LINES = 50
MAX_QUANTITY = 1000
# What Order.total (12 digits, 2 decimals) can hold.
MAX_TOTAL = Decimal("9999999999.99")
# A client's retry key: the same key within the window gets the order placed with it.
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._-]{1,100}")
IDEMPOTENCY_WINDOW = timedelta(hours=24)


def _count_transition(from_status: str, to_status: str) -> None:
    """Counts a status change for the metrics once it has committed (a rollback never
    happened)."""
    counter = metrics.ORDER_STATUS_TRANSITIONS.labels(from_status=from_status, to_status=to_status)
    transaction.on_commit(counter.inc)


def _set_status(order: Order, status: OrderStatus, *, fields: tuple[str, ...] = ()) -> None:
    _count_transition(order.status, status)
    order.status = status
    order.save(update_fields=["status", *fields, "updated_at"])


def _invalid(message: str, code: OrderErrorCode) -> ValidationError:
    return ValidationError({"items": [ValidationError(message, code=code)]})


def _merged_lines(items: Iterable[tuple[int, int]]) -> Counter[int]:
    """Quantities per product, repeats merged, within the contract's bounds."""
    lines = list(items)
    if any(quantity < 1 for _, quantity in lines):
        raise _invalid("Every quantity must be at least 1.", OrderErrorCode.INVALID_QUANTITY)
    quantities: Counter[int] = Counter()
    for product_id, quantity in lines:
        quantities[product_id] += quantity
    if not quantities:
        raise _invalid("An order needs at least one item.", OrderErrorCode.NO_ITEMS)
    if len(quantities) > MAX_LINES:
        raise _invalid(
            f"An order takes at most {MAX_LINES} different products.", OrderErrorCode.TOO_MANY_ITEMS
        )
    if any(quantity > MAX_QUANTITY for quantity in quantities.values()):
        raise _invalid(
            f"At most {MAX_QUANTITY} units of one product.", OrderErrorCode.INVALID_QUANTITY
        )
    return quantities


def _placed_with_key(*, user: User, key: str, quantities: Counter[int]) -> Order | None:
    """The order `key` placed within the window, if any; other items under it are a conflict."""
    placed = Order.objects.filter(user=user, idempotency_key=key).first()
    if placed is None:
        return None
    if placed.created_at < timezone.now() - IDEMPOTENCY_WINDOW:
        # Expired: the key is free again (update(): no signal, nothing else changes).
        Order.objects.filter(pk=placed.pk).update(idempotency_key=None)
        return None
    if dict(placed.items.values_list("product_id", "quantity")) != dict(quantities):
        raise IdempotencyKeyReused
    return placed


@transaction.atomic
def order_place(
    *, user: User, items: Iterable[tuple[int, int]], idempotency_key: str | None = None
) -> Order:
    """A PENDING order of `(product_id, quantity)` lines; repeats merged, prices copied.

    With an idempotency key, a repeat within 24 hours returns the order the key placed, even
    while that first placement is still committing: the unique key makes this one wait for it.
    """
    quantities = _merged_lines(items)
    if idempotency_key is not None:
        if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            message = "Use 1 to 100 characters from A-Z, a-z, 0-9, '.', '_' and '-'."
            raise ValidationError(
                {"idempotency_key": [ValidationError(message, code=OrderErrorCode.INVALID_KEY)]}
            )
        placed = _placed_with_key(user=user, key=idempotency_key, quantities=quantities)
        if placed is not None:
            return placed
    products = Product.objects.active().in_bulk(quantities.keys())
    if len(products) != len(quantities):
        raise _invalid(
            "Some products do not exist or are not available.", OrderErrorCode.PRODUCT_UNAVAILABLE
        )
    total = sum(
        (products[pk].price * quantity for pk, quantity in quantities.items()), Decimal("0.00")
    )
    if total > MAX_TOTAL:
        raise _invalid(f"An order may total at most {MAX_TOTAL}.", OrderErrorCode.TOTAL_TOO_LARGE)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                user=user, status=OrderStatus.PENDING, total=total, idempotency_key=idempotency_key
            )
    except IntegrityError:
        # A concurrent placement with the same key committed first.
        placed = idempotency_key and _placed_with_key(
            user=user, key=idempotency_key, quantities=quantities
        )
        if not placed:
            raise
        return placed
    _count_transition("none", OrderStatus.PENDING)
    OrderItem.objects.bulk_create(
        OrderItem(
            order=order, product=products[pk], quantity=quantity, unit_price=products[pk].price
        )
        for pk, quantity in sorted(quantities.items())
    )
    return order


def _locked_products(order: Order) -> dict[int, Product]:
    if connection.vendor == "postgresql":
        # Wait a bounded time for a busy product; the task retries later instead of hanging.
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(settings.ORDER_LOCK_TIMEOUT_MS)}")
    product_ids = order.items.values_list("product_id", flat=True)
    # NO KEY UPDATE: new order lines may still reference these products meanwhile.
    locked = (
        Product.objects.select_for_update(no_key=True).filter(pk__in=product_ids).order_by("pk")
    )
    return {product.pk: product for product in locked}


def _move_stock(order: Order, products: dict[int, Product], sign: int) -> None:
    for item in order.items.all():
        product = products[item.product_id]
        product.stock = F("stock") + sign * item.quantity
        # save(), not update(): the post_save signal keeps the catalog cache fresh.
        product.save(update_fields=["stock", "updated_at"])


@transaction.atomic
def order_process(*, order_id: int) -> str | None:
    """Reserves stock for every line or none; CONFIRMED (owing its confirmation email) or
    FAILED. A no-op unless PENDING."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None or order.status != OrderStatus.PENDING:
        return None
    products = _locked_products(order)
    items = list(order.items.all())
    unavailable = sorted(
        products[i.product_id].sku for i in items if not products[i.product_id].is_active
    )
    short = sorted(
        products[i.product_id].sku for i in items if products[i.product_id].stock < i.quantity
    )
    if unavailable or short:
        reason = (
            f"No longer available: {', '.join(unavailable)}"
            if unavailable
            else f"Insufficient stock for {', '.join(short)}"
        )
        order_mark_failed(order=order, reason=reason)
        return order.status
    _move_stock(order, products, sign=-1)
    _set_status(order, OrderStatus.CONFIRMED)
    _owe_confirmation(order)
    return order.status


def _owe_confirmation(order: Order) -> None:
    """The confirmation email, owed in the transaction that confirms the order."""
    user = order.user
    email_owe(
        key=f"order-confirmation:{order.pk}",
        to=user.email,
        subject=f"Order {order.pk} confirmed",
        body=f"Hello {user.name},\n\nyour order {order.pk} is confirmed. Total: {order.total}.\n",
    )


def order_mark_failed(*, order: Order, reason: str) -> None:
    order.failure_reason = reason[:255]
    _set_status(order, OrderStatus.FAILED, fields=("failure_reason",))


@transaction.atomic
def order_fail_pending(*, order_id: int, reason: str) -> bool:
    """Marks a still-PENDING order FAILED (processing gave up); False if it moved on meanwhile."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None or order.status != OrderStatus.PENDING:
        return False
    order_mark_failed(order=order, reason=reason)
    return True


@transaction.atomic
def order_cancel(*, order_id: int | None, viewer: User) -> Order:
    """PENDING or CONFIRMED become CANCELLED; a CONFIRMED order's stock is returned.

    `order_id` None (an id of something else) is not found, as an order `viewer` cannot see.
    """
    order = (
        Order.objects.visible_to(viewer).select_for_update().filter(pk=order_id).first()
        if order_id is not None
        else None
    )
    if order is None:
        raise OrderNotFound
    if order.status not in (OrderStatus.PENDING, OrderStatus.CONFIRMED):
        raise OrderNotCancellable
    if order.status == OrderStatus.CONFIRMED:
        _move_stock(order, _locked_products(order), sign=+1)
    _set_status(order, OrderStatus.CANCELLED)
    return order
