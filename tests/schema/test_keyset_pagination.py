"""Keyset pagination: every row once in order, in both directions, with no OFFSET scans."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.orders.models import Order
from tests.conftest import error_codes
from tests.factories import AdminFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

USERS = """
query Users($first: Int, $after: String, $last: Int, $before: String, $ordering: [UserOrder!]!) {
  users(first: $first, after: $after, last: $last, before: $before, ordering: $ordering) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { email name } }
  }
}
"""

ORDERINGS = [
    [],
    [{"email": "ASC"}],
    [{"name": "DESC"}],
    # Ties on the name, broken by dateJoined, then by the primary key the cursor adds.
    [{"name": "ASC"}, {"dateJoined": "DESC"}],
]


@pytest.fixture
def admin():
    """An admin and 11 users whose names repeat, so that orderings have ties."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    admin = AdminFactory(email="admin@example.com", name="Ann", date_joined=start)
    for n in range(11):
        UserFactory(
            email=f"user{n:02}@example.com",
            name=["Ann", "Bob", "Cid"][n % 3],
            date_joined=start + timedelta(days=n % 4),
        )
    return admin


def page(graphql, admin, ordering, **arguments) -> dict:
    result = graphql(USERS, {"ordering": ordering, **arguments}, user=admin)
    assert "errors" not in result, result["errors"]
    return result["data"]["users"]


def emails(connection_: dict) -> list[str]:
    return [edge["node"]["email"] for edge in connection_["edges"]]


@pytest.mark.parametrize("ordering", ORDERINGS, ids=["default", "email", "name", "name+joined"])
def test_forward_and_backward_pages_cover_every_row_once_in_order(graphql, admin, ordering):
    everyone = emails(page(graphql, admin, ordering, first=100))
    assert len(everyone) == 12

    forward, after = [], None
    while True:
        current = page(graphql, admin, ordering, first=5, after=after)
        forward += emails(current)
        assert current["totalCount"] == 12
        assert current["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not current["pageInfo"]["hasNextPage"]:
            break
        after = current["pageInfo"]["endCursor"]

    backward, before = [], None
    while True:
        current = page(graphql, admin, ordering, last=5, before=before)
        backward = emails(current) + backward
        assert current["pageInfo"]["hasNextPage"] is (before is not None)
        if not current["pageInfo"]["hasPreviousPage"]:
            break
        before = current["pageInfo"]["startCursor"]

    assert forward == everyone
    assert backward == everyone


def test_a_page_after_a_cursor_is_an_index_range_not_an_offset(graphql, admin):
    first = page(graphql, admin, [{"name": "ASC"}], first=3)

    with CaptureQueriesContext(connection) as queries:
        page(graphql, admin, [{"name": "ASC"}], first=3, after=first["pageInfo"]["endCursor"])

    sql = [q["sql"] for q in queries.captured_queries if "LIMIT" in q["sql"]]
    assert len(sql) == 1
    assert "OFFSET" not in sql[0]
    # The leading column is bounded on its own, which an index can seek to.
    assert '"users_user"."name" >= ' in sql[0]


def test_total_count_runs_no_count_unless_asked(graphql, admin):
    document = "query { users(first: 2) { edges { node { email } } } }"

    with CaptureQueriesContext(connection) as queries:
        result = graphql(document, user=admin)

    assert len(result["data"]["users"]["edges"]) == 2
    assert len(queries.captured_queries) == 1
    assert "COUNT" not in queries.captured_queries[0]["sql"].upper()


def test_a_nested_page_after_a_cursor_counts_the_whole_list(contract):
    user = UserFactory()
    for day in range(1, 6):
        order = OrderFactory(user=user)
        Order.objects.filter(pk=order.pk).update(created_at=datetime(2025, 1, day, tzinfo=UTC))
    OrderFactory(user=UserFactory())  # someone else's: counted for nobody here

    first = contract("MyOrders", {"first": 2}, user=user)["data"]["me"]["orders"]
    after = first["pageInfo"]["endCursor"]
    second = contract("MyOrders", {"first": 2, "after": after}, user=user)["data"]["me"]["orders"]

    assert first["totalCount"] == second["totalCount"] == 5
    assert len(second["edges"]) == 2
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert second["pageInfo"]["hasNextPage"] is True


def cursor(*values) -> str:
    payload = "orderedcursor:" + json.dumps(list(values))
    return base64.b64encode(payload.encode()).decode()


@pytest.mark.parametrize(
    ("ordering", "after"),
    [
        ([], "not base64 at all"),
        ([], base64.b64encode(b"arrayconnection:3").decode()),  # an offset cursor
        ([], cursor("1", "2")),  # more values than the ordering has columns
        ([{"name": "ASC"}], cursor("7")),  # made under another ordering
        ([{"dateJoined": "ASC"}], cursor("yesterday", "1")),
        ([], cursor("x")),  # not a primary key
        ([], cursor(1)),  # values are strings
        ([{"name": "ASC"}], cursor("A\x00", "1")),
    ],
    ids=["garbage", "offset", "length", "ordering", "datetime", "pk", "type", "nul"],
)
def test_a_malformed_cursor_is_bad_user_input(graphql, admin, ordering, after):
    result = graphql(USERS, {"ordering": ordering, "after": after}, user=admin)

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["extensions"]["fields"] == {"after": ["Malformed cursor."]}
    assert result["data"] is None


@pytest.mark.parametrize("argument", ["first", "last"])
@pytest.mark.parametrize("size", [-1, 101])
def test_a_page_size_out_of_range_is_bad_user_input(graphql, admin, argument, size):
    result = graphql(USERS, {"ordering": [], argument: size}, user=admin)

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert argument in result["errors"][0]["extensions"]["fields"]


def test_a_count_alone_runs_no_page_query(graphql, admin):
    with CaptureQueriesContext(connection) as queries:
        result = graphql("query { users { totalCount } }", user=admin)

    assert result["data"]["users"]["totalCount"] == 12
    assert len(queries.captured_queries) == 1
    assert "COUNT" in queries.captured_queries[0]["sql"].upper()


@pytest.mark.parametrize(
    "selection",
    [
        "... on UserConnection { edges { node { email } } }",
        "...Page",
        "... on UserConnection { ...Page }",
    ],
    ids=["inline fragment", "fragment", "nested fragments"],
)
def test_a_page_asked_for_in_fragments_is_loaded(graphql, admin, selection):
    document = f"query {{ users(first: 2) {{ {selection} }} }}"
    if "...Page" in selection:
        document += "\nfragment Page on UserConnection { edges { node { email } } }"

    result = graphql(document, user=admin)

    assert len(result["data"]["users"]["edges"]) == 2


def test_an_empty_nested_page_after_a_cursor_still_counts_the_whole_list(contract):
    user = UserFactory()
    for day in range(1, 4):
        order = OrderFactory(user=user)
        Order.objects.filter(pk=order.pk).update(created_at=datetime(2025, 1, day, tzinfo=UTC))
    everything = contract("MyOrders", {"first": 3}, user=user)["data"]["me"]["orders"]

    after_the_last = everything["pageInfo"]["endCursor"]
    empty = contract("MyOrders", {"after": after_the_last}, user=user)["data"]["me"]["orders"]

    assert empty["edges"] == []
    assert empty["totalCount"] == 3


def test_a_nested_page_after_a_cursor_counts_only_when_asked(graphql):
    user = UserFactory()
    orders = [OrderFactory(user=user) for _ in range(3)]
    document = """query ($after: String) { me { orders(first: 1, after: $after, ordering: [])
        { edges { node { id } } } } }"""
    cursor = base64.b64encode(f'orderedcursor:["{orders[0].pk}"]'.encode()).decode()

    with CaptureQueriesContext(connection) as queries:
        result = graphql(document, {"after": cursor}, user=user)

    assert len(result["data"]["me"]["orders"]["edges"]) == 1
    # Only the window's per-user count of the page query; no correlated COUNT(*) per row.
    assert not any("COUNT(*)" in q["sql"].upper() for q in queries.captured_queries)
