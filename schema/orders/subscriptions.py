from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from asgiref.sync import sync_to_async
from strawberry import Info, relay

from apps.orders import events
from apps.orders.models import Order
from apps.users.models import User
from schema.context import get_viewer
from schema.errors import NotFound, Unauthenticated
from schema.ids import pk_of
from schema.orders.types import OrderType
from schema.results import load_for_selection


def _load(order_id: int, info: Info) -> Order | None:
    viewer = get_viewer(info)
    if not User.objects.filter(pk=viewer.pk, is_active=True).exists():
        # Deactivated since the connection opened: its events stop with its tokens.
        raise Unauthenticated("This account is no longer active.")
    return load_for_selection(Order.objects.visible_to(viewer).filter(pk=order_id), info)


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
            order = await sync_to_async(_load)(order_id, info)
            if order is None:
                raise NotFound("No such order.")
            yield order
            last_seen = (order.status, order.updated_at)
            async for _ in changes:
                order = await sync_to_async(_load)(order_id, info)
                if order is not None and (order.status, order.updated_at) != last_seen:
                    last_seen = (order.status, order.updated_at)
                    yield order
