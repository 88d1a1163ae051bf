"""The orders domain's GraphQL enums, their values the models' own."""

import enum

import strawberry

from apps.orders import models


@strawberry.enum(name="OrderStatus", description="Where an order is in its lifecycle.")
class OrderStatus(enum.Enum):
    PENDING = strawberry.enum_value(
        models.OrderStatus.PENDING.value,
        description="Placed; its stock is being reserved in the background.",
    )
    CONFIRMED = strawberry.enum_value(
        models.OrderStatus.CONFIRMED.value,
        description="Stock reserved for every item; a confirmation email goes out.",
    )
    FAILED = strawberry.enum_value(
        models.OrderStatus.FAILED.value,
        description="Not fulfilled and nothing reserved; failureReason says why.",
    )
    CANCELLED = strawberry.enum_value(
        models.OrderStatus.CANCELLED.value,
        description="Cancelled by its owner or an admin; a confirmed order's stock was returned.",
    )
