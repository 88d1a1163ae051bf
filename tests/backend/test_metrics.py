"""`GET /metrics` (backend/metrics.py) after real requests through Django's whole stack, read
back with prometheus_client's own parser: each request, refusal and transition moves its series.

The values are this process's (no PROMETHEUS_MULTIPROC_DIR here) and add up over the whole test
run, so every test compares a scrape after its traffic with one before it.
"""

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone
from strawberry.relay import to_base64

from apps.core.events import Feed
from apps.core.models import Email
from apps.orders.models import Order, OrderStatus
from apps.users import tokens
from schema.core.operations import operation
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.metrics import Samples, parse, requests, value

pytestmark = pytest.mark.django_db

TOKEN = "metrics-test-token-Qx7"


@pytest.fixture
def scrape(client, settings) -> Callable[[], Samples]:
    settings.METRICS_TOKEN = TOKEN

    def run() -> Samples:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain; version=")
        return parse(response.content.decode())

    return run


def post(client, body: dict, **headers: str):
    return client.post("/graphql/", body, content_type="application/json", headers=headers)


def test_without_a_token_there_is_no_metrics_path(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_the_metrics_need_the_token(client, settings):
    settings.METRICS_TOKEN = TOKEN
    for header in (None, f"Bearer {TOKEN}x", TOKEN, f"bearer {TOKEN}", "Bearer"):
        headers = {"Authorization": header} if header else {}
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"shop_" not in response.content
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert b"# TYPE shop_graphql_request_duration_seconds histogram" in ok.content


def test_requests_are_counted_by_operation_type_and_code(client, scrape):
    ProductFactory.create_batch(2)
    before = scrape()

    catalog = {"query": operation("Catalog"), "variables": {"first": 2}}
    for _ in range(3):
        assert post(client, catalog).status_code == 200
    # An error: AdminUsers needs a signed-in admin.
    mine = post(client, {"query": operation("AdminUsers")})
    assert mine.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # Names the apps do not use are one series, whatever they are; unnamed operations another.
    post(client, {"query": "query Whatever1 { __typename }"})
    post(client, {"query": "query Whatever2 { __typename }"})
    post(client, {"query": "{ __typename }"})
    # Refused before any operation was read: a body that is not JSON.
    refused = client.post("/graphql/", "{", content_type="application/json")
    assert refused.status_code == 400

    after = scrape()

    def delta(*labels: str) -> float:
        return requests(after, *labels) - requests(before, *labels)

    assert delta("Catalog", "query", "OK") == 3
    assert delta("AdminUsers", "query", "UNAUTHENTICATED") == 1
    assert delta("other", "query", "OK") == 2
    assert delta("anonymous", "query", "OK") == 1
    assert delta("anonymous", "unknown", "BAD_USER_INPUT") == 1
    assert not any(("Whatever" in str(labels)) for _, labels in after)

    seconds = "shop_graphql_request_duration_seconds_sum"
    labels = {"operation": "Catalog", "type": "query", "code": "OK"}
    assert value(after, seconds, **labels) > value(before, seconds, **labels)
    statements = "shop_graphql_sql_statements_total"
    # The catalog's page and its count, three times (the tests' cache is in-process).
    catalog_statements = value(after, statements, operation="Catalog") - value(
        before, statements, operation="Catalog"
    )
    assert 3 <= catalog_statements <= 3 * 3
    assert value(after, statements, operation="AdminUsers") == value(
        before, statements, operation="AdminUsers"
    )


def test_refusals_are_counted_by_limit(client, scrape, settings):
    settings.LOGIN_MAX_FAILURES = 2
    UserFactory(email="limited@example.com")
    before = scrape()

    deep = "{ me { " + "orders { edges { node { user { " * 3 + "id" + " } } } }" * 3 + " } }"
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    tokens_ = "{ " + " ".join(["__typename"] * 5001) + " }"
    nodes = (
        "{ users(first: 100) { edges { node { orders(first: 100) { edges { node { id } } } } } } }"
    )
    for document, code in [
        (deep, "GRAPHQL_VALIDATION_FAILED"),
        (deep, "GRAPHQL_VALIDATION_FAILED"),  # from the validation cache: counted again
        (aliases, "GRAPHQL_VALIDATION_FAILED"),
        (tokens_, "QUERY_TOO_COMPLEX"),
        (nodes, "QUERY_TOO_COMPLEX"),
    ]:
        answer = post(client, {"query": document}).json()
        assert [e["extensions"]["code"] for e in answer["errors"]] == [code]
    login = {
        "query": operation("ObtainToken"),
        "variables": {"email": "limited@example.com", "password": "wrong"},
    }
    codes = [post(client, login).json()["errors"][0]["extensions"]["code"] for _ in range(3)]
    assert codes == ["UNAUTHENTICATED", "UNAUTHENTICATED", "TOO_MANY_REQUESTS"]

    after = scrape()
    refusals = {
        limit: value(after, "shop_refusals_total", limit=limit)
        - value(before, "shop_refusals_total", limit=limit)
        for limit in ("depth", "aliases", "tokens", "nodes", "rate")
    }
    assert refusals == {"depth": 2, "aliases": 1, "tokens": 1, "nodes": 1, "rate": 1}
    assert (
        requests(after, "ObtainToken", "mutation", "TOO_MANY_REQUESTS")
        - requests(before, "ObtainToken", "mutation", "TOO_MANY_REQUESTS")
        == 1
    )


def test_order_status_transitions_are_counted_once_committed(
    client, scrape, django_capture_on_commit_callbacks
):
    user = UserFactory()
    product = ProductFactory(stock=5)
    bearer = tokens.token_obtain(email=user.email, password=PASSWORD, client_address="t")
    auth = {"Authorization": f"Bearer {bearer.access_token}"}
    before = scrape()

    place = {
        "query": operation("PlaceOrder"),
        "variables": {"items": [{"productId": to_base64("Product", product.pk), "quantity": 1}]},
    }
    with django_capture_on_commit_callbacks(execute=True):  # processing runs in-process
        placed = post(client, place, **auth).json()["data"]["createOrder"]
    order = Order.objects.get()
    assert order.status == OrderStatus.CONFIRMED
    with django_capture_on_commit_callbacks(execute=True):
        cancel = {"query": operation("CancelOrder"), "variables": {"id": placed["id"]}}
        assert post(client, cancel, **auth).json()["data"]["cancelOrder"]["status"] == "CANCELLED"

    after = scrape()
    name = "shop_order_status_transitions_total"
    moved = {
        (source, target): value(after, name, from_status=source, to_status=target)
        - value(before, name, from_status=source, to_status=target)
        for source, target in [
            ("none", "pending"),
            ("pending", "confirmed"),
            ("confirmed", "cancelled"),
            ("pending", "failed"),
            ("pending", "cancelled"),
        ]
    }
    assert moved == {
        ("none", "pending"): 1,
        ("pending", "confirmed"): 1,
        ("confirmed", "cancelled"): 1,
        ("pending", "failed"): 0,
        ("pending", "cancelled"): 0,
    }


def test_a_rolled_back_transition_is_not_counted(scrape):
    from apps.orders import services

    user = UserFactory()
    product = ProductFactory(stock=5)
    before = scrape()
    # The test's transaction is never committed: nothing placed in it counts.
    services.order_place(user=user, items=[(product.pk, 1)])
    after = scrape()
    name = "shop_order_status_transitions_total"
    labels = {"from_status": "none", "to_status": "pending"}
    assert value(after, name, **labels) == value(before, name, **labels)


def test_owed_work_is_read_at_each_scrape(scrape):
    before = scrape()
    owed = Email.objects.create(key="metrics:1", to="a@example.com", subject="s", body="b")
    Email.objects.filter(pk=owed.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    Email.objects.create(
        key="metrics:2", to="a@example.com", subject="s", body="b", sent_at=timezone.now()
    )
    after = scrape()
    items = "shop_owed_work_items"
    assert value(after, items, kind="email") == value(before, items, kind="email") + 1
    assert value(after, items, kind="order") == 0
    age = value(after, "shop_owed_work_oldest_age_seconds", kind="email")
    assert 11 * 60 <= age < 12 * 60  # the OwedEmailsOverdue alert's threshold is 600
    assert value(after, "shop_owed_work_oldest_age_seconds", kind="order") == 0


def test_a_broker_that_does_not_answer_costs_a_scrape_a_second_not_a_hang(scrape, settings):
    with socket_that_never_answers() as port:
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
        started = time.monotonic()
        samples = scrape()
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert not any(name == "shop_celery_queue_length" for name, _ in samples)
    assert ("shop_owed_work_items", frozenset({("kind", "email")})) in samples


def test_without_a_broker_there_is_no_queue_to_measure(scrape, settings):
    settings.CELERY_BROKER_URL = settings.IN_PROCESS_BROKER
    assert not any(name == "shop_celery_queue_length" for name, _ in scrape())


def socket_that_never_answers():
    """A listening socket that accepts connections and never says anything: a stalled broker."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def listening():
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen(16)
            yield server.getsockname()[1]

    return listening()


def test_open_subscriptions_are_counted_while_their_feed_watches(settings):
    from prometheus_client import REGISTRY

    settings.REDIS_URL = ""
    gauge = "shop_graphql_subscriptions_open"
    labels = {"topic": "metrics-test-topic"}

    async def deliver(watchers):
        pass

    async def scenario() -> list[float | None]:
        feed = Feed("metrics-test-topic", deliver)
        seen = [REGISTRY.get_sample_value(gauge, labels)]
        async with feed.watching(1, "first"), feed.watching(2, "second"):
            seen.append(REGISTRY.get_sample_value(gauge, labels))
        seen.append(REGISTRY.get_sample_value(gauge, labels))
        return seen

    assert async_to_sync(scenario)() == [0, 2, 0]
