"""The contract's access table, walked row by row for anonymous, USER, another USER and ADMIN.

Each row runs one operation as each caller and says what that caller gets: an error
code, or what the data must show. A denied object reads exactly like a missing one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from strawberry.relay import to_base64

from apps.users import tokens
from tests.conftest import error_codes
from tests.factories import PASSWORD, AdminFactory, ProductFactory, UserFactory, order_with_items

CALLERS = ["anonymous", "user", "other", "admin"]


@dataclass
class World:
    user: Any
    other: Any
    admin: Any
    active: Any
    inactive: Any
    order: Any

    def caller(self, name: str):
        return None if name == "anonymous" else getattr(self, name)


@pytest.fixture
def world(db) -> World:
    cache.clear()
    user = UserFactory(email="user@example.com")
    active, inactive = ProductFactory(sku="ON"), ProductFactory(sku="OFF", is_active=False)
    return World(
        user=user,
        other=UserFactory(email="other@example.com"),
        admin=AdminFactory(email="admin@example.com"),
        active=active,
        inactive=inactive,
        order=order_with_items(user=user, products=[active]),
    )


@dataclass
class Row:
    """One line of the table: a document, its variables, and each caller's outcome."""

    document: str
    variables: Callable[[World, str], dict]
    outcomes: dict[str, str | Callable[[dict, World, str], bool]]


def data(field: str):
    return lambda result: result["data"][field]


def skus(result) -> set[str]:
    return {e["node"]["sku"] for e in result["data"]["products"]["edges"]}


def gid(type_name: str, pk: int) -> str:
    return to_base64(type_name, pk)


def own_orders_only(result, world, caller) -> bool:
    ids = {e["node"]["id"] for e in result["data"]["orders"]["edges"]}
    mine = {gid("Order", world.order.pk)} if caller == "user" else set()
    return ids == mine


NODE = "query ($id: ID!) { node(id: $id) { id } }"
NO_VARIABLES = lambda world, caller: {}  # noqa: E731

TABLE: dict[str, Row] = {
    "products": Row(
        "{ products { edges { node { sku } } } }",
        NO_VARIABLES,
        {
            "anonymous": lambda r, w, c: skus(r) == {"ON"},
            "user": lambda r, w, c: skus(r) == {"ON"},
            "other": lambda r, w, c: skus(r) == {"ON"},
            "admin": lambda r, w, c: skus(r) == {"ON", "OFF"},
        },
    ),
    "node of an active product": Row(
        NODE,
        lambda w, c: {"id": gid("Product", w.active.pk)},
        {c: (lambda r, w, c: r["data"]["node"] is not None) for c in CALLERS},
    ),
    "node of an inactive product": Row(
        NODE,
        lambda w, c: {"id": gid("Product", w.inactive.pk)},
        {
            "anonymous": lambda r, w, c: r["data"]["node"] is None,
            "user": lambda r, w, c: r["data"]["node"] is None,
            "other": lambda r, w, c: r["data"]["node"] is None,
            "admin": lambda r, w, c: r["data"]["node"] == {"id": gid("Product", w.inactive.pk)},
        },
    ),
    "register": Row(
        "mutation ($e: String!, $p: String!) "
        '{ register(input: {email: $e, name: "N", password: $p}) { email } }',
        lambda w, c: {"e": f"new-{c}@example.com", "p": "a-sound-passphrase-42"},
        {
            c: (lambda r, w, c: data("register")(r) == {"email": f"new-{c}@example.com"})
            for c in CALLERS
        },
    ),
    "obtainToken": Row(
        "mutation ($e: String!, $p: String!) "
        "{ obtainToken(input: {email: $e, password: $p}) { accessToken } }",
        lambda w, c: {"e": "user@example.com", "p": PASSWORD},
        {c: (lambda r, w, c: bool(data("obtainToken")(r)["accessToken"])) for c in CALLERS},
    ),
    "refreshToken": Row(
        "mutation ($t: String!) { refreshToken(input: {refreshToken: $t}) { refreshToken } }",
        lambda w, c: {
            "t": tokens.token_obtain(
                email="user@example.com", password=PASSWORD, client_address="127.0.0.1"
            ).refresh_token
        },
        {c: (lambda r, w, c: bool(data("refreshToken")(r)["refreshToken"])) for c in CALLERS},
    ),
    "revokeToken": Row(
        "mutation ($t: String!) { revokeToken(input: {refreshToken: $t}) }",
        lambda w, c: {
            "t": tokens.token_obtain(
                email="user@example.com", password=PASSWORD, client_address="127.0.0.1"
            ).refresh_token
        },
        {c: (lambda r, w, c: data("revokeToken")(r) is True) for c in CALLERS},
    ),
    "me": Row(
        "{ me { email } }",
        NO_VARIABLES,
        {
            "anonymous": lambda r, w, c: r == {"data": {"me": None}},
            **{
                c: (lambda r, w, c: data("me")(r) == {"email": w.caller(c).email})
                for c in ("user", "other", "admin")
            },
        },
    ),
    "orders": Row(
        "{ orders { edges { node { id } } } }",
        NO_VARIABLES,
        {
            "anonymous": "UNAUTHENTICATED",
            "user": own_orders_only,
            "other": own_orders_only,
            "admin": lambda r, w, c: len(r["data"]["orders"]["edges"]) == 1,
        },
    ),
    "node of an order": Row(
        NODE,
        lambda w, c: {"id": gid("Order", w.order.pk)},
        {
            "anonymous": lambda r, w, c: r == {"data": {"node": None}},
            "user": lambda r, w, c: r["data"]["node"] == {"id": gid("Order", w.order.pk)},
            "other": lambda r, w, c: r == {"data": {"node": None}},
            "admin": lambda r, w, c: r["data"]["node"] == {"id": gid("Order", w.order.pk)},
        },
    ),
    "node of a user": Row(
        NODE,
        lambda w, c: {"id": gid("User", w.user.pk)},
        {
            "anonymous": lambda r, w, c: r == {"data": {"node": None}},
            "user": lambda r, w, c: r["data"]["node"] == {"id": gid("User", w.user.pk)},
            "other": lambda r, w, c: r == {"data": {"node": None}},
            "admin": lambda r, w, c: r["data"]["node"] == {"id": gid("User", w.user.pk)},
        },
    ),
    "updateProfile": Row(
        'mutation { updateProfile(input: {name: "Renamed"}) { email name } }',
        NO_VARIABLES,
        {
            "anonymous": "UNAUTHENTICATED",
            **{
                c: (
                    lambda r, w, c: (
                        data("updateProfile")(r) == {"email": w.caller(c).email, "name": "Renamed"}
                    )
                )
                for c in ("user", "other", "admin")
            },
        },
    ),
    "users": Row(
        "{ users { totalCount } }",
        NO_VARIABLES,
        {
            "anonymous": "UNAUTHENTICATED",
            "user": "FORBIDDEN",
            "other": "FORBIDDEN",
            "admin": lambda r, w, c: r == {"data": {"users": {"totalCount": 3}}},
        },
    ),
    "deactivateUser": Row(
        "mutation ($id: ID!) { deactivateUser(input: {id: $id}) { isActive } }",
        lambda w, c: {"id": gid("User", w.other.pk if c != "other" else w.user.pk)},
        {
            "anonymous": "UNAUTHENTICATED",
            "user": "FORBIDDEN",
            "other": "FORBIDDEN",
            "admin": lambda r, w, c: r == {"data": {"deactivateUser": {"isActive": False}}},
        },
    ),
    "createOrder": Row(
        "mutation ($p: ID!) { createOrder(input: {items: [{productId: $p, quantity: 1}]}) "
        "{ status user { email } } }",
        lambda w, c: {"p": gid("Product", w.active.pk)},
        {
            "anonymous": "UNAUTHENTICATED",
            **{
                c: (
                    lambda r, w, c: (
                        data("createOrder")(r)
                        == {"status": "PENDING", "user": {"email": w.caller(c).email}}
                    )
                )
                for c in ("user", "other", "admin")
            },
        },
    ),
    "cancelOrder": Row(
        "mutation ($id: ID!) { cancelOrder(input: {id: $id}) { status } }",
        lambda w, c: {"id": gid("Order", w.order.pk)},
        {
            "anonymous": "UNAUTHENTICATED",
            "user": lambda r, w, c: r == {"data": {"cancelOrder": {"status": "CANCELLED"}}},
            "other": "NOT_FOUND",
            "admin": lambda r, w, c: r == {"data": {"cancelOrder": {"status": "CANCELLED"}}},
        },
    ),
    "createProduct": Row(
        "mutation { createProduct(input: "
        '{sku: "NEW", name: "New", price: "10", stock: 1}) { sku price isActive } }',
        NO_VARIABLES,
        {
            "anonymous": "UNAUTHENTICATED",
            "user": "FORBIDDEN",
            "other": "FORBIDDEN",
            "admin": lambda r, w, c: (
                r == {"data": {"createProduct": {"sku": "NEW", "price": "10.00", "isActive": True}}}
            ),
        },
    ),
    "updateProduct": Row(
        "mutation ($id: ID!) { updateProduct(input: {id: $id, isActive: true}) { sku isActive } }",
        lambda w, c: {"id": gid("Product", w.inactive.pk)},
        {
            "anonymous": "UNAUTHENTICATED",
            "user": "FORBIDDEN",
            "other": "FORBIDDEN",
            "admin": lambda r, w, c: (
                r == {"data": {"updateProduct": {"sku": "OFF", "isActive": True}}}
            ),
        },
    ),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", TABLE, ids=str)
def test_access_table(graphql, world, row, caller):
    spec = TABLE[row]
    result = graphql(spec.document, spec.variables(world, caller), user=world.caller(caller))
    expected = spec.outcomes[caller]
    if isinstance(expected, str):
        assert error_codes(result) == [expected]
        assert result["data"] is None
    else:
        assert "errors" not in result, result
        assert expected(result, world, caller), result


def test_the_table_covers_every_caller_of_every_row():
    assert all(set(row.outcomes) == set(CALLERS) for row in TABLE.values())
