"""`nodes(ids:)` and `node(id:)`: Relay's refetch, every id of an operation loaded together.

The budgets count every statement of the request (the caller is set on the request, so
authentication costs none) and are the same whatever the number of ids.
"""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from strawberry.relay import to_base64

from apps.orders.models import Order, OrderStatus
from apps.users import tokens
from schema.core.execution import PlannedExecutor
from tests.conftest import error_codes, post_graphql
from tests.factories import (
    PASSWORD,
    AdminFactory,
    ProductFactory,
    UserFactory,
    order_with_items,
)
from tests.schema.ws import signed_in

pytestmark = pytest.mark.django_db

SCALARS = """
fragment Parts on Node {
  __typename id
  ... on Product { sku name }
  ... on Order { status total }
  ... on User { email }
}
"""
NESTED = """
fragment Parts on Node {
  __typename id
  ... on Product { sku name }
  ... on Order { status items { quantity product { name } } user { name } }
  ... on User { email }
}
"""
NODES = "query ($ids: [ID!]!) { nodes(ids: $ids) { ...Parts } }"


def gid(instance) -> str:
    return to_base64(type(instance).__name__, instance.pk)


def aliased_node(ids: list[str]) -> str:
    fields = " ".join(f'n{i}: node(id: "{id}") {{ ...Parts }}' for i, id in enumerate(ids))
    return f"{{ {fields} }}"


@pytest.fixture
def mixed():
    """An admin, and as many products, orders and users as a budget asks for (each order of
    two items, placed by a user of its own)."""

    def make(count: int) -> tuple:
        products = ProductFactory.create_batch(count)
        users = UserFactory.create_batch(count)
        orders = [
            order_with_items(user=user, products=products[n : n + 2])
            for n, user in enumerate(users)
        ]
        return AdminFactory(), products, orders, users

    return make


def interleaved(products, orders, users, total: int) -> list[str]:
    """`total` ids, the three types taking turns."""
    ids = [gid(row) for trio in zip(products, orders, users, strict=False) for row in trio]
    assert len(ids) >= total
    return ids[:total]


# SQL budgets


@pytest.mark.parametrize("total", [6, 100])
def test_a_hundred_ids_of_three_types_load_in_three_statements(
    graphql, django_assert_num_queries, mixed, total
):
    admin, products, orders, users = mixed(34)
    ids = interleaved(products, orders, users, total)

    # products; orders; users
    with django_assert_num_queries(3):
        result = graphql(NODES + SCALARS, {"ids": ids}, user=admin)

    assert "errors" not in result
    nodes = result["data"]["nodes"]
    assert [node["id"] for node in nodes] == ids
    assert [node["__typename"] for node in nodes[:3]] == ["Product", "Order", "User"]
    assert all(node["sku"] for node in nodes if node["__typename"] == "Product")
    assert all(node["status"] == "PENDING" for node in nodes if node["__typename"] == "Order")
    assert all(node["email"] for node in nodes if node["__typename"] == "User")


@pytest.mark.parametrize("total", [6, 100])
def test_nested_selections_of_loaded_nodes_are_prefetched(
    graphql, django_assert_num_queries, mixed, total
):
    admin, products, orders, users = mixed(34)
    ids = interleaved(products, orders, users, total)

    # products; orders; their items joined to products; the orders' users; users
    with django_assert_num_queries(5):
        result = graphql(NODES + NESTED, {"ids": ids}, user=admin)

    assert "errors" not in result
    placed = [node for node in result["data"]["nodes"] if node["__typename"] == "Order"]
    assert len(placed) == total // 3
    assert all(len(order["items"]) == 2 for order in placed)
    assert all(item["product"]["name"] for order in placed for item in order["items"])
    assert all(order["user"]["name"] for order in placed)


def test_thirty_aliased_node_fields_load_in_three_statements(
    graphql, django_assert_num_queries, mixed
):
    """30: the alias limit."""
    admin, products, orders, users = mixed(10)
    ids = interleaved(products, orders, users, 30)

    with django_assert_num_queries(3):
        result = graphql(aliased_node(ids) + SCALARS, user=admin)

    assert "errors" not in result
    assert [result["data"][f"n{i}"]["id"] for i in range(30)] == ids


def test_node_and_nodes_fields_of_one_document_share_the_loads(
    graphql, django_assert_num_queries, mixed
):
    admin, products, orders, users = mixed(10)
    document = """query ($ids: [ID!]!, $more: [ID!]!, $order: ID!, $product: ID!) {
      first: nodes(ids: $ids) { ...Parts }
      second: nodes(ids: $more) { ...Parts }
      order: node(id: $order) { ...Parts }
      ... on Query { product: node(id: $product) { ...Parts } }
    }"""
    variables = {
        "ids": [gid(products[0]), gid(users[0]), gid(orders[0])],
        "more": [gid(users[1]), gid(products[1])],
        "order": gid(orders[1]),
        "product": gid(products[9]),
    }

    with django_assert_num_queries(5):
        result = graphql(document + NESTED, variables, user=admin)

    assert "errors" not in result
    data = result["data"]
    assert [node["id"] for node in data["first"]] == variables["ids"]
    assert [node["id"] for node in data["second"]] == variables["more"]
    assert data["order"]["items"][0]["product"]["name"] == products[1].name
    assert data["product"]["sku"] == products[9].sku


def test_node_of_an_order_costs_what_it_cost_alone(graphql, django_assert_num_queries):
    """OrderById's budget: the order; its items with their products; its user."""
    user = UserFactory()
    order = order_with_items(user=user, products=ProductFactory.create_batch(3))

    with django_assert_num_queries(3):
        result = graphql(
            "query ($id: ID!) { node(id: $id) { ...Parts } }" + NESTED,
            {"id": gid(order)},
            user=user,
        )

    assert len(result["data"]["node"]["items"]) == 3


def test_fields_selecting_differently_each_get_their_own_answer(graphql, django_assert_num_queries):
    """One load serves one selection: here the same user's orders, paged two ways."""
    admin, user = AdminFactory(), UserFactory()
    placed = [order_with_items(user=user, products=[ProductFactory()]) for _ in range(3)]
    document = """query ($id: ID!) {
      one: node(id: $id) { ... on User { orders(first: 1) { edges { node { id } } } } }
      two: nodes(ids: [$id]) { ... on User { orders(first: 2) { edges { node { id } } } } }
      all: node(id: $id) { ... on User { email orders { edges { node { id } } } } }
    }"""

    # per field: the user; its orders, windowed
    with django_assert_num_queries(6):
        result = graphql(document, {"id": gid(user)}, user=admin)

    assert "errors" not in result
    data = result["data"]
    pages = [
        data["one"]["orders"],
        data["two"][0]["orders"],
        data["all"]["orders"],
    ]
    assert [len(page["edges"]) for page in pages] == [1, 2, 3]
    assert {edge["node"]["id"] for edge in pages[2]["edges"]} == {gid(o) for o in placed}
    assert data["all"]["email"] == user.email


# Answers


def test_order_is_kept_with_repeats_and_unknown_ids(graphql, django_assert_num_queries):
    admin = AdminFactory()
    first, second = ProductFactory(), ProductFactory()
    order = order_with_items(user=UserFactory(), products=[first])
    ids = [
        gid(second),
        to_base64("Product", 10**9),
        gid(order),
        gid(first),
        gid(second),
        to_base64("User", 10**9),
        to_base64("Order", 2**70),  # past any key: no query for it
        gid(first),
    ]

    with django_assert_num_queries(3):
        result = graphql(
            "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids}, user=admin
        )

    assert result == {
        "data": {
            "nodes": [
                {"id": ids[0]},
                None,
                {"id": ids[2]},
                {"id": ids[3]},
                {"id": ids[0]},
                None,
                None,
                {"id": ids[3]},
            ]
        }
    }


def test_an_empty_list_is_an_empty_answer_without_sql(graphql, django_assert_num_queries):
    with django_assert_num_queries(0):
        result = graphql("{ nodes(ids: []) { id } }")
    assert result == {"data": {"nodes": []}}


def test_an_id_given_alone_is_a_list_of_one(graphql):
    product = ProductFactory()
    result = graphql(f'{{ nodes(ids: "{gid(product)}") {{ id }} }}')
    assert result == {"data": {"nodes": [{"id": gid(product)}]}}


def test_a_deleted_object_reads_as_null(graphql):
    admin, order = AdminFactory(), order_with_items(user=UserFactory(), products=[])
    order_id = gid(order)
    Order.objects.filter(pk=order.pk).delete()
    result = graphql(f'{{ nodes(ids: ["{order_id}"]) {{ id }} }}', user=admin)
    assert result == {"data": {"nodes": [None]}}


# Visibility: the same as `node`, an unseen object the same as a missing one

CALLERS = ["anonymous", "user", "other", "admin"]
VISIBLE = {
    "anonymous": {"active"},
    "user": {"active", "own_order", "user"},
    "other": {"active", "others_order", "other"},
    "admin": {
        "active",
        "inactive",
        "own_order",
        "others_order",
        "user",
        "other",
        "admin",
    },
}


@pytest.fixture
def world() -> dict:
    user, other, admin = UserFactory(), UserFactory(), AdminFactory()
    active, inactive = ProductFactory(), ProductFactory(is_active=False)
    return {
        "active": active,
        "inactive": inactive,
        "own_order": order_with_items(user=user, products=[active]),
        "others_order": order_with_items(user=other, products=[active]),
        "user": user,
        "other": other,
        "admin": admin,
    }


@pytest.mark.parametrize("caller", CALLERS)
def test_each_caller_gets_what_node_gives_it(graphql, world, caller):
    viewer = None if caller == "anonymous" else world[caller]
    names = list(world)
    ids = [gid(world[name]) for name in names]

    nodes = graphql("query ($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids}, user=viewer)[
        "data"
    ]["nodes"]
    one_by_one = [
        graphql("query ($id: ID!) { node(id: $id) { id } }", {"id": id}, user=viewer)["data"][
            "node"
        ]
        for id in ids
    ]

    expected = [{"id": gid(world[name])} if name in VISIBLE[caller] else None for name in names]
    assert nodes == expected
    assert one_by_one == expected


def test_a_product_deactivated_is_hidden_from_users_only(graphql, world):
    ids = [gid(world["inactive"]), gid(world["active"])]
    document = "query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Product { sku isActive } } }"

    as_user = graphql(document, {"ids": ids}, user=world["user"])["data"]["nodes"]
    as_admin = graphql(document, {"ids": ids}, user=world["admin"])["data"]["nodes"]

    assert as_user == [None, {"sku": world["active"].sku, "isActive": True}]
    assert as_admin == [
        {"sku": world["inactive"].sku, "isActive": False},
        {"sku": world["active"].sku, "isActive": True},
    ]


# Refusals


def test_more_than_a_hundred_ids_are_refused_without_sql(graphql, django_assert_num_queries):
    ids = [to_base64("Product", n) for n in range(1, 102)]

    with django_assert_num_queries(0):
        result = graphql("query ($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["extensions"]["fields"] == {"ids": ["At most 100 ids."]}
    assert result["errors"][0]["path"] == ["nodes"]
    assert result["data"] is None


def test_malformed_ids_are_refused_and_named_by_position(graphql, django_assert_num_queries):
    product = ProductFactory()
    ids = [
        gid(product),
        "not-a-global-id",
        to_base64("OrderItem", 1),  # a type that is not a Node
        to_base64("Nope", 1),
        to_base64("Product", "abc"),
    ]

    with django_assert_num_queries(0):
        result = graphql("query ($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})

    assert error_codes(result) == ["BAD_USER_INPUT"]
    (error,) = result["errors"]
    assert error["message"] == "Malformed global id."
    assert error["extensions"]["fields"] == {
        "ids": [f"Malformed global id at index {index}." for index in (1, 2, 3, 4)]
    }


def test_a_malformed_node_id_leaves_the_other_fields_loading(graphql):
    product = ProductFactory()
    result = graphql(
        f'{{ bad: node(id: "nope") {{ id }} nodes(ids: ["{gid(product)}"]) {{ id }} }}'
    )

    assert result["data"] == {"bad": None, "nodes": [{"id": gid(product)}]}
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["path"] == ["bad"]
    assert result["errors"][0]["extensions"]["fields"] == {"id": ["Malformed global id."]}


# The node limit

USERS_WITH_ORDERS = """query ($ids: [ID!]!, $first: Int!) {
  nodes(ids: $ids) { ... on User { orders(first: $first) { edges { node { id } } } } }
}"""


def test_each_id_counts_toward_the_node_limit_like_a_page(graphql, django_assert_num_queries):
    admin = AdminFactory()
    ids = [to_base64("User", admin.pk)] + [to_base64("User", 10**6 + n) for n in range(99)]

    # 100 users, and 100 orders of each: 10,100 nodes
    with django_assert_num_queries(0):
        refused = graphql(USERS_WITH_ORDERS, {"ids": ids, "first": 100}, user=admin)
    assert error_codes(refused) == ["QUERY_TOO_COMPLEX"]
    assert "10,100 nodes" in refused["errors"][0]["message"]

    # 100 users, and 99 orders of each: 10,000 nodes
    allowed = graphql(USERS_WITH_ORDERS, {"ids": ids, "first": 99}, user=admin)
    assert "errors" not in allowed
    assert allowed["data"]["nodes"][0] == {"orders": {"edges": []}}


# The planned executor and the asynchronous path


def test_the_planned_executor_answers_as_graphql_core_does(mixed, monkeypatch):
    admin, products, orders, users = mixed(4)
    ids = interleaved(products, orders, users, 12)

    planned = post_graphql(NODES + NESTED, {"ids": ids}, user=admin)
    monkeypatch.setattr(PlannedExecutor, "use_plans", False)
    plain = post_graphql(NODES + NESTED, {"ids": ids}, user=admin)

    assert planned == plain
    assert b'"items"' in planned


@pytest.mark.django_db(transaction=True)
def test_over_websocket_each_operation_loads_afresh_with_the_same_answers(mixed):
    """A WebSocket's operations share the connection's context, not its loads: the second
    query sees what changed after the first."""
    _, products, orders, _ = mixed(4)
    customer = orders[0].user
    token = tokens.token_obtain(
        email=customer.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token
    ids = [gid(orders[0]), gid(products[0]), gid(orders[1]), gid(customer)]
    document = (
        "query ($ids: [ID!]!, $id: ID!) "
        "{ nodes(ids: $ids) { ...Parts } again: node(id: $id) { ...Parts } }"
    ) + NESTED
    variables = {"ids": ids, "id": gid(orders[0])}
    cancel = database_sync_to_async(
        lambda: Order.objects.filter(pk=orders[0].pk).update(status=OrderStatus.CANCELLED)
    )

    async def two_queries() -> list[dict]:
        ws = await signed_in(token)
        answers = []
        for n in (1, 2):
            payload = {"query": document, "variables": variables}
            await ws.send_json_to({"id": str(n), "type": "subscribe", "payload": payload})
            message = await ws.receive_json_from(timeout=5)
            assert message["type"] == "next", message
            answers.append(message["payload"])
            assert (await ws.receive_json_from(timeout=5))["type"] == "complete"
            await cancel()
        await ws.disconnect()
        return answers

    over_http = json.loads(post_graphql(document, variables, user=customer))
    with CaptureQueriesContext(connection) as captured:
        first, second = async_to_sync(two_queries)()
    # the token's user; per operation: orders (for both fields), their items joined to
    # products, their users, products, users; then the update between the two
    assert len(captured) == 1 + 2 * (5 + 1)

    assert first == over_http
    assert "errors" not in first
    assert first["data"]["nodes"][0]["status"] != "CANCELLED"
    assert first["data"]["nodes"][2] is None  # someone else's order
    assert first["data"]["again"] == first["data"]["nodes"][0]
    assert second["data"]["nodes"][0]["status"] == "CANCELLED"
    assert second["data"]["again"]["status"] == "CANCELLED"
