"""The orders domain's refusals: codes of its validation errors, and its domain errors."""

import enum

from apps.core.errors import Conflict, NotFound


class OrderErrorCode(enum.StrEnum):
    NO_ITEMS = "no_items"
    TOO_MANY_ITEMS = "too_many_items"
    INVALID_QUANTITY = "invalid_quantity"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    TOTAL_TOO_LARGE = "total_too_large"
    INVALID_KEY = "invalid_key"
    ORDER_NOT_FOUND = "order_not_found"
    NOT_CANCELLABLE = "not_cancellable"
    KEY_REUSED = "key_reused"


class OrderNotFound(NotFound):
    """No such order, or not one the caller may see."""

    message = "No such order."
    code = OrderErrorCode.ORDER_NOT_FOUND


class OrderNotCancellable(Conflict):
    """FAILED and CANCELLED orders stay as they are."""

    message = "Only PENDING or CONFIRMED orders can be cancelled."
    code = OrderErrorCode.NOT_CANCELLABLE


class IdempotencyKeyReused(Conflict):
    """The key already placed an order of other items."""

    message = "This idempotencyKey already placed an order of other items."
    code = OrderErrorCode.KEY_REUSED
