"""Scalars whose wire format the contract fixes."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

import strawberry
from dateutil.parser import isoparse

CENT = Decimal("0.01")


def serialize_money(value: Decimal | int | str) -> str:
    if type(value) is not Decimal:
        value = Decimal(value)
    return f"{value.quantize(CENT):f}"


def parse_money(value: object) -> Decimal:
    """Money from a string or integer with at most two decimals; floats are refused."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('Expected a decimal number as a string, e.g. "19.90".')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number.") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a decimal number.")
    if amount.as_tuple().exponent < -2:
        raise ValueError("Use at most two decimal places.")
    return amount


MONEY_SCALAR = strawberry.scalar(
    name="Decimal",
    description=(
        'Money as a string with exactly two decimals, e.g. "19.90". Input takes a string or '
        "an integer with at most two decimals; more, or a float, is BAD_USER_INPUT."
    ),
    serialize=serialize_money,
    parse_value=parse_money,
)


def serialize_datetime(value: datetime) -> str:
    return value.isoformat()


def parse_datetime(value: object) -> datetime:
    """An ISO 8601 date and time with its offset; a time without one is ambiguous, so refused."""
    if not isinstance(value, str):
        raise ValueError("Expected an ISO 8601 date and time as a string.")
    try:
        parsed = isoparse(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{value!r} is not an ISO 8601 date and time.") from None
    if parsed.tzinfo is None:
        raise ValueError("Give the time with its offset, e.g. 2026-11-24T15:20:16+00:00.")
    return parsed


DATETIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description=(
        'ISO 8601 date and time with offset, e.g. "2026-11-24T15:20:16+00:00". Input without '
        "an offset is BAD_USER_INPUT."
    ),
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)
