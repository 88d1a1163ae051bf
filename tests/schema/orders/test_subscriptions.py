"""orderUpdated in-process (channels' test communicator, in-memory layer): lifecycle details.

The end-to-end path with live servers, Redis and a worker is in tests/integration.
"""

import asyncio
import logging
import re

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.exceptions import SynchronousOnlyOperation
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from strawberry.relay import to_base64

from apps.core.request_id import RequestIdLogFilter
from apps.orders import selectors as order_selectors
from apps.orders import services
from apps.orders.models import Order, OrderStatus
from apps.users import tokens
from backend.asgi import application
from schema.core.operations import operation
from schema.orders.subscriptions import ORDER_FEED
from tests.factories import PASSWORD, AdminFactory, OrderFactory, ProductFactory, UserFactory
from tests.schema.selections import field_selections, order_node, order_updated
from tests.schema.ws import signed_in


def bearer(user) -> str:
    return tokens.token_obtain(
        email=user.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token


async def subscribe(ws, operation_id: str, document: str, variables: dict) -> None:
    payload = {"query": document, "variables": variables}
    await ws.send_json_to({"id": operation_id, "type": "subscribe", "payload": payload})


def cancelled_elsewhere(order) -> None:
    """Cancels the order from a connection of its own, as another process would."""
    services.order_cancel(order_id=order.pk, viewer=order.user)
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_status_changes_reach_the_subscriber_and_disconnect_stops_watching():
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
        watching = ORDER_FEED.watcher_count
        await ws.disconnect()
        await asyncio.sleep(0.1)
        return statuses, watching, ORDER_FEED.watcher_count

    statuses, watching, left = asyncio.run(scenario())
    # The order was processed (confirmed in-process) as soon as it was committed.
    assert statuses == ["CONFIRMED", "CANCELLED"]
    assert (watching, left) == (1, 0)


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


@pytest.mark.django_db(transaction=True)
def test_a_subscriber_whose_token_family_ended_gets_no_more_events():
    user = UserFactory()
    order = OrderFactory(user=user)
    pair = tokens.token_obtain(email=user.email, password=PASSWORD, client_address="127.0.0.1")

    async def scenario() -> dict:
        ws = await signed_in(pair.access_token)
        await subscribe(ws, "1", operation("WatchOrder"), {"id": to_base64("Order", order.pk)})
        assert (await ws.receive_json_from(timeout=5))["type"] == "next"
        # Logout from another tab: the family ends, the connection opened with it too.
        await sync_to_async(tokens.token_revoke)(refresh_token=pair.refresh_token)
        order.status = "cancelled"
        await sync_to_async(order.save)(update_fields=["status", "updated_at"])
        message = await ws.receive_json_from(timeout=5)
        await ws.disconnect()
        return message

    message = asyncio.run(scenario())
    assert message["payload"]["data"] is None
    assert [e["extensions"]["code"] for e in message["payload"]["errors"]] == ["UNAUTHENTICATED"]


@pytest.mark.django_db(transaction=True)
def test_an_ended_familys_access_token_is_refused_at_connection_init():
    user = UserFactory()
    pair = tokens.token_obtain(email=user.email, password=PASSWORD, client_address="127.0.0.1")
    tokens.token_revoke(refresh_token=pair.refresh_token)

    async def scenario() -> dict:
        ws = WebsocketCommunicator(application, "/graphql/", subprotocols=["graphql-transport-ws"])
        assert (await ws.connect())[0]
        init = {"Authorization": f"Bearer {pair.access_token}"}
        await ws.send_json_to({"type": "connection_init", "payload": init})
        return await ws.receive_output(timeout=5)

    closed = asyncio.run(scenario())
    assert (closed["type"], closed["code"]) == ("websocket.close", 4403)


@pytest.mark.django_db(transaction=True)
def test_any_selection_is_resolved_from_its_load_alone(graphql):
    """Each field of Order alone and all together (built from the schema), on one connection.

    Every event is what the same selection answers as a query, and costs what that query
    costs plus the check that the session still holds: resolving the selection loads
    nothing lazily (on the event loop that is SynchronousOnlyOperation; through
    strawberry-django's thread hop it would be one more query). The ORM calls of the
    subscriptions run in this thread (`async_to_sync`), where the queries are counted.
    """
    user = UserFactory()
    products = ProductFactory.create_batch(2)
    order = services.order_place(user=user, items=[(p.pk, 2) for p in products])
    order_id = to_base64("Order", order.pk)
    token = bearer(user)
    selections = field_selections("Order")

    def queried_now(selection: str) -> tuple[dict, int]:
        with CaptureQueriesContext(connection) as queries:
            result = graphql(order_node(selection), {"id": order_id}, user=user)
        assert "errors" not in result, result
        return result["data"]["node"], len(queries)

    async def scenario(counted: CaptureQueriesContext) -> list[dict]:
        ws = await signed_in(token)
        states = [{}, {}]
        for name, selection in selections.items():
            before = len(counted)
            await subscribe(ws, name, order_updated(selection), {"id": order_id})
            message = await ws.receive_json_from(timeout=5)
            cost = len(counted) - before
            states[0][name] = (message, cost, await sync_to_async(queried_now)(selection))
        before = len(counted)
        await sync_to_async(cancelled_elsewhere, thread_sensitive=False)(order)
        messages = [await ws.receive_json_from(timeout=5) for _ in selections]
        cost = len(counted) - before
        assert await ws.receive_nothing(timeout=0.2)  # one event per change
        await ws.disconnect()
        for message in messages:
            states[1][message["id"]] = (
                message,
                cost,
                await sync_to_async(queried_now)(selections[message["id"]]),
            )
        return states

    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as counted:
        confirmed, cancelled = async_to_sync(scenario)(counted)

    for name, (message, cost, (expected, query_cost)) in confirmed.items():
        assert message["payload"] == {"data": {"orderUpdated": expected}}, name
        assert cost == query_cost + 1, name
    assert set(cancelled) == set(selections)
    for name, (message, _, (expected, _)) in cancelled.items():
        assert message["payload"] == {"data": {"orderUpdated": expected}}, name
    # One change, one tick: each selection loaded once, every session checked in one query.
    (cost,) = {cost for _, cost, _ in cancelled.values()}
    assert cost == 1 + sum(query_cost for _, _, (_, query_cost) in cancelled.values())
    assert confirmed["status"][0]["payload"]["data"]["orderUpdated"]["status"] == "CONFIRMED"
    assert cancelled["status"][0]["payload"]["data"]["orderUpdated"]["status"] == "CANCELLED"


def failing_after_the_first_load(monkeypatch, error: Exception) -> None:
    """`itemCount`'s annotation raises `error` from the second load on: after the first event."""
    real = order_selectors.item_count_by_order
    calls = []

    def item_count_by_order():
        calls.append(1)
        if len(calls) > 1:
            raise error
        return real()

    monkeypatch.setattr(order_selectors, "item_count_by_order", item_count_by_order)


def first_event_then_cancelled(order, headers=None) -> list[dict]:
    """WatchOrder's messages: the first event, then what the cancellation brings, to `complete`."""

    token = bearer(order.user)

    async def scenario() -> list[dict]:
        ws = await signed_in(token, headers)
        await subscribe(ws, "1", operation("WatchOrder"), {"id": to_base64("Order", order.pk)})
        messages = [await ws.receive_json_from(timeout=5)]
        await sync_to_async(cancelled_elsewhere, thread_sensitive=False)(order)
        while messages[-1]["type"] != "complete":
            messages.append(await ws.receive_json_from(timeout=5))
        await ws.disconnect()
        return messages

    return asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("incoming", [b"ws-client-chosen-1", None], ids=["kept", "made"])
def test_an_unexpected_error_is_masked_and_logged_with_the_connections_request_id(
    incoming, monkeypatch, caplog
):
    order = OrderFactory()
    failing_after_the_first_load(
        monkeypatch, RuntimeError('relation "x" does not exist: SELECT secret FROM orders_order')
    )
    caplog.handler.addFilter(RequestIdLogFilter())  # as production's handlers do
    headers = [(b"x-request-id", incoming)] if incoming else None
    with (
        caplog.at_level(logging.ERROR, logger="schema.core.errors"),
        caplog.at_level(logging.INFO, logger="backend.requests"),
    ):
        first, failed, complete = first_event_then_cancelled(order, headers)

    assert first["payload"]["data"]["orderUpdated"]["status"] == "CONFIRMED"
    assert complete == {"id": "1", "type": "complete"}
    assert failed["type"] == "next"
    assert failed["payload"]["data"] is None
    (error,) = failed["payload"]["errors"]
    assert error["message"] == "Internal server error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "SELECT" not in str(failed)
    request_id = error["extensions"]["requestId"]
    if incoming:
        assert request_id == incoming.decode()
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    (record,) = [r for r in caplog.records if r.name == "schema.core.errors"]
    assert record.request_id == request_id  # the contextvar, current where it was logged
    assert request_id in record.getMessage()
    traceback = logging.Formatter().formatException(record.exc_info)
    assert "SELECT secret FROM orders_order" in traceback
    assert "item_count_by_order" in traceback
    # The connection's own line, as an HTTP request has one, under the same id.
    (closed,) = [r for r in caplog.records if r.name == "backend.requests"]
    assert closed.request_id == request_id
    assert f"user={order.user.pk}" in closed.getMessage()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "error",
    [
        # What a lazy load on the event loop raised (the message once sent unmasked).
        SynchronousOnlyOperation(
            "You cannot call this from an async context - use a thread or sync_to_async."
        ),
        DatabaseError("server closed the connection unexpectedly"),
        ValueError("invalid literal for int() with base 10: 'x'"),
        # Worded like graphql-core's refusal of a variable; still the server's failure.
        RuntimeError("Variable '$id' got invalid value 'x'"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_server_side_failure_in_a_subscription_is_never_bad_user_input(error, monkeypatch):
    """Raised from the event stream after the first event, it reaches the error codes without
    a path, like graphql-core's refusal of the variables: it must not be taken for one."""
    order = OrderFactory()
    failing_after_the_first_load(monkeypatch, error)

    _, failed, _ = first_event_then_cancelled(order)

    (sent,) = failed["payload"]["errors"]
    assert sent["extensions"]["code"] != "BAD_USER_INPUT"
    assert sent["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert sent["message"] == "Internal server error."


@pytest.mark.django_db(transaction=True)
def test_variables_graphql_core_refuses_are_still_bad_user_input():
    token = bearer(UserFactory())

    async def scenario() -> dict:
        ws = await signed_in(token)
        await subscribe(ws, "1", operation("WatchOrder"), {})
        message = await ws.receive_json_from(timeout=5)
        await ws.disconnect()
        return message

    message = asyncio.run(scenario())

    assert message["type"] == "error"
    (error,) = message["payload"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["fields"] == {"id": [error["message"]]}


@pytest.mark.django_db(transaction=True)
def test_a_missing_order_is_not_found_and_nothing_is_logged(caplog):
    token = bearer(UserFactory())

    async def scenario() -> list[dict]:
        ws = await signed_in(token)
        await subscribe(ws, "1", operation("WatchOrder"), {"id": to_base64("Order", 999_999)})
        messages = [await ws.receive_json_from(timeout=5), await ws.receive_json_from(timeout=5)]
        await ws.disconnect()
        return messages

    with caplog.at_level(logging.ERROR, logger="schema.core.errors"):
        failed, complete = asyncio.run(scenario())

    assert complete == {"id": "1", "type": "complete"}
    (error,) = failed["payload"]["errors"]
    assert error["extensions"] == {"code": "NOT_FOUND"}
    assert not [r for r in caplog.records if r.name == "schema.core.errors"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("orders", [1, 12])
def test_the_orders_that_changed_in_one_tick_are_read_together(orders):
    """Every order watched by its owner and an admin; all change at once (one notice each, as
    the feed's Redis listener hands over what arrived together): one read of the orders for
    the selection, one check of the sessions, whatever the number of orders and watchers."""
    admin = AdminFactory()
    watched = OrderFactory.create_batch(orders)
    viewers = [(bearer(order.user), order) for order in watched]
    viewers += [(bearer(admin), order) for order in watched]

    async def scenario(counted: CaptureQueriesContext) -> tuple[list[str], int]:
        sockets = []
        for token, order in viewers:
            ws = await signed_in(token)
            await subscribe(ws, "1", operation("WatchOrder"), {"id": to_base64("Order", order.pk)})
            assert (await ws.receive_json_from(timeout=5))["type"] == "next"
            sockets.append(ws)
        await sync_to_async(Order.objects.filter(pk__in=[o.pk for o in watched]).update)(
            status=OrderStatus.CANCELLED, updated_at=timezone.now()
        )
        before = len(counted)
        ORDER_FEED.changed({order.pk for order in watched})
        messages = [await ws.receive_json_from(timeout=5) for ws in sockets]
        cost = len(counted) - before
        for ws in sockets:
            await ws.disconnect()
        return [m["payload"]["data"]["orderUpdated"]["status"] for m in messages], cost

    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as counted:
        statuses, cost = async_to_sync(scenario)(counted)

    assert statuses == ["CANCELLED"] * 2 * orders
    # WatchOrder's selection loads in one query (its item count is an annotation), and the
    # sessions in one more.
    assert cost == 2
