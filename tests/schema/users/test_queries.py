"""Queries on users: `me`, `users` (contract operation AdminUsers) and `node` of a User."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from strawberry.relay import to_base64

from apps.orders.models import OrderStatus
from apps.users.models import User
from tests.conftest import error_codes
from tests.factories import AdminFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

USER_EMAILS = """
query Users($ordering: [UserOrder!]!) {
  users(ordering: $ordering) { totalCount edges { node { email } } }
}
"""

USER_NODE = """
query UserNode($id: ID!) {
  node(id: $id) { id ... on User { email } }
}
"""


def user_summary(user: User, *, order_count: int = 0, total_spent: str = "0.00") -> dict:
    """The contract's UserSummary fragment as the API should render `user`."""
    return {
        "id": to_base64("User", user.pk),
        "email": user.email,
        "name": user.name,
        "role": user.role.upper(),
        "isActive": user.is_active,
        "dateJoined": user.date_joined.isoformat(),
        "orderCount": order_count,
        "totalSpent": total_spent,
    }


def emails(result: dict) -> list[str]:
    return [edge["node"]["email"] for edge in result["data"]["users"]["edges"]]


# me


def test_me_is_null_for_anonymous_without_error(contract):
    assert contract("Me") == {"data": {"me": None}}


def test_me_is_the_caller(contract):
    user = UserFactory()
    UserFactory()

    assert contract("Me", user=user) == {"data": {"me": user_summary(user)}}


def test_me_of_an_admin_is_the_admin(contract):
    admin = AdminFactory()

    assert contract("Me", user=admin) == {"data": {"me": user_summary(admin)}}


def test_me_counts_every_order_and_sums_only_confirmed_ones(contract):
    user = UserFactory()
    OrderFactory(user=user, status=OrderStatus.CONFIRMED, total=Decimal("10.50"))
    OrderFactory(user=user, status=OrderStatus.CONFIRMED, total=Decimal("20.25"))
    OrderFactory(user=user, status=OrderStatus.PENDING, total=Decimal("100.00"))
    OrderFactory(user=user, status=OrderStatus.FAILED, total=Decimal("200.00"))
    OrderFactory(user=user, status=OrderStatus.CANCELLED, total=Decimal("300.00"))
    OrderFactory(status=OrderStatus.CONFIRMED, total=Decimal("400.00"))  # someone else's

    me = contract("Me", user=user)["data"]["me"]

    assert me["orderCount"] == 5
    assert me["totalSpent"] == "30.75"


def test_me_total_spent_is_zero_with_two_decimals_without_confirmed_orders(contract):
    user = UserFactory()
    OrderFactory(user=user, status=OrderStatus.PENDING, total=Decimal("15.00"))

    me = contract("Me", user=user)["data"]["me"]

    assert (me["orderCount"], me["totalSpent"]) == (1, "0.00")


# users


def test_users_refuses_anonymous(contract):
    UserFactory()

    result = contract("AdminUsers")

    assert result["data"] is None
    assert error_codes(result) == ["UNAUTHENTICATED"]


def test_users_refuses_a_user(contract):
    user = UserFactory()

    result = contract("AdminUsers", user=user)

    assert result["data"] is None
    assert error_codes(result) == ["FORBIDDEN"]


def test_users_lists_every_user_for_an_admin(graphql):
    admin = AdminFactory(email="admin@example.com")
    UserFactory(email="b@example.com")
    UserFactory(email="c@example.com", is_active=False)

    result = graphql(USER_EMAILS, {"ordering": [{"email": "ASC"}]}, user=admin)

    assert result == {
        "data": {
            "users": {
                "totalCount": 3,
                "edges": [
                    {"node": {"email": "admin@example.com"}},
                    {"node": {"email": "b@example.com"}},
                    {"node": {"email": "c@example.com"}},
                ],
            }
        }
    }


def test_admin_users_renders_the_user_summary(contract):
    admin = AdminFactory()
    user = UserFactory(date_joined=datetime(2020, 1, 1, tzinfo=UTC))
    OrderFactory(user=user, status=OrderStatus.CONFIRMED, total=Decimal("12.30"))
    OrderFactory(user=user, status=OrderStatus.CANCELLED, total=Decimal("1.00"))

    users = contract("AdminUsers", user=admin)["data"]["users"]

    assert [edge["node"] for edge in users["edges"]] == [
        user_summary(admin),
        user_summary(user, order_count=2, total_spent="12.30"),
    ]


def test_admin_users_filters_by_role(contract):
    admin = AdminFactory(email="admin@example.com")
    AdminFactory(email="other-admin@example.com")
    UserFactory(email="user@example.com")

    result = contract("AdminUsers", {"role": "ADMIN"}, user=admin)

    assert result["data"]["users"]["totalCount"] == 2
    assert sorted(emails(result)) == ["admin@example.com", "other-admin@example.com"]


def test_admin_users_filters_by_is_active(contract):
    admin = AdminFactory(email="admin@example.com")
    UserFactory(email="gone@example.com", is_active=False)
    UserFactory(email="here@example.com")

    inactive = contract("AdminUsers", {"isActive": False}, user=admin)
    active = contract("AdminUsers", {"isActive": True}, user=admin)

    assert emails(inactive) == ["gone@example.com"]
    assert sorted(emails(active)) == ["admin@example.com", "here@example.com"]


def test_admin_users_search_matches_email_or_name_ignoring_case(contract):
    admin = AdminFactory(email="root@example.com", name="Root")
    UserFactory(email="alice@example.com", name="A. Smith")
    UserFactory(email="nat@example.com", name="Natalie Wood")
    UserFactory(email="bob@example.com", name="Bob")

    result = contract("AdminUsers", {"search": "ALI"}, user=admin)

    assert result["data"]["users"]["totalCount"] == 2
    assert sorted(emails(result)) == ["alice@example.com", "nat@example.com"]


def test_admin_users_is_ordered_by_date_joined_newest_first(contract):
    admin = AdminFactory(email="admin@example.com", date_joined=datetime(2021, 6, 1, tzinfo=UTC))
    UserFactory(email="old@example.com", date_joined=datetime(2019, 1, 1, tzinfo=UTC))
    UserFactory(email="new@example.com", date_joined=datetime(2024, 1, 1, tzinfo=UTC))

    result = contract("AdminUsers", user=admin)

    assert emails(result) == ["new@example.com", "admin@example.com", "old@example.com"]


def test_admin_users_pages_with_the_end_cursor(contract):
    admin = AdminFactory(email="admin@example.com", date_joined=datetime(2020, 1, 1, tzinfo=UTC))
    for day in (2, 3, 4):
        UserFactory(email=f"day{day}@example.com", date_joined=datetime(2020, 1, day, tzinfo=UTC))

    first = contract("AdminUsers", {"first": 2}, user=admin)
    second = contract(
        "AdminUsers",
        {"first": 2, "after": first["data"]["users"]["pageInfo"]["endCursor"]},
        user=admin,
    )

    assert emails(first) == ["day4@example.com", "day3@example.com"]
    assert first["data"]["users"]["pageInfo"]["hasNextPage"] is True
    assert emails(second) == ["day2@example.com", "admin@example.com"]
    assert second["data"]["users"]["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ({"email": "ASC"}, ["a@example.com", "b@example.com", "c@example.com"]),
        ({"email": "DESC"}, ["c@example.com", "b@example.com", "a@example.com"]),
        # Names order differently from emails, so the two cannot pass for each other.
        ({"name": "ASC"}, ["b@example.com", "c@example.com", "a@example.com"]),
        ({"name": "DESC"}, ["a@example.com", "c@example.com", "b@example.com"]),
    ],
)
def test_users_ordering_by_email_and_name(graphql, ordering, expected):
    admin = AdminFactory(email="c@example.com", name="Carol")
    UserFactory(email="a@example.com", name="Dave")
    UserFactory(email="b@example.com", name="Alice")

    result = graphql(USER_EMAILS, {"ordering": [ordering]}, user=admin)

    assert emails(result) == expected


# node of a User


def test_node_of_own_user(graphql):
    user = UserFactory()
    user_id = to_base64("User", user.pk)

    result = graphql(USER_NODE, {"id": user_id}, user=user)

    assert result == {"data": {"node": {"id": user_id, "email": user.email}}}


def test_node_of_someone_else_is_null_for_a_user(graphql):
    user, other = UserFactory(), UserFactory()

    result = graphql(USER_NODE, {"id": to_base64("User", other.pk)}, user=user)

    assert result == {"data": {"node": None}}


def test_node_of_any_user_for_an_admin(graphql):
    admin, other = AdminFactory(), UserFactory()
    other_id = to_base64("User", other.pk)

    result = graphql(USER_NODE, {"id": other_id}, user=admin)

    assert result == {"data": {"node": {"id": other_id, "email": other.email}}}


def test_node_of_a_user_is_null_for_anonymous(graphql):
    user = UserFactory()

    result = graphql(USER_NODE, {"id": to_base64("User", user.pk)})

    assert result == {"data": {"node": None}}
