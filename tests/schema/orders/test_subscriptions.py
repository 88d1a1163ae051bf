"""orderUpdated in-process (channels' test communicator, in-memory layer): lifecycle details.

The end-to-end path with live servers, Redis and a worker is in tests/integration.
"""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from strawberry.relay import to_base64

from apps.orders import events
from apps.users import tokens
from backend.asgi import application
from schema.operations import operation
from schema.schema import schema
from schema.websocket import MAX_PENDING_EVENTS, OrderUpdatesConsumer
from tests.factories import PASSWORD, OrderFactory, UserFactory


def test_a_slow_subscriber_never_queues_more_than_the_bound():
    async def flood() -> int:
        consumer = OrderUpdatesConsumer(schema=schema)
        queue: asyncio.Queue = asyncio.Queue()
        consumer.listen_queues[events.ORDER_UPDATED].add(queue)
        for order_id in range(1000):
            await consumer.dispatch({"type": events.ORDER_UPDATED, "order_id": order_id})
        return queue.qsize()

    assert asyncio.run(flood()) == MAX_PENDING_EVENTS


@pytest.mark.django_db(transaction=True)
def test_status_changes_reach_the_subscriber_and_disconnect_leaves_the_group():
    user = UserFactory()
    order = OrderFactory(user=user)
    token = tokens.token_obtain(
        email=user.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token
    order_id = to_base64("Order", order.pk)

    async def scenario() -> tuple[list[str], dict]:
        ws = WebsocketCommunicator(application, "/graphql/", subprotocols=["graphql-transport-ws"])
        connected, _ = await ws.connect()
        assert connected
        await ws.send_json_to(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        assert (await ws.receive_json_from())["type"] == "connection_ack"
        await ws.send_json_to(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": operation("WatchOrder"), "variables": {"id": order_id}},
            }
        )
        statuses = [
            (await ws.receive_json_from(timeout=5))["payload"]["data"]["orderUpdated"]["status"]
        ]
        order.status = "cancelled"
        await sync_to_async(order.save)(update_fields=["status", "updated_at"])
        statuses.append(
            (await ws.receive_json_from(timeout=5))["payload"]["data"]["orderUpdated"]["status"]
        )
        assert events.order_group(order.pk) in get_channel_layer().groups
        await ws.disconnect()
        await asyncio.sleep(0.1)
        return statuses, dict(get_channel_layer().groups)

    statuses, groups = asyncio.run(scenario())
    # The order was processed (confirmed in-process) as soon as it was committed.
    assert statuses == ["CONFIRMED", "CANCELLED"]
    assert events.order_group(order.pk) not in groups


@pytest.mark.django_db(transaction=True)
def test_a_deactivated_subscriber_gets_no_more_events():
    user = UserFactory()
    order = OrderFactory(user=user)
    token = tokens.token_obtain(
        email=user.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token

    async def scenario() -> dict:
        ws = WebsocketCommunicator(application, "/graphql/", subprotocols=["graphql-transport-ws"])
        assert (await ws.connect())[0]
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send_json_to(init)
        assert (await ws.receive_json_from())["type"] == "connection_ack"
        variables = {"id": to_base64("Order", order.pk)}
        payload = {"query": operation("WatchOrder"), "variables": variables}
        await ws.send_json_to({"id": "1", "type": "subscribe", "payload": payload})
        assert (await ws.receive_json_from(timeout=5))["type"] == "next"
        user.is_active = False
        await sync_to_async(user.save)(update_fields=["is_active"])
        order.status = "cancelled"
        await sync_to_async(order.save)(update_fields=["status", "updated_at"])
        message = await ws.receive_json_from(timeout=5)
        await ws.disconnect()
        return message

    message = asyncio.run(scenario())
    assert message["payload"]["data"] is None
    assert [e["extensions"]["code"] for e in message["payload"]["errors"]] == ["UNAUTHENTICATED"]
