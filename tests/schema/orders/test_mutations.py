"""createOrder and cancelOrder as the apps send them (PlaceOrder, CancelOrder)."""

from decimal import Decimal

import pytest
from strawberry.relay import to_base64

from apps.catalog.models import Product
from apps.orders.models import Order, OrderStatus
from tests.conftest import error_codes
from tests.factories import AdminFactory, OrderFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def line(product, quantity=1) -> dict:
    return {"productId": to_base64("Product", product.pk), "quantity": quantity}


def test_place_order_returns_it_pending_with_server_side_prices(contract):
    user = UserFactory()
    kb = ProductFactory(sku="KB", price=Decimal("89.90"))
    cable = ProductFactory(sku="CB", price=Decimal("9.99"))

    result = contract("PlaceOrder", {"items": [line(kb), line(cable, 2), line(kb)]}, user=user)

    order = result["data"]["createOrder"]
    assert (order["status"], order["total"], order["itemCount"]) == ("PENDING", "199.78", 4)
    assert order["failureReason"] is None
    assert sorted(
        (i["product"]["sku"], i["quantity"], i["unitPrice"], i["subtotal"]) for i in order["items"]
    ) == [
        ("CB", 2, "9.99", "19.98"),
        ("KB", 2, "89.90", "179.80"),
    ]
    assert Order.objects.get().user == user


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (lambda p: [], "An order needs at least one item."),
        (lambda p: [line(p, 0)], "Every quantity must be at least 1."),
        (lambda p: [line(p, 1001)], "At most 1000 units of one product."),
        (lambda p: [line(p, 600), line(p, 401)], "At most 1000 units of one product."),
    ],
    ids=["empty", "zero", "over 1000", "over 1000 merged"],
)
def test_place_order_refuses_bad_lines(contract, items, message):
    result = contract("PlaceOrder", {"items": items(ProductFactory())}, user=UserFactory())
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["extensions"]["fields"] == {"items": [message]}
    assert not Order.objects.exists()


def test_place_order_refuses_more_than_fifty_products(contract):
    products = ProductFactory.create_batch(51)
    result = contract("PlaceOrder", {"items": [line(p) for p in products]}, user=UserFactory())
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert not Order.objects.exists()


def test_place_order_refuses_inactive_products_and_other_ids(contract):
    user = UserFactory()
    inactive = ProductFactory(is_active=False)
    assert error_codes(contract("PlaceOrder", {"items": [line(inactive)]}, user=user)) == [
        "BAD_USER_INPUT"
    ]
    order_id = to_base64("Order", OrderFactory().pk)
    not_a_product = contract(
        "PlaceOrder", {"items": [{"productId": order_id, "quantity": 1}]}, user=user
    )
    assert error_codes(not_a_product) == ["BAD_USER_INPUT"]
    malformed = contract("PlaceOrder", {"items": [{"productId": "x", "quantity": 1}]}, user=user)
    assert error_codes(malformed) == ["BAD_USER_INPUT"]
    assert Order.objects.count() == 1  # only the factory's


def test_anonymous_callers_cannot_order_or_cancel(contract):
    assert error_codes(contract("PlaceOrder", {"items": [line(ProductFactory())]})) == [
        "UNAUTHENTICATED"
    ]
    cancel = contract("CancelOrder", {"id": to_base64("Order", OrderFactory().pk)})
    assert error_codes(cancel) == ["UNAUTHENTICATED"]


def test_cancel_own_pending_order(contract):
    order = OrderFactory()
    result = contract("CancelOrder", {"id": to_base64("Order", order.pk)}, user=order.user)
    assert result["data"]["cancelOrder"]["status"] == "CANCELLED"
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_cancel_returns_the_stock_of_a_confirmed_order(
    contract, django_capture_on_commit_callbacks
):
    user = UserFactory()
    product = ProductFactory(stock=5)
    with django_capture_on_commit_callbacks(execute=True):
        placed = contract("PlaceOrder", {"items": [line(product, 2)]}, user=user)
    assert Product.objects.get(pk=product.pk).stock == 3
    result = contract("CancelOrder", {"id": placed["data"]["createOrder"]["id"]}, user=user)
    assert result["data"]["cancelOrder"]["status"] == "CANCELLED"
    assert Product.objects.get(pk=product.pk).stock == 5


def test_someone_elses_order_is_not_found_but_an_admin_may_cancel_it(contract):
    order = OrderFactory()
    order_id = to_base64("Order", order.pk)
    assert error_codes(contract("CancelOrder", {"id": order_id}, user=UserFactory())) == [
        "NOT_FOUND"
    ]
    result = contract("CancelOrder", {"id": order_id}, user=AdminFactory())
    assert result["data"]["cancelOrder"]["status"] == "CANCELLED"


@pytest.mark.parametrize("status", [OrderStatus.FAILED, OrderStatus.CANCELLED])
def test_failed_or_cancelled_orders_are_a_conflict(contract, status):
    fields = {"failure_reason": "Insufficient stock for X"} if status == OrderStatus.FAILED else {}
    order = OrderFactory(status=status, **fields)
    result = contract("CancelOrder", {"id": to_base64("Order", order.pk)}, user=order.user)
    assert error_codes(result) == ["CONFLICT"]


def test_cancel_with_a_product_id_is_not_found(contract):
    user = UserFactory()
    result = contract("CancelOrder", {"id": to_base64("Product", ProductFactory().pk)}, user=user)
    assert error_codes(result) == ["NOT_FOUND"]


def test_a_product_id_beyond_any_key_is_bad_user_input(contract):
    huge = to_base64("Product", "9" * 30)
    result = contract(
        "PlaceOrder", {"items": [{"productId": huge, "quantity": 1}]}, user=UserFactory()
    )
    assert error_codes(result) == ["BAD_USER_INPUT"]


def test_place_order_once_returns_the_first_order_in_its_current_state(
    contract, django_capture_on_commit_callbacks
):
    user, kb = UserFactory(), ProductFactory(stock=5)
    variables = {"items": [line(kb, 2)], "idempotencyKey": "checkout-7f3a"}
    with django_capture_on_commit_callbacks(execute=True):
        first = contract("PlaceOrderOnce", variables, user=user)["data"]["createOrder"]
    assert first["status"] == "PENDING"
    # Processed after commit (in-process here): the retry sees it CONFIRMED.
    again = contract("PlaceOrderOnce", variables, user=user)
    assert "errors" not in again
    assert again["data"]["createOrder"]["id"] == first["id"]
    assert again["data"]["createOrder"]["status"] == "CONFIRMED"
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=kb.pk).stock == 3


def test_place_order_once_with_other_items_is_a_conflict(contract):
    user, kb = UserFactory(), ProductFactory()
    contract("PlaceOrderOnce", {"items": [line(kb)], "idempotencyKey": "k"}, user=user)
    result = contract("PlaceOrderOnce", {"items": [line(kb, 2)], "idempotencyKey": "k"}, user=user)
    assert error_codes(result) == ["CONFLICT"]
    assert result["data"] is None
    assert Order.objects.count() == 1


def test_place_order_once_refuses_a_malformed_key(contract):
    variables = {"items": [line(ProductFactory())], "idempotencyKey": "no spaces"}
    result = contract("PlaceOrderOnce", variables, user=UserFactory())
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert list(result["errors"][0]["extensions"]["fields"]) == ["idempotencyKey"]
    assert not Order.objects.exists()
