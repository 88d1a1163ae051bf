"""Orders through the real path: mutation -> commit -> signal -> Redis -> worker -> email."""

import json
import threading
import time

import httpx
import pytest
import redis
from django.db import connection

from apps.catalog.models import Product
from apps.core.models import Email
from apps.orders.models import Order, OrderStatus
from apps.orders.tasks import GAVE_UP
from apps.users.services import user_register
from schema.core.operations import operation
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.integration.conftest import ProductLock, sent_mail
from tests.live import BROKER_URL, PRODUCTION, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PLACE_ORDER = """
mutation ($items: [OrderItemInput!]!) {
  createOrder(input: {items: $items}) { id status total items { quantity unitPrice } }
}
"""


def place(graphql, user, product, quantity=1) -> dict:
    result = graphql(
        PLACE_ORDER,
        {"items": [{"productId": _gid(product), "quantity": quantity}]},
        user=user,
    )
    assert "errors" not in result, result
    return result["data"]["createOrder"]


def _gid(product) -> str:
    from strawberry.relay import to_base64

    return to_base64("Product", product.pk)


def status_of(order_id: int) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order_id)


def order_pk(created: dict) -> int:
    from strawberry.relay import from_base64

    return int(from_base64(created["id"])[1])


def test_the_whole_path_confirms_and_emails_once(graphql, start_worker, mail_dir):
    start_worker()
    user = user_register(email="ann@example.com", name="Ann", password=PASSWORD)
    product = ProductFactory(stock=5, sku="KB-1")

    created = place(graphql, user, product, quantity=2)
    assert created["status"] == "PENDING"

    wait_for(lambda: status_of(order_pk(created)) == OrderStatus.CONFIRMED, what="CONFIRMED")
    product.refresh_from_db()
    assert product.stock == 3
    wait_for(lambda: sent_mail(mail_dir, f"Order {order_pk(created)} confirmed"), what="email")
    wait_for(lambda: sent_mail(mail_dir, "Welcome to the shop"), what="welcome email")
    time.sleep(1)  # a duplicate would have arrived by now
    assert len(sent_mail(mail_dir, f"Order {order_pk(created)} confirmed")) == 1
    assert len(sent_mail(mail_dir, "Welcome to the shop")) == 1


def test_work_the_broker_lost_is_delivered_once_a_worker_starts(
    graphql, queue, start_worker, mail_dir
):
    """Registered and ordered while no worker ran; then the queue is emptied, as Redis restarted
    empty would leave it. The worker that starts delivers what is owed, once."""
    user = user_register(email="bob@example.com", name="Bob", password=PASSWORD)
    product = ProductFactory(stock=5)
    created = place(graphql, user, product)
    queues = redis.Redis.from_url(BROKER_URL)
    assert queues.llen(queue) == 2  # the welcome email and the order's processing
    queues.delete(queue)

    start_worker(ORDER_STALE_AFTER="0", OWED_EMAIL_AFTER="0")
    wait_for(lambda: status_of(order_pk(created)) == OrderStatus.CONFIRMED, what="CONFIRMED")
    wait_for(lambda: sent_mail(mail_dir, f"Order {order_pk(created)} confirmed"), what="email")
    wait_for(lambda: sent_mail(mail_dir, "Welcome to the shop"), what="welcome email")
    time.sleep(1)  # a duplicate would have arrived by now
    assert len(sent_mail(mail_dir, f"Order {order_pk(created)} confirmed")) == 1
    assert len(sent_mail(mail_dir, "Welcome to the shop")) == 1
    assert not Email.objects.filter(sent_at__isnull=True).exists()


def test_forty_racing_orders_never_oversell(graphql, start_worker):
    start_worker()
    product = ProductFactory(stock=10, sku="HOT-1")
    users = UserFactory.create_batch(4)
    start = threading.Barrier(40)
    created: list[dict] = []

    def order(user) -> None:
        try:
            start.wait()
            created.append(place(graphql, user, product))
        finally:
            connection.close()

    threads = [threading.Thread(target=order, args=(users[i % 4],)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(created) == 40

    ids = [order_pk(c) for c in created]
    pending = Order.objects.filter(pk__in=ids, status=OrderStatus.PENDING)
    wait_for(lambda: not pending.exists(), timeout=60, what="every order processed")
    statuses = list(Order.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses.count(OrderStatus.CONFIRMED) == 10
    assert statuses.count(OrderStatus.FAILED) == 30
    assert set(Order.objects.filter(status="failed").values_list("failure_reason", flat=True)) == {
        "Insufficient stock for HOT-1"
    }
    product.refresh_from_db()
    assert product.stock == 0


def test_a_transient_failure_is_retried_then_succeeds(graphql, start_worker):
    worker = start_worker(ORDER_LOCK_TIMEOUT_MS="200", ORDER_RETRY_BASE_DELAY="1")
    product = ProductFactory(stock=3)
    lock = ProductLock(product)
    try:
        created = place(graphql, UserFactory(), product)
        wait_for(lambda: "retry: Retry in" in worker.output(), what="a retry")
        assert status_of(order_pk(created)) == OrderStatus.PENDING
    finally:
        lock.release()
    wait_for(lambda: status_of(order_pk(created)) == OrderStatus.CONFIRMED, what="CONFIRMED")
    product.refresh_from_db()
    assert product.stock == 2


def test_the_last_failed_retry_marks_the_order_failed(graphql, start_worker):
    worker = start_worker(ORDER_LOCK_TIMEOUT_MS="100", ORDER_RETRY_BASE_DELAY="0.2")
    product = ProductFactory(stock=3)
    lock = ProductLock(product)
    try:
        created = place(graphql, UserFactory(), product)
        wait_for(lambda: status_of(order_pk(created)) == OrderStatus.FAILED, what="FAILED")
    finally:
        lock.release()
    order = Order.objects.get(pk=order_pk(created))
    assert order.failure_reason == GAVE_UP
    assert worker.output().count("retry: Retry in") == 3
    product.refresh_from_db()
    assert product.stock == 3


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_killed_worker_loses_nothing_and_counts_stock_once(graphql, start_worker):
    """Its task goes back to Redis (acks_late; kombu hands it out again after the visibility
    timeout, when its throttled scan comes round), and the next worker to start hands the
    PENDING order back at once (ORDER_STALE_AFTER): processed once either way."""
    settings = {
        "ORDER_LOCK_TIMEOUT_MS": "60000",
        "CELERY_VISIBILITY_TIMEOUT": "2",
        "ORDER_STALE_AFTER": "1",
    }
    first = start_worker(**settings)
    product = ProductFactory(stock=5)
    lock = ProductLock(product)
    try:
        created = place(graphql, UserFactory(), product, quantity=2)
        wait_for(_waiting_on_a_lock, what="the worker to block on the product lock")
        first.kill()
    finally:
        lock.release()
    assert status_of(order_pk(created)) == OrderStatus.PENDING

    start_worker(**settings)
    wait_for(lambda: status_of(order_pk(created)) == OrderStatus.CONFIRMED, what="CONFIRMED")
    time.sleep(3)  # past the visibility timeout again: a second processing would show now
    product.refresh_from_db()
    assert product.stock == 3
    assert Product.objects.get(pk=product.pk).stock == 3


def post(server, document: str, variables: dict, token: str | None = None) -> tuple[dict, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        server.http_url,
        json={"query": document, "variables": variables},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json(), response.headers


def test_with_the_broker_down_committed_work_answers_and_is_delivered_later(
    start_server, start_worker, mail_dir
):
    """The API's broker is a closed port: every enqueue fails after commit. The client is told
    what was saved, never an error; a worker on a working broker delivers it all later, once."""
    server = start_server(**PRODUCTION, CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/1")
    product = ProductFactory(stock=5)
    register = "mutation ($input: RegisterInput!) { register(input: $input) { email } }"
    registered, _ = post(
        server, register, {"input": {"email": "cy@example.com", "name": "Cy", "password": PASSWORD}}
    )
    assert registered == {"data": {"register": {"email": "cy@example.com"}}}
    credentials = {"email": "cy@example.com", "password": PASSWORD}
    signed_in, _ = post(server, operation("ObtainToken"), credentials)
    token = signed_in["data"]["obtainToken"]["accessToken"]
    started = time.monotonic()
    placed, headers = post(
        server,
        PLACE_ORDER,
        {"items": [{"productId": _gid(product), "quantity": 2}]},
        token,
    )
    assert time.monotonic() - started < 5  # the broker's refusal costs little, never a hang
    assert "errors" not in placed, placed
    assert placed["data"]["createOrder"]["status"] == "PENDING"
    order_id = order_pk(placed["data"]["createOrder"])
    # Logged (JSON lines, production) with the request's id, as an error, not raised.
    (logged,) = [
        json.loads(line)
        for line in server.output().splitlines()
        if "process_order" in line and line.startswith("{")
    ]
    assert (logged["level"], logged["request_id"]) == ("ERROR", headers["X-Request-ID"])

    start_worker(ORDER_STALE_AFTER="0", OWED_EMAIL_AFTER="0")
    wait_for(lambda: status_of(order_id) == OrderStatus.CONFIRMED, what="CONFIRMED")
    wait_for(lambda: sent_mail(mail_dir, f"Order {order_id} confirmed"), what="email")
    wait_for(lambda: sent_mail(mail_dir, "Welcome to the shop"), what="welcome email")
    time.sleep(1)
    assert len(sent_mail(mail_dir, "Welcome to the shop")) == 1
    assert len(sent_mail(mail_dir, f"Order {order_id} confirmed")) == 1
