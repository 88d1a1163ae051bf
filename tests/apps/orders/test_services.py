import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from apps.catalog.models import Product
from apps.core.mail import email_send
from apps.core.models import Email
from apps.orders import selectors, services
from apps.orders.models import Order, OrderStatus
from apps.orders.tasks import requeue_stale_orders
from tests.factories import AdminFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def place(user, *lines):
    return services.order_place(user=user, items=[(p.pk, q) for p, q in lines])


def test_place_merges_repeats_copies_prices_and_totals_on_the_server():
    user = UserFactory()
    kb, mouse = ProductFactory(price=Decimal("89.90")), ProductFactory(price=Decimal("34.50"))
    order = place(user, (kb, 1), (mouse, 2), (kb, 2))

    assert order.status == OrderStatus.PENDING
    assert order.total == Decimal("338.70")
    lines = {(i.product_id, i.quantity, i.unit_price) for i in order.items.all()}
    assert lines == {(kb.pk, 3, Decimal("89.90")), (mouse.pk, 2, Decimal("34.50"))}


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "An order needs at least one item."),
        ([(0, 0)], "Every quantity must be at least 1."),
        ([(0, 600), (0, 401)], "At most 1000 units of one product."),
    ],
)
def test_place_refuses_bad_lines_and_writes_nothing(lines, message):
    product = ProductFactory()
    with pytest.raises(ValidationError) as error:
        place(UserFactory(), *[(product, q) for _, q in lines])
    assert error.value.message_dict == {"items": [message]}
    assert not Order.objects.exists()


def test_place_takes_at_most_fifty_distinct_products():
    products = ProductFactory.create_batch(51)
    with pytest.raises(ValidationError) as error:
        place(UserFactory(), *[(p, 1) for p in products])
    assert error.value.message_dict == {"items": ["An order takes at most 50 different products."]}
    assert place(UserFactory(), *[(p, 1) for p in products[:50]]).items.count() == 50


def test_place_refuses_inactive_and_unknown_products():
    inactive = ProductFactory(is_active=False)
    with pytest.raises(ValidationError):
        place(UserFactory(), (inactive, 1))
    with pytest.raises(ValidationError):
        services.order_place(user=UserFactory(), items=[(999_999, 1)])
    assert not Order.objects.exists()


def test_processing_confirms_reserves_stock_and_emails_once(django_capture_on_commit_callbacks):
    product = ProductFactory(stock=5, sku="KB-1")
    with django_capture_on_commit_callbacks(execute=True):
        order = place(UserFactory(email="ann@example.com"), (product, 2))

    order.refresh_from_db()
    product.refresh_from_db()
    assert (order.status, order.failure_reason, product.stock) == (OrderStatus.CONFIRMED, None, 3)
    assert [m.to for m in mail.outbox if "confirmed" in m.subject] == [["ann@example.com"]]

    # Running it again changes nothing and sends nothing.
    assert services.order_process(order_id=order.pk) is None
    confirmation = Email.objects.get(key=f"order-confirmation:{order.pk}")
    assert confirmation.sent_at is not None
    assert email_send(email_id=confirmation.pk) is False
    product.refresh_from_db()
    assert product.stock == 3
    assert len([m for m in mail.outbox if "confirmed" in m.subject]) == 1


def test_processing_reserves_every_line_or_none(django_capture_on_commit_callbacks):
    plenty, scarce = ProductFactory(stock=10, sku="A-1"), ProductFactory(stock=1, sku="B-2")
    with django_capture_on_commit_callbacks(execute=True):
        order = place(UserFactory(), (plenty, 2), (scarce, 2))
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert order.failure_reason == "Insufficient stock for B-2"
    assert list(Product.objects.order_by("pk").values_list("stock", flat=True)) == [10, 1]
    assert not [m for m in mail.outbox if "confirmed" in m.subject]
    assert not Email.objects.exists()


def test_a_cancelled_order_reserves_nothing():
    product = ProductFactory(stock=3)
    user = UserFactory()
    order = place(user, (product, 1))  # on_commit callbacks not run: still PENDING
    services.order_cancel(order_id=order.pk, viewer=user)
    assert services.order_process(order_id=order.pk) is None
    product.refresh_from_db()
    assert product.stock == 3


def test_cancelling_a_confirmed_order_returns_its_stock(django_capture_on_commit_callbacks):
    product = ProductFactory(stock=4)
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        order = place(user, (product, 3))
    product.refresh_from_db()
    assert product.stock == 1
    cancelled = services.order_cancel(order_id=order.pk, viewer=user)
    product.refresh_from_db()
    assert (cancelled.status, product.stock) == (OrderStatus.CANCELLED, 4)


def test_failed_and_cancelled_orders_cannot_be_cancelled():
    user = UserFactory()
    order = place(user, (ProductFactory(), 1))
    services.order_cancel(order_id=order.pk, viewer=user)
    with pytest.raises(services.OrderNotCancellable):
        services.order_cancel(order_id=order.pk, viewer=user)
    failed = place(user, (ProductFactory(), 1))
    services.order_fail_pending(order_id=failed.pk, reason="x")
    with pytest.raises(services.OrderNotCancellable):
        services.order_cancel(order_id=failed.pk, viewer=user)


def test_only_the_owner_or_an_admin_may_cancel():
    owner = UserFactory()
    order = place(owner, (ProductFactory(), 1))
    with pytest.raises(services.OrderNotFound):
        services.order_cancel(order_id=order.pk, viewer=UserFactory())
    assert services.order_cancel(order_id=order.pk, viewer=AdminFactory()).status == "cancelled"


def test_stale_pending_orders_are_found(settings):
    settings.ORDER_STALE_AFTER = 0
    order = place(UserFactory(), (ProductFactory(), 1))
    assert selectors.orders_stale_pending() == [order.pk]
    settings.ORDER_STALE_AFTER = 3600
    assert selectors.orders_stale_pending() == []


def test_requeue_processes_orders_whose_task_was_lost(settings):
    """Beat's task: with tasks in-process (tests), the stale order is processed at once."""
    product = ProductFactory(stock=2)
    order = place(UserFactory(), (product, 1))  # on_commit not run: its task never went out
    settings.ORDER_STALE_AFTER = 0
    assert requeue_stale_orders() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert requeue_stale_orders() == 0


def test_an_order_too_large_for_its_total_is_refused():
    product = ProductFactory(price=Decimal("99999999.99"), stock=5000)
    with pytest.raises(ValidationError) as error:
        place(UserFactory(), (product, 1000))
    assert error.value.message_dict == {"items": ["An order may total at most 9999999999.99."]}
    assert not Order.objects.exists()


def test_a_repeated_idempotency_key_returns_the_order_it_placed():
    user = UserFactory()
    kb, mouse = ProductFactory(), ProductFactory()
    first = services.order_place(user=user, items=[(kb.pk, 2), (mouse.pk, 1)], idempotency_key="k1")
    # The same lines in another order and split differently are the same items.
    again = services.order_place(
        user=user, items=[(mouse.pk, 1), (kb.pk, 1), (kb.pk, 1)], idempotency_key="k1"
    )
    assert again.pk == first.pk
    assert Order.objects.count() == 1


def test_an_idempotency_key_is_per_user_and_lasts_a_day():
    kb = ProductFactory()
    ann, bob = UserFactory(), UserFactory()
    anns = services.order_place(user=ann, items=[(kb.pk, 1)], idempotency_key="same")
    bobs = services.order_place(user=bob, items=[(kb.pk, 1)], idempotency_key="same")
    assert anns.pk != bobs.pk
    Order.objects.filter(pk=anns.pk).update(created_at=timezone.now() - timedelta(hours=25))
    later = services.order_place(user=ann, items=[(kb.pk, 1)], idempotency_key="same")
    assert later.pk not in (anns.pk, bobs.pk)
    assert Order.objects.get(pk=anns.pk).idempotency_key is None


def test_an_idempotency_key_with_other_items_is_refused_and_writes_nothing():
    user = UserFactory()
    kb, mouse = ProductFactory(), ProductFactory()
    services.order_place(user=user, items=[(kb.pk, 1)], idempotency_key="k1")
    with pytest.raises(services.IdempotencyKeyReused):
        services.order_place(user=user, items=[(kb.pk, 2)], idempotency_key="k1")
    with pytest.raises(services.IdempotencyKeyReused):
        services.order_place(user=user, items=[(kb.pk, 1), (mouse.pk, 1)], idempotency_key="k1")
    assert Order.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 101, "with space", "ünïcode", "a/b"])
def test_a_malformed_idempotency_key_is_refused(key):
    with pytest.raises(ValidationError) as error:
        services.order_place(
            user=UserFactory(), items=[(ProductFactory().pk, 1)], idempotency_key=key
        )
    assert list(error.value.message_dict) == ["idempotency_key"]
    assert not Order.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_placements_with_one_key_give_one_order():
    user, kb = UserFactory(), ProductFactory(stock=100)
    start = threading.Barrier(4)
    placed: list[int] = []

    def place_once() -> None:
        start.wait()
        try:
            placed.append(
                services.order_place(user=user, items=[(kb.pk, 3)], idempotency_key="retry-1").pk
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=place_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(placed) == 4
    assert len(set(placed)) == 1
    assert Order.objects.filter(user=user).count() == 1
