from decimal import Decimal

import pytest
from django.db import IntegrityError

from apps.orders.models import Order, OrderStatus
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_failure_reason_only_on_failed_orders():
    OrderFactory(status=OrderStatus.FAILED, failure_reason="SKU-1 is out of stock")
    with pytest.raises(IntegrityError):
        OrderFactory(status=OrderStatus.CONFIRMED, failure_reason="nope")


@pytest.mark.parametrize("fields", [{"quantity": 0}, {"unit_price": Decimal("0")}])
def test_database_refuses_invalid_items(fields):
    with pytest.raises(IntegrityError):
        OrderItemFactory(**fields)


def test_a_product_appears_once_per_order():
    item = OrderItemFactory()
    with pytest.raises(IntegrityError):
        OrderItemFactory(order=item.order, product=item.product)


def test_negative_total_is_refused():
    with pytest.raises(IntegrityError):
        OrderFactory(total=Decimal("-0.01"))


def test_visible_to_scopes_orders_by_viewer():
    mine, theirs = OrderFactory(), OrderFactory()
    assert list(Order.objects.visible_to(mine.user)) == [mine]
    assert set(Order.objects.visible_to(UserFactory(role="admin"))) == {mine, theirs}


def test_subtotal_is_unit_price_times_quantity():
    item = OrderItemFactory(quantity=3, product=ProductFactory(price=Decimal("2.50")))
    assert item.subtotal == Decimal("7.50")
