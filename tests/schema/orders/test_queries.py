"""Queries on orders: contract operations AdminOrders (`orders`), MyOrders and OrderById."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from strawberry.relay import to_base64

from apps.orders.models import Order, OrderStatus
from tests.conftest import error_codes
from tests.factories import (
    AdminFactory,
    OrderFactory,
    OrderItemFactory,
    ProductFactory,
    UserFactory,
    order_with_items,
)

pytestmark = pytest.mark.django_db


def order_id(order: Order) -> str:
    return to_base64("Order", order.pk)


def order_ids(connection: dict) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def placed_at(order: Order, when: datetime) -> None:
    """`created_at` is auto_now_add, so it can only be set after the fact."""
    Order.objects.filter(pk=order.pk).update(created_at=when)


# orders: who sees what


def test_orders_refuses_anonymous(contract):
    OrderFactory()

    result = contract("AdminOrders")

    assert result["data"] is None
    assert error_codes(result) == ["UNAUTHENTICATED"]


def test_orders_of_a_user_are_their_own_only(contract):
    user = UserFactory()
    own = OrderFactory(user=user)
    OrderFactory()

    orders = contract("AdminOrders", user=user)["data"]["orders"]

    assert orders["totalCount"] == 1
    assert order_ids(orders) == [order_id(own)]


def test_orders_of_an_admin_are_everyone_s(contract):
    first, second = OrderFactory(), OrderFactory()
    placed_at(first, datetime(2025, 1, 1, tzinfo=UTC))
    placed_at(second, datetime(2025, 1, 2, tzinfo=UTC))

    orders = contract("AdminOrders", user=AdminFactory())["data"]["orders"]

    assert orders["totalCount"] == 2
    assert order_ids(orders) == [order_id(second), order_id(first)]
    assert orders["edges"][1]["node"]["user"] == {
        "id": to_base64("User", first.user.pk),
        "email": first.user.email,
        "name": first.user.name,
    }


def test_orders_are_newest_first(contract):
    user = UserFactory()
    # Created in an order that neither pk nor insertion order could reproduce.
    middle, oldest, newest = (
        OrderFactory(user=user),
        OrderFactory(user=user),
        OrderFactory(user=user),
    )
    placed_at(oldest, datetime(2025, 1, 1, tzinfo=UTC))
    placed_at(middle, datetime(2025, 2, 1, tzinfo=UTC))
    placed_at(newest, datetime(2025, 3, 1, tzinfo=UTC))

    orders = contract("AdminOrders", user=user)["data"]["orders"]

    assert order_ids(orders) == [order_id(newest), order_id(middle), order_id(oldest)]


# orders: filters


def test_orders_filter_by_status(contract):
    user = UserFactory()
    confirmed = OrderFactory(user=user, status=OrderStatus.CONFIRMED)
    OrderFactory(user=user, status=OrderStatus.PENDING)
    OrderFactory(user=user, status=OrderStatus.CANCELLED)

    orders = contract("AdminOrders", {"status": "CONFIRMED"}, user=user)["data"]["orders"]

    assert order_ids(orders) == [order_id(confirmed)]
    assert orders["edges"][0]["node"]["status"] == "CONFIRMED"


@pytest.fixture
def three_days():
    """A user's orders placed at midnight on 1, 2 and 3 March 2025 (UTC)."""
    user = UserFactory()
    orders = {}
    for day in (1, 2, 3):
        orders[day] = OrderFactory(user=user)
        placed_at(orders[day], datetime(2025, 3, day, tzinfo=UTC))
    return user, orders


def test_orders_created_after_is_inclusive(contract, three_days):
    user, orders = three_days

    result = contract("AdminOrders", {"createdAfter": "2025-03-02T00:00:00+00:00"}, user=user)

    assert order_ids(result["data"]["orders"]) == [order_id(orders[3]), order_id(orders[2])]


def test_orders_created_before_is_exclusive(contract, three_days):
    user, orders = three_days

    result = contract("AdminOrders", {"createdBefore": "2025-03-02T00:00:00+00:00"}, user=user)

    assert order_ids(result["data"]["orders"]) == [order_id(orders[1])]


def test_orders_created_between_with_an_offset(contract, three_days):
    """02:00 at +02:00 is midnight UTC: the bounds are instants, not wall-clock times."""
    user, orders = three_days

    result = contract(
        "AdminOrders",
        {"createdAfter": "2025-03-02T02:00:00+02:00", "createdBefore": "2025-03-03T02:00:00+02:00"},
        user=user,
    )

    assert order_ids(result["data"]["orders"]) == [order_id(orders[2])]


# Order fields


def test_order_summary_fields(contract):
    user = UserFactory()
    mug = ProductFactory(price=Decimal("4.50"))
    lamp = ProductFactory(price=Decimal("20.00"))
    order = OrderFactory(user=user, status=OrderStatus.CONFIRMED, total=Decimal("53.50"))
    OrderItemFactory(order=order, product=mug, quantity=3, unit_price=Decimal("4.50"))
    OrderItemFactory(order=order, product=lamp, quantity=2, unit_price=Decimal("20.00"))
    order.refresh_from_db()

    node = contract("AdminOrders", user=user)["data"]["orders"]["edges"][0]["node"]

    assert node == {
        "id": order_id(order),
        "status": "CONFIRMED",
        "total": "53.50",
        "itemCount": 5,
        "failureReason": None,
        "createdAt": order.created_at.isoformat(),
        "updatedAt": order.updated_at.isoformat(),
        "user": {"id": to_base64("User", user.pk), "email": user.email, "name": user.name},
    }


def test_item_count_is_zero_without_items(contract):
    user = UserFactory()
    OrderFactory(user=user)

    node = contract("AdminOrders", user=user)["data"]["orders"]["edges"][0]["node"]

    assert node["itemCount"] == 0


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (OrderStatus.PENDING, None),
        (OrderStatus.CONFIRMED, None),
        (OrderStatus.CANCELLED, None),
        (OrderStatus.FAILED, "Not enough stock for SKU-1."),
    ],
)
def test_failure_reason_is_set_only_when_failed(contract, status, reason):
    user = UserFactory()
    OrderFactory(user=user, status=status, failure_reason=reason)

    node = contract("AdminOrders", user=user)["data"]["orders"]["edges"][0]["node"]

    assert (node["status"], node["failureReason"]) == (status.name, reason)


def test_order_by_id_renders_items_with_subtotals(contract):
    user = UserFactory()
    mug = ProductFactory(sku="MUG", name="Mug", price=Decimal("5.00"), stock=7)
    order = OrderFactory(user=user, total=Decimal("13.50"))
    # The price was 4.50 when the order was placed; the product costs 5.00 now.
    item = OrderItemFactory(order=order, product=mug, quantity=3, unit_price=Decimal("4.50"))

    node = contract("OrderById", {"id": order_id(order)}, user=user)["data"]["node"]

    assert node["itemCount"] == 3
    assert node["user"] == {"id": to_base64("User", user.pk), "name": user.name}
    assert node["items"] == [
        {
            "id": str(item.pk),
            "quantity": 3,
            "unitPrice": "4.50",
            "subtotal": "13.50",
            "product": {
                "id": to_base64("Product", mug.pk),
                "sku": "MUG",
                "name": "Mug",
                "price": "5.00",
                "stock": 7,
                "isActive": True,
            },
        }
    ]


# node of an Order (OrderById)


def test_order_by_id_of_own_order(contract):
    user = UserFactory()
    order = order_with_items(user=user, products=[ProductFactory()])

    node = contract("OrderById", {"id": order_id(order)}, user=user)["data"]["node"]

    assert node["id"] == order_id(order)
    assert node["status"] == "PENDING"


def test_order_by_id_of_someone_else_s_order_is_null_for_a_user(contract):
    order = order_with_items(user=UserFactory(), products=[ProductFactory()])

    result = contract("OrderById", {"id": order_id(order)}, user=UserFactory())

    assert result == {"data": {"node": None}}


def test_order_by_id_of_any_order_for_an_admin(contract):
    order = order_with_items(user=UserFactory(), products=[ProductFactory()])

    node = contract("OrderById", {"id": order_id(order)}, user=AdminFactory())["data"]["node"]

    assert node["id"] == order_id(order)
    assert node["user"]["id"] == to_base64("User", order.user.pk)


def test_order_by_id_is_null_for_anonymous(contract):
    order = order_with_items(user=UserFactory(), products=[ProductFactory()])

    assert contract("OrderById", {"id": order_id(order)}) == {"data": {"node": None}}


def test_order_by_id_of_a_nonexistent_order_is_null(contract):
    order = OrderFactory()
    missing = to_base64("Order", order.pk + 1000)

    assert contract("OrderById", {"id": missing}, user=AdminFactory()) == {"data": {"node": None}}


def test_order_by_id_refuses_a_malformed_id(contract):
    result = contract("OrderById", {"id": "not-a-global-id"}, user=UserFactory())

    assert result["data"] == {"node": None}
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert list(result["errors"][0]["extensions"]["fields"]) == ["id"]


def test_order_by_id_refuses_an_id_with_a_non_integer_key(contract):
    result = contract("OrderById", {"id": to_base64("Order", "abc")}, user=UserFactory())

    assert error_codes(result) == ["BAD_USER_INPUT"]


# A product deactivated after it was ordered


@pytest.fixture
def order_of_a_deactivated_product():
    user = UserFactory()
    product = ProductFactory(sku="GONE")
    order = order_with_items(user=user, products=[product], quantity=2)
    product.is_active = False
    product.save()
    return user, order


def test_order_by_id_still_shows_a_deactivated_product(contract, order_of_a_deactivated_product):
    user, order = order_of_a_deactivated_product

    node = contract("OrderById", {"id": order_id(order)}, user=user)["data"]["node"]

    assert [(i["product"]["sku"], i["product"]["isActive"]) for i in node["items"]] == [
        ("GONE", False)
    ]


def test_my_orders_still_shows_a_deactivated_product(contract, order_of_a_deactivated_product):
    user, _ = order_of_a_deactivated_product

    me = contract("MyOrders", user=user)["data"]["me"]

    items = me["orders"]["edges"][0]["node"]["items"]
    assert [(i["product"]["sku"], i["product"]["isActive"]) for i in items] == [("GONE", False)]


# MyOrders


def test_my_orders_is_null_for_anonymous(contract):
    assert contract("MyOrders") == {"data": {"me": None}}


def test_my_orders_lists_own_orders_newest_first(contract):
    user = UserFactory()
    product = ProductFactory(price=Decimal("2.50"))
    older = order_with_items(
        user=user, products=[product], quantity=4, status=OrderStatus.CONFIRMED
    )
    newer = order_with_items(user=user, products=[product], quantity=1)
    placed_at(older, datetime(2025, 1, 1, tzinfo=UTC))
    placed_at(newer, datetime(2025, 2, 1, tzinfo=UTC))
    order_with_items(user=UserFactory(), products=[product])  # someone else's

    me = contract("MyOrders", user=user)["data"]["me"]

    assert me["id"] == to_base64("User", user.pk)
    assert (me["orderCount"], me["totalSpent"]) == (2, "10.00")
    assert me["orders"]["totalCount"] == 2
    assert order_ids(me["orders"]) == [order_id(newer), order_id(older)]
    assert [e["node"]["itemCount"] for e in me["orders"]["edges"]] == [1, 4]


def test_my_orders_filters_by_status(contract):
    user = UserFactory()
    failed = OrderFactory(user=user, status=OrderStatus.FAILED, failure_reason="Short on SKU-9.")
    OrderFactory(user=user, status=OrderStatus.PENDING)

    orders = contract("MyOrders", {"status": "FAILED"}, user=user)["data"]["me"]["orders"]

    assert order_ids(orders) == [order_id(failed)]
    assert orders["edges"][0]["node"]["failureReason"] == "Short on SKU-9."


def test_my_orders_pages_with_the_end_cursor(contract):
    user = UserFactory()
    orders = [OrderFactory(user=user) for _ in range(3)]
    for day, order in enumerate(orders, start=1):
        placed_at(order, datetime(2025, 1, day, tzinfo=UTC))

    first = contract("MyOrders", {"first": 2}, user=user)["data"]["me"]["orders"]
    after = first["pageInfo"]["endCursor"]
    second = contract("MyOrders", {"first": 2, "after": after}, user=user)["data"]["me"]["orders"]

    assert order_ids(first) == [order_id(orders[2]), order_id(orders[1])]
    assert first["pageInfo"]["hasNextPage"] is True
    assert order_ids(second) == [order_id(orders[0])]
    assert second["pageInfo"]["hasNextPage"] is False
