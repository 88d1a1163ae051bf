"""`orderUpdated`: each web process's watchers of orders, fed by one Redis subscription.

A change notice only says "this order changed" (apps.orders.events). The feed hands the
watchers of the orders that changed in one tick to `_deliver`, which reads those orders once
per selection for all of them, checks every viewer's session in one more query, and gives each
watcher the order if its viewer may see it and its state moved. A watcher keeps only the latest
order it has not sent yet: a burst of changes, or a slow client, costs reads, never the last
state.
"""

import asyncio
import logging
from collections.abc import AsyncGenerator, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

import strawberry
from channels.db import database_sync_to_async
from django.db.models import F
from strawberry import relay

from apps.core import events as core_events
from apps.core.events import Feed
from apps.orders import events
from apps.orders.models import Order, visible_to
from apps.users import tokens
from schema.core.context import Info
from schema.core.errors import NotFound, Unauthenticated
from schema.core.ids import pk_of
from schema.core.results import load_all_for_selection, selection_key
from schema.orders.types import OrderType

logger = logging.getLogger(__name__)

# What a change is compared on, and whose order it is: read as annotations, which the
# optimizer's only() keeps, so they are loaded whatever the client selected (a deferred column
# read on the event loop would be a query there: SynchronousOnlyOperation).
_STATE = {
    "watched_status": F("status"),
    "watched_updated_at": F("updated_at"),
    "watched_owner_id": F("user_id"),
}

State = tuple[str, datetime]


@dataclass(eq=False)
class _Watch:
    """One subscription's view of its order: the latest state not sent yet, and the last
    state given to it (the same state is never sent twice)."""

    order_id: int
    info: Info
    selection: Hashable
    given: State | None = None
    pending: Order | None = None
    error: Exception | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, order: Order) -> None:
        state = (order.watched_status, order.watched_updated_at)
        if state != self.given:
            self.given, self.pending = state, order
            self.ready.set()

    def fail(self, error: Exception) -> None:
        self.error = error
        self.ready.set()

    async def next(self) -> Order:
        await self.ready.wait()
        self.ready.clear()
        if self.error is not None:
            raise self.error
        order, self.pending = self.pending, None
        assert order is not None
        return order


def _read(watches: list[_Watch]) -> tuple[dict[tuple[Hashable, int], Order], set]:
    """The watched orders, one load per selection among `watches`, and the sessions among
    them that have ended since their connections opened. Runs in a thread."""
    wanted: dict[Hashable, tuple[Info, set[int]]] = {}
    for watch in watches:
        wanted.setdefault(watch.selection, (watch.info, set()))[1].add(watch.order_id)
    orders = {}
    for selection, (info, order_ids) in wanted.items():
        queryset = Order.objects.filter(pk__in=order_ids).annotate(**_STATE)
        for order in load_all_for_selection(queryset, info):
            orders[selection, order.pk] = order
    ended = tokens.sessions_ended({_session(watch) for watch in watches})
    return orders, ended


def _session(watch: _Watch) -> tokens.Session:
    return watch.info.context.viewer.pk, watch.info.context.token_family


async def _deliver(watches: list[_Watch]) -> None:
    try:
        orders, ended = await database_sync_to_async(_read)(watches)
    except Exception as error:
        # Each subscription ends with the error, masked and logged with its request id.
        core_events.notices["read_failed"].inc()
        logger.warning("orderUpdated: reading %d watched orders failed (%r)", len(watches), error)
        for watch in watches:
            watch.fail(error)
        return
    for watch in watches:
        viewer = watch.info.context.viewer
        order = orders.get((watch.selection, watch.order_id))
        if _session(watch) in ended:
            # Deactivated, or its token family ended (logout, a password change...) since the
            # connection opened: its events stop with its tokens.
            watch.fail(Unauthenticated("This session has ended."))
        elif order is not None and visible_to(viewer, owner_id=order.watched_owner_id):
            watch.offer(order)
        elif watch.given is None:
            watch.fail(NotFound("No such order."))


ORDER_FEED: Feed[_Watch] = Feed(events.ORDER_UPDATED, _deliver)


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
        watch = _Watch(order_id=order_id, info=info, selection=selection_key(info))
        # Watching starts before the first read, so no change can slip in between.
        async with ORDER_FEED.watching(order_id, watch):
            while True:
                yield await watch.next()
