from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry
from asgiref.sync import sync_to_async
from django.db.models import F
from strawberry import relay

from apps.orders import events
from apps.orders.models import Order
from apps.users import tokens
from schema.core.context import Info
from schema.core.errors import NotFound, Unauthenticated
from schema.core.ids import pk_of
from schema.core.results import load_for_selection
from schema.orders.types import OrderType

# What an event is compared on: (status, updated_at). Read as annotations, which the
# optimizer's only() keeps, so they are loaded whatever the client selected (a deferred
# column read on the event loop would be a query there: SynchronousOnlyOperation).
_STATE = {"watched_status": F("status"), "watched_updated_at": F("updated_at")}

State = tuple[str, datetime]


def _load(order_id: int, info: Info, *, unless: State | None = None) -> tuple[Order, State] | None:
    """The order loaded for the selection and its state, from one read; None when the order is
    not visible, or when its state is still `unless` (nothing to send).

    Runs in a thread: everything the selection resolves is loaded here (the optimizer's
    joins, prefetches and annotations), so the event loop only reads loaded values.
    """
    viewer = info.context.viewer
    if not tokens.bearer_users(family=info.context.token_family).filter(pk=viewer.pk).exists():
        # Deactivated, or its token family ended (logout, a password change...), since the
        # connection opened: its events stop with its tokens.
        raise Unauthenticated("This session has ended.")
    queryset = Order.objects.visible_to(viewer).filter(pk=order_id).annotate(**_STATE)
    order = load_for_selection(queryset, info)
    if order is None:
        return None
    state = (order.watched_status, order.watched_updated_at)
    return None if state == unless else (order, state)


@strawberry.type
class OrderSubscriptions:
    @strawberry.subscription(
        description="The order as it is now, then again after each status change; its owner "
        "or an ADMIN only, NOT_FOUND for an order you cannot see."
    )
    async def order_updated(
        self,
        info: Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="The order's global id.")],
    ) -> AsyncGenerator[OrderType, None]:
        order_id = pk_of(id, "Order")
        if order_id is None:
            raise NotFound("No such order.")
        groups = [events.order_group(order_id)]
        # Listening starts before the first read, so no change can slip in between.
        async with info.context.ws.listen_to_channel(
            events.ORDER_UPDATED, groups=groups
        ) as changes:
            loaded = await sync_to_async(_load)(order_id, info)
            if loaded is None:
                raise NotFound("No such order.")
            order, last_seen = loaded
            yield order
            async for _ in changes:
                loaded = await sync_to_async(_load)(order_id, info, unless=last_seen)
                if loaded is not None:
                    order, last_seen = loaded
                    yield order
