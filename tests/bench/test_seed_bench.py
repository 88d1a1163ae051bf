"""`seed_bench` (the benchmark's data) and the benchmark's baseline view (bench/views.py)."""

import io
import json
from decimal import Decimal

import orjson
import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from apps.catalog.models import Product
from apps.orders.management.commands.seed_bench import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    USER_PASSWORD,
    user_email,
)
from apps.orders.models import Order, OrderItem
from apps.users.models import User, UserRole
from bench.views import admin_users_with_orders

pytestmark = pytest.mark.django_db


def seed(users: int = 20, **options) -> str:
    out = io.StringIO()
    call_command("seed_bench", users=users, stdout=out, **options)
    return out.getvalue()


def test_seeds_exact_counts_with_totals_matching_items():
    output = seed(20, batch_users=7)  # several batches, the last one short

    assert User.objects.count() == 20
    assert Product.objects.count() == 1000
    assert Order.objects.count() == 200
    assert OrderItem.objects.count() == 600
    assert list(User.objects.filter(role=UserRole.ADMIN).values_list("email", flat=True)) == [
        ADMIN_EMAIL
    ]
    sums: dict[int, Decimal] = {}
    for order_id, quantity, unit_price in OrderItem.objects.values_list(
        "order_id", "quantity", "unit_price"
    ):
        sums[order_id] = sums.get(order_id, Decimal(0)) + quantity * unit_price
    totals = dict(Order.objects.values_list("pk", "total"))
    assert totals == sums
    assert all(Order.objects.filter(user=user).count() == 10 for user in User.objects.all())
    assert f"{ADMIN_EMAIL} / {ADMIN_PASSWORD}" in output


def test_passwords_are_the_printed_ones():
    seed(3)

    assert authenticate(email=ADMIN_EMAIL, password=ADMIN_PASSWORD).role == UserRole.ADMIN
    assert authenticate(email=user_email(2), password=USER_PASSWORD) is not None


def test_a_second_run_refuses_without_flush_and_reseeds_with_it():
    seed(20)
    first = list(Order.objects.values_list("total", "status"))

    with pytest.raises(CommandError, match="--flush"):
        seed(20)
    assert Order.objects.count() == 200

    seed(20, flush=True)
    assert User.objects.count() == 20
    assert OrderItem.objects.count() == 600
    assert list(Order.objects.values_list("total", "status")) == first  # deterministic


def test_baseline_view_answers_what_graphql_answers(contract):
    seed(20)
    admin = User.objects.get(email=ADMIN_EMAIL)
    expected = contract("AdminUsersWithOrders", {"first": 50, "ordersFirst": 10}, user=admin)
    assert "errors" not in expected, expected

    request = RequestFactory().post("/bench/baseline/", data="{}", content_type="application/json")
    request.user = admin
    response = admin_users_with_orders(request)

    assert response.status_code == 200
    assert json.loads(response.content) == expected
    # Same keys in the same order, same compact separators: the same bytes.
    assert response.content == orjson.dumps(expected)


def test_baseline_view_is_for_admins_only():
    seed(3)
    request = RequestFactory().post("/bench/baseline/", data="{}", content_type="application/json")
    request.user = User.objects.get(email=user_email(1))

    body = json.loads(admin_users_with_orders(request).content)

    assert body["data"] == {"users": None}


def test_the_deep_pages_start_halfway_and_at_the_end(graphql):
    from bench.__main__ import middle_user_cursor
    from schema.core.operations import operation
    from schema.core.trusted_documents import entries

    seed(20)  # 21 users with the admin
    admin = User.objects.get(email=ADMIN_EMAIL)
    ordered = list(User.objects.order_by("-date_joined", "-pk").values_list("email", flat=True))

    after = middle_user_cursor()
    middle = graphql(operation("AdminUsers"), {"first": 3, "after": after}, user=admin)
    (both_ways,) = (found.body for found in entries() if found.name == "AdminUsersPage")
    last = graphql(both_ways, {"last": 3}, user=admin)

    emails = [[e["node"]["email"] for e in r["data"]["users"]["edges"]] for r in (middle, last)]
    assert emails == [ordered[11:14], ordered[-3:]]
    assert last["data"]["users"]["pageInfo"]["hasPreviousPage"] is True


def test_catalog_baseline_answers_what_graphql_answers(contract):
    from bench.views import catalog_first_one

    seed(3)
    expected = contract("Catalog", {"first": 1})
    assert expected["data"]["products"]["pageInfo"]["hasNextPage"] is True

    request = RequestFactory().post("/bench/", data="{}", content_type="application/json")
    request.user = AnonymousUser()
    response = catalog_first_one(request)

    assert response.content == orjson.dumps(expected)
