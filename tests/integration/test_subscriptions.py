"""orderUpdated over a real WebSocket: live ASGI servers, Redis, a real Celery worker."""

import json
from contextlib import contextmanager
from datetime import datetime
from urllib.request import Request, urlopen

import pytest
from django.test import Client
from strawberry.relay import to_base64
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from apps.users import tokens
from schema.core.operations import operation
from tests.factories import PASSWORD, AdminFactory, ProductFactory, UserFactory
from tests.integration.conftest import ProductLock
from tests.schema.selections import field_selections, order_node, order_updated

pytestmark = pytest.mark.django_db(transaction=True)

WATCH_ORDER = operation("WatchOrder")


def bearer(user) -> str:
    return tokens.token_obtain(
        email=user.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token


def post(server, token: str, document: str, variables: dict) -> dict:
    """A GraphQL POST to the live server; the data of an answer without errors."""
    body = json.dumps({"query": document, "variables": variables}).encode()
    request = Request(
        server.http_url,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urlopen(request, timeout=10) as response:
        result = json.loads(response.read())
    assert "errors" not in result, result
    return result["data"]


def place_order(server, token: str, *products, quantity: int = 1) -> str:
    items = [{"productId": to_base64("Product", p.pk), "quantity": quantity} for p in products]
    return post(server, token, operation("PlaceOrder"), {"items": items})["createOrder"]["id"]


@contextmanager
def subscription(server, token: str | None, order_id: str):
    """A graphql-transport-ws connection subscribed to one order."""
    with connect(server.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": WATCH_ORDER, "variables": {"id": order_id}},
                }
            )
        )
        yield ws


def next_order(ws) -> dict:
    message = json.loads(ws.recv(timeout=15))
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]["orderUpdated"]


def test_subscriber_sees_pending_then_confirmed(start_server, start_worker):
    server = start_server()
    start_worker()
    user = UserFactory()
    product = ProductFactory(stock=5)
    token = bearer(user)
    lock = ProductLock(product)  # keeps the order PENDING until we are subscribed
    try:
        order_id = place_order(server, token, product)
        with subscription(server, token, order_id) as ws:
            first = next_order(ws)
            assert (first["id"], first["status"], first["itemCount"]) == (order_id, "PENDING", 1)
            lock.release()
            confirmed = next_order(ws)
    finally:
        lock.release()
    assert confirmed["status"] == "CONFIRMED"
    assert confirmed["updatedAt"] != first["updatedAt"]
    assert confirmed["total"] == first["total"]


def test_an_admin_may_watch_any_order_and_two_web_processes_both_deliver(
    start_server, start_worker
):
    one, two = start_server(), start_server()
    start_worker()
    product = ProductFactory(stock=5)
    owner_token, admin_token = bearer(UserFactory()), bearer(AdminFactory())
    lock = ProductLock(product)
    try:
        order_id = place_order(one, owner_token, product)
        with (
            subscription(one, owner_token, order_id) as owner_ws,
            subscription(two, admin_token, order_id) as admin_ws,
        ):
            assert next_order(owner_ws)["status"] == next_order(admin_ws)["status"] == "PENDING"
            lock.release()
            assert next_order(owner_ws)["status"] == "CONFIRMED"
            assert next_order(admin_ws)["status"] == "CONFIRMED"
    finally:
        lock.release()


def test_anonymous_connections_are_refused_at_connection_init(start_server):
    server = start_server()
    with connect(server.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4403


def test_a_bad_token_is_refused_like_anonymous(start_server):
    server = start_server()
    with connect(server.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer x"}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4403


def test_someone_elses_order_yields_an_error_not_events(start_server, start_worker):
    server = start_server()
    start_worker()
    product = ProductFactory(stock=5)
    order_id = place_order(server, bearer(UserFactory()), product)
    with subscription(server, bearer(UserFactory()), order_id) as ws:
        message = json.loads(ws.recv(timeout=10))
        assert json.loads(ws.recv(timeout=10)) == {"id": "1", "type": "complete"}
    # The only message is the error, as for a missing order: no event of the order leaks.
    assert message["type"] == "next"
    assert message["payload"]["data"] is None
    assert [e["extensions"]["code"] for e in message["payload"]["errors"]] == ["NOT_FOUND"]


def test_a_subscription_is_limited_like_a_query(start_server):
    server = start_server()
    # orderUpdated(0) user(1) orders(2) edges(3) node(4) user(5) orders(6) edges(7) node(8)
    # user(9) orders(10) totalCount(11): one level past the limit.
    hop = "user { orders(first: 1) { edges { node { %s } } } }"
    deep = (
        "subscription ($id: ID!) { orderUpdated(id: $id) { "
        + hop % (hop % "user { orders(first: 1) { totalCount } }")
        + " } }"
    )
    with connect(server.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        ws.send(
            json.dumps(
                {
                    "type": "connection_init",
                    "payload": {"Authorization": f"Bearer {bearer(UserFactory())}"},
                }
            )
        )
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        payload = {"query": deep, "variables": {"id": to_base64("Order", 1)}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        message = json.loads(ws.recv(timeout=10))
    assert message["type"] == "error"
    assert [e["extensions"]["code"] for e in message["payload"]] == ["GRAPHQL_VALIDATION_FAILED"]


def test_a_signed_in_session_may_subscribe_without_a_token(start_server, start_worker):
    """GraphiQL on the same origin, after signing in: the session cookie authenticates."""
    server = start_server()
    start_worker()
    user = UserFactory()
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    order_id = place_order(server, bearer(user), ProductFactory(stock=5))
    with connect(
        server.ws_url,
        subprotocols=["graphql-transport-ws"],
        additional_headers={"Cookie": cookie},
        open_timeout=10,
    ) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        payload = {"query": WATCH_ORDER, "variables": {"id": order_id}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        assert next_order(ws)["id"] == order_id


def next_of_each(ws, ids) -> dict[str, dict]:
    """One `next` per subscription (they arrive in any order), each without errors."""
    received: dict[str, dict] = {}
    while len(received) < len(ids):
        message = json.loads(ws.recv(timeout=15))
        assert message["type"] == "next" and "errors" not in message["payload"], message
        assert message["id"] not in received, f"two events of one change: {message}"
        received[message["id"]] = message["payload"]["data"]["orderUpdated"]
    return received


def test_every_field_of_an_order_follows_each_status_change(start_server, start_worker):
    """Documents built from the schema: each field of Order alone and all together (objects
    expanded to their subfields), all subscribed on one connection. Each gets the order as it
    is, then one event per status change (the worker's, then a mutation's), equal to what the
    same selection answers as a query at that moment."""
    worker = start_worker(ORDER_LOCK_TIMEOUT_MS="30000", wait=False)
    server = start_server()
    worker.wait_ready()
    user = UserFactory()
    products = ProductFactory.create_batch(2, stock=5, price="10.00")
    token = bearer(user)
    selections = field_selections("Order")
    lock = ProductLock(products[0])  # keeps the order PENDING until all are subscribed
    try:
        order_id = place_order(server, token, *products, quantity=2)
        with connect(
            server.ws_url,
            subprotocols=["graphql-transport-ws"],
            additional_headers={"X-Request-ID": "live-subscriber-1"},
            open_timeout=10,
        ) as ws:
            assert ws.response.headers["X-Request-ID"] == "live-subscriber-1"
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            ws.send(json.dumps(init))
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            for name, selection in selections.items():
                payload = {"query": order_updated(selection), "variables": {"id": order_id}}
                ws.send(json.dumps({"id": name, "type": "subscribe", "payload": payload}))

            def as_queried_now(received: dict[str, dict]) -> dict[str, dict]:
                for name, selection in selections.items():
                    now = post(server, token, order_node(selection), {"id": order_id})["node"]
                    assert received[name] == now, name
                return received

            pending = as_queried_now(next_of_each(ws, selections))
            lock.release()
            confirmed = as_queried_now(next_of_each(ws, selections))
            post(server, token, operation("CancelOrder"), {"id": order_id})
            cancelled = as_queried_now(next_of_each(ws, selections))
            with pytest.raises(TimeoutError):
                ws.recv(timeout=0.5)  # nothing more: one event per change, whatever the selection
    finally:
        lock.release()

    states = {name: [pending[name], confirmed[name], cancelled[name]] for name in selections}
    statuses = ["PENDING", "CONFIRMED", "CANCELLED"]
    assert [s["status"] for s in states["status"]] == statuses
    assert [s["status"] for s in states["*"]] == statuses
    assert [s["id"] for s in states["id"]] == [order_id] * 3
    assert [s["itemCount"] for s in states["itemCount"]] == [4] * 3
    updated = [datetime.fromisoformat(s["updatedAt"]) for s in states["updatedAt"]]
    assert updated[0] < updated[1] < updated[2]  # a new updatedAt with every change
    # Values of the moment, not of the subscription's start: stock reserved, then returned;
    # the owner's totalSpent counts the order only while it is CONFIRMED.
    assert [[i["product"]["stock"] for i in s["items"]] for s in states["items"]] == [
        [5, 5],
        [3, 3],
        [5, 5],
    ]
    assert [s["user"]["totalSpent"] for s in states["user"]] == ["0.00", "40.00", "0.00"]
    nested = [s["user"]["orders"]["edges"][0]["node"]["status"] for s in states["*"]]
    assert nested == statuses
