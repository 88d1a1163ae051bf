"""Scalars whose wire format the contract fixes."""

from decimal import Decimal, InvalidOperation

import strawberry

CENT = Decimal("0.01")


def serialize_money(value: Decimal | int | str) -> str:
    return f"{Decimal(value).quantize(CENT):f}"


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
    description='Money as a string with exactly two decimals, e.g. "19.90".',
    serialize=serialize_money,
    parse_value=parse_money,
)
