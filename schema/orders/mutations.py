import strawberry
from django.db import transaction
from strawberry import Info, relay

from apps.orders import services
from schema.context import get_viewer
from schema.errors import BadUserInput, Conflict, NotFound
from schema.ids import pk_of
from schema.orders.types import OrderType
from schema.permissions import IsAuthenticated, require
from schema.results import reload_for_selection


@strawberry.input
class OrderItemInput:
    product_id: relay.GlobalID
    quantity: int


@strawberry.input
class CreateOrderInput:
    items: list[OrderItemInput]
    idempotency_key: str | None = strawberry.field(
        default=None,
        description=(
            "Your key for this placement (1 to 100 of A-Z a-z 0-9 . _ -): sent again within "
            "24 hours, it returns the order it placed instead of a second one; with other "
            "items it is CONFLICT."
        ),
    )


@strawberry.input
class CancelOrderInput:
    id: relay.GlobalID


@strawberry.type
class OrderMutations:
    @strawberry.mutation(
        description="Places an order as PENDING; it is processed in the background.",
        extensions=[require(IsAuthenticated())],
    )
    def create_order(self, info: Info, input: CreateOrderInput) -> OrderType:
        lines = []
        for line in input.items:
            product_id = pk_of(line.product_id, "Product", field="items")
            if product_id is None:
                message = "Every productId must be the id of a Product."
                raise BadUserInput(message, fields={"items": [message]})
            lines.append((product_id, line.quantity))
        # The response shows the order as placed (PENDING): processing starts after commit.
        with transaction.atomic():
            try:
                order = services.order_place(
                    user=get_viewer(info), items=lines, idempotency_key=input.idempotency_key
                )
            except services.IdempotencyKeyReused:
                raise Conflict(
                    "This idempotencyKey already placed an order of other items.",
                ) from None
            return reload_for_selection(order, info)

    @strawberry.mutation(
        description="Cancels a PENDING or CONFIRMED order; a confirmed order's stock returns.",
        extensions=[require(IsAuthenticated())],
    )
    def cancel_order(self, info: Info, input: CancelOrderInput) -> OrderType:
        try:
            order_id = pk_of(input.id, "Order")
            if order_id is None:
                raise services.OrderNotFound
            order = services.order_cancel(order_id=order_id, viewer=get_viewer(info))
        except services.OrderNotFound:
            raise NotFound("No such order.") from None
        except services.OrderNotCancellable:
            raise Conflict("Only PENDING or CONFIRMED orders can be cancelled.") from None
        return reload_for_selection(order, info)
