from typing import Annotated

import strawberry
from django.db import transaction
from strawberry import relay

from apps.orders import services
from schema.core.context import Info
from schema.core.errors import BadUserInput
from schema.core.ids import pk_of
from schema.core.permissions import IsAuthenticated, require
from schema.core.results import reload_for_selection
from schema.orders.types import OrderType


@strawberry.input(description="One line of an order: a product and how many units.")
class OrderItemInput:
    product_id: relay.GlobalID = strawberry.field(description="An active product's global id.")
    quantity: int = strawberry.field(
        description="Units, at least 1; lines of the same product are added up, to at most 1,000."
    )


@strawberry.input(description="What to order.")
class CreateOrderInput:
    items: list[OrderItemInput] = strawberry.field(
        description="1 to 50 distinct products once repeated products are merged."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description=(
            "Your key for this placement (1 to 100 of A-Z a-z 0-9 . _ -): sent again within "
            "24 hours, it returns the order it placed instead of a second one; with other "
            "items it is CONFLICT. Retry with it after a timeout or a network error."
        ),
    )


@strawberry.input(description="The order to cancel.")
class CancelOrderInput:
    id: relay.GlobalID = strawberry.field(description="The order's global id.")


@strawberry.type
class OrderMutations:
    @strawberry.mutation(
        description="Places an order for the caller, with the products' current prices, and "
        "returns it PENDING; stock is reserved in the background (see orderUpdated). "
        "UNAUTHENTICATED when anonymous; BAD_USER_INPUT for items out of bounds, a product "
        "that is unknown or inactive, or a malformed idempotencyKey; CONFLICT for an "
        "idempotencyKey that placed an order of other items.",
        extensions=[require(IsAuthenticated())],
    )
    def create_order(
        self,
        info: Info,
        input: Annotated[CreateOrderInput, strawberry.argument(description="What to order.")],
    ) -> OrderType:
        lines = []
        for line in input.items:
            product_id = pk_of(line.product_id, "Product", field="items")
            if product_id is None:
                message = "Every productId must be the id of a Product."
                raise BadUserInput(message, fields={"items": [message]})
            lines.append((product_id, line.quantity))
        # The response shows the order as placed (PENDING): processing starts after commit.
        with transaction.atomic():
            order = services.order_place(
                user=info.context.viewer, items=lines, idempotency_key=input.idempotency_key
            )
            return reload_for_selection(order, info)

    @strawberry.mutation(
        description="Cancels a PENDING or CONFIRMED order, the caller's own or any for an "
        "ADMIN; a confirmed order's stock returns. CONFLICT for a FAILED or CANCELLED order, "
        "NOT_FOUND for one you cannot see, UNAUTHENTICATED when anonymous.",
        extensions=[require(IsAuthenticated())],
    )
    def cancel_order(
        self,
        info: Info,
        input: Annotated[CancelOrderInput, strawberry.argument(description="The order to cancel.")],
    ) -> OrderType:
        order = services.order_cancel(order_id=pk_of(input.id, "Order"), viewer=info.context.viewer)
        return reload_for_selection(order, info)
