"""orderUpdated over a real WebSocket: live ASGI servers, Redis, a real Celery worker."""

import json
from contextlib import contextmanager
from urllib.request import Request, urlopen

import pytest
from django.test import Client
from strawberry.relay import to_base64
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from apps.users import tokens
from schema.operations import operation
from tests.factories import PASSWORD, AdminFactory, ProductFactory, UserFactory
from tests.integration.conftest import ProductLock

pytestmark = pytest.mark.django_db(transaction=True)

WATCH_ORDER = operation("WatchOrder")


def bearer(user) -> str:
    return tokens.token_obtain(
        email=user.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token


def place_order(server, token: str, product, quantity: int = 1) -> str:
    body = json.dumps(
        {
            "query": operation("PlaceOrder"),
            "variables": {
                "items": [{"productId": to_base64("Product", product.pk), "quantity": quantity}]
            },
        }
    ).encode()
    request = Request(
        server.http_url,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urlopen(request, timeout=10) as response:
        result = json.loads(response.read())
    assert "errors" not in result, result
    return result["data"]["createOrder"]["id"]


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
