"""SQL query budgets of the contract's query operations.

Each operation must cost the same number of queries whatever the page size, so each is run
at a small and a large page over data larger than both, and the answer is checked to be
complete so that a budget cannot be met by failing early.
"""

import pytest
from graphql import OperationType, parse
from strawberry.relay import to_base64

from apps.orders.models import OrderStatus
from schema.core.operations import operation, operation_names
from tests.conftest import error_codes
from tests.factories import AdminFactory, ProductFactory, UserFactory, order_with_items

pytestmark = pytest.mark.django_db

BUDGETS = {
    # `totalCount` of a top-level list is a COUNT of its own, run only when asked for: a
    # window count in the page query would make every page scan and sort the whole list.
    # users page; their count; their orders, windowed per user; items joined to products
    "AdminUsersWithOrders": 4,
    # users page with orderCount/totalSpent as subqueries; their count
    "AdminUsers": 2,
    # orders page with itemCount as a subquery; their count; their users
    "AdminOrders": 3,
    # products page; their count
    "Catalog": 2,
    # me with orderCount/totalSpent; its orders, windowed, with itemCount; items with products
    "MyOrders": 3,
    # the order with itemCount; its items with their products; its user
    "OrderById": 3,
    # me with orderCount and totalSpent as subqueries
    "Me": 1,
}

SMALL, LARGE = 5, 100
USERS = PRODUCTS = LARGE + 5
ORDERS_PER_USER, ITEMS_PER_ORDER = 2, 3


@pytest.fixture
def shop():
    """An admin and 104 users with 2 orders of 3 items each, over 105 products.

    Every page and nested page of the budgets is smaller than the data, and the orders
    spread over many products so that a per-product query would show.
    """
    products = ProductFactory.create_batch(PRODUCTS)
    admin = AdminFactory()
    users = [admin, *UserFactory.create_batch(USERS - 1)]
    for n, user in enumerate(users):
        for k in range(ORDERS_PER_USER):
            start = (n * ORDERS_PER_USER + k) * ITEMS_PER_ORDER % (PRODUCTS - ITEMS_PER_ORDER)
            order_with_items(user=user, products=products[start : start + ITEMS_PER_ORDER])
    return admin


@pytest.fixture
def regular_customer():
    """A user with 105 orders of 3 items each, plus someone else's orders."""
    products = ProductFactory.create_batch(10)
    user = UserFactory()
    for n in range(LARGE + 5):
        order_with_items(user=user, products=products[n % 7 : n % 7 + ITEMS_PER_ORDER])
    order_with_items(user=UserFactory(), products=products[:3])
    return user


@pytest.fixture
def count_queries(django_assert_num_queries, contract):
    """Runs a contract operation and asserts it used exactly its budget of queries."""

    def run(name: str, variables: dict | None = None, *, user=None) -> dict:
        with django_assert_num_queries(BUDGETS[name]):
            result = contract(name, variables, user=user)
        assert "errors" not in result, result["errors"]
        return result

    return run


@pytest.mark.parametrize("page", [SMALL, LARGE])
def test_admin_users_with_orders(count_queries, shop, page):
    result = count_queries("AdminUsersWithOrders", {"first": page, "ordersFirst": 3}, user=shop)

    users = result["data"]["users"]
    assert users["totalCount"] == USERS
    assert len(users["edges"]) == page
    orders = [o["node"] for u in users["edges"] for o in u["node"]["orders"]["edges"]]
    assert len(orders) == page * ORDERS_PER_USER
    assert sum(len(order["items"]) for order in orders) == page * ORDERS_PER_USER * ITEMS_PER_ORDER
    assert all(item["product"]["name"] for order in orders for item in order["items"])


def test_admin_users_with_orders_within_five_queries():
    assert BUDGETS["AdminUsersWithOrders"] <= 5


def test_admin_users_with_orders_past_the_node_limit_runs_no_sql(
    django_assert_num_queries, contract
):
    """100 users x 100 orders is 10,100 nodes: refused before execution, so no SQL at all."""
    admin = AdminFactory()

    with django_assert_num_queries(0):
        result = contract("AdminUsersWithOrders", {"first": 100, "ordersFirst": 100}, user=admin)

    assert error_codes(result) == ["QUERY_TOO_COMPLEX"]


@pytest.mark.parametrize("page", [SMALL, LARGE])
def test_admin_users(count_queries, shop, page):
    result = count_queries("AdminUsers", {"first": page}, user=shop)

    users = result["data"]["users"]
    assert users["totalCount"] == USERS
    assert len(users["edges"]) == page
    assert {edge["node"]["orderCount"] for edge in users["edges"]} == {ORDERS_PER_USER}


@pytest.mark.parametrize("page", [SMALL, LARGE])
def test_admin_orders(count_queries, shop, page):
    result = count_queries("AdminOrders", {"first": page}, user=shop)

    orders = result["data"]["orders"]
    assert orders["totalCount"] == USERS * ORDERS_PER_USER
    assert len(orders["edges"]) == page
    assert all(edge["node"]["user"]["email"] for edge in orders["edges"])
    assert {edge["node"]["itemCount"] for edge in orders["edges"]} == {ITEMS_PER_ORDER}


@pytest.mark.parametrize("page", [SMALL, LARGE])
def test_catalog(count_queries, shop, page):
    result = count_queries("Catalog", {"first": page})

    products = result["data"]["products"]
    assert products["totalCount"] == PRODUCTS
    assert len(products["edges"]) == page


@pytest.mark.parametrize("page", [SMALL, LARGE])
def test_my_orders(count_queries, regular_customer, page):
    result = count_queries("MyOrders", {"first": page}, user=regular_customer)

    orders = result["data"]["me"]["orders"]
    assert orders["totalCount"] == LARGE + 5
    assert len(orders["edges"]) == page
    items = [item for edge in orders["edges"] for item in edge["node"]["items"]]
    assert len(items) == page * ITEMS_PER_ORDER
    assert all(item["product"]["sku"] for item in items)


@pytest.mark.parametrize("items", [1, 50])
def test_order_by_id(count_queries, items):
    """No page here: the size that varies is the number of lines of the order (at most 50)."""
    user = UserFactory()
    order = order_with_items(user=user, products=ProductFactory.create_batch(items))

    result = count_queries("OrderById", {"id": to_base64("Order", order.pk)}, user=user)

    node = result["data"]["node"]
    assert len(node["items"]) == items
    assert all(item["product"]["sku"] for item in node["items"])
    assert node["user"]["id"] == to_base64("User", user.pk)


@pytest.mark.parametrize("orders", [1, LARGE + 5])
def test_me(count_queries, orders):
    """No page here: the size that varies is how many orders orderCount and totalSpent cover."""
    user = UserFactory()
    product = ProductFactory()
    for _ in range(orders):
        order_with_items(user=user, products=[product], status=OrderStatus.CONFIRMED)

    result = count_queries("Me", user=user)

    assert result["data"]["me"]["orderCount"] == orders
    assert result["data"]["me"]["totalSpent"] == f"{orders * 10}.00"


def test_every_contract_query_has_a_budget():
    queries = {
        name
        for name in operation_names()
        if parse(operation(name)).definitions[0].operation == OperationType.QUERY
    }
    assert queries == set(BUDGETS)
