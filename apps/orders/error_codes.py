"""Codes of the orders domain's validation errors (Django `ValidationError.code`)."""

import enum


class OrderErrorCode(enum.StrEnum):
    NO_ITEMS = "no_items"
    TOO_MANY_ITEMS = "too_many_items"
    INVALID_QUANTITY = "invalid_quantity"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    TOTAL_TOO_LARGE = "total_too_large"
    INVALID_KEY = "invalid_key"
