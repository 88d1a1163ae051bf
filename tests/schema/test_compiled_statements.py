"""Compiled reads keep their SQL per shape and bind each request's keys
(schema.core.compiled.statements).

- A second caller of the same kind runs the kept SQL text with its own keys: no queryset is
  compiled, and the answer is the normal path's, for another user's rows.
- Each kind of caller (anonymous, USER, ADMIN) and each set of variables has its own text.
- Variables that could pass for a sentinel key, keys written into the text or inside another
  parameter, and a rule that reads more of the caller than the stand-in has are built per
  request.
- The statements kept are bounded.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from strawberry.relay import to_base64

from apps.users import tokens
from schema.core.compiled import statements
from schema.core.compiled.statements import Keys, Unbindable
from tests.factories import PASSWORD, AdminFactory, ProductFactory, UserFactory, order_with_items
from tests.schema.test_compiled import both_ways, send

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_statements():
    statements.clear()
    yield
    statements.clear()


@pytest.fixture
def compiles(monkeypatch) -> list[str]:
    """The SQL of each queryset Django compiles (a spy: the compiler still runs)."""
    compiled: list[str] = []
    original = SQLCompiler.as_sql

    def spy(self, *args, **kwargs):
        sql, params = original(self, *args, **kwargs)
        compiled.append(sql)
        return sql, params

    monkeypatch.setattr(SQLCompiler, "as_sql", spy)
    return compiled


def bearer(user) -> str:
    return tokens.token_obtain(
        email=user.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token


@pytest.fixture
def customers():
    products = [ProductFactory(), ProductFactory()]
    first, second = UserFactory(), UserFactory()
    orders = {
        first: order_with_items(user=first, products=products),
        second: order_with_items(user=second, products=products[:1]),
    }
    return [(user, bearer(user), orders[user]) for user in (first, second)]


def test_a_second_caller_of_the_same_kind_runs_the_kept_text_with_its_keys(
    customers, answered, compiles
):
    (_, first_token, _), (second, second_token, second_order) = customers
    send("MyOrders", {}, token=first_token, transport="documentId")
    send("MyOrders", {}, token=second_token, transport="documentId")  # its token checked
    compiles.clear()

    with CaptureQueriesContext(connection) as queries:
        compiled = send("MyOrders", {}, token=second_token, transport="documentId")

    assert answered == [True, True, True]
    assert compiles == []  # no queryset built: the kept texts ran
    assert len(queries) == 3  # the caller, its page of orders, their items
    sent = " ".join(query["sql"] for query in queries)
    assert f"= {second.pk}" in sent or f"{{{second.pk}}}" in sent
    assert to_base64("Order", second_order.pk) in compiled.body.decode()
    normal, again, gave = both_ways(
        answered, lambda: send("MyOrders", {}, token=second_token, transport="documentId")
    )
    assert gave and again == normal == compiled


def test_a_node_is_read_with_its_own_key(customers, answered, compiles):
    (_, first_token, first_order), (_, second_token, second_order) = customers
    for token, order in ((first_token, first_order), (second_token, second_order)):
        send("OrderById", {"id": to_base64("Order", order.pk)}, token=token, transport="query")
    compiles.clear()

    # Another order, another caller: the same texts; someone else's order is null.
    mine = send(
        "OrderById",
        {"id": to_base64("Order", second_order.pk)},
        token=second_token,
        transport="query",
    )
    theirs = send(
        "OrderById",
        {"id": to_base64("Order", first_order.pk)},
        token=second_token,
        transport="query",
    )

    assert compiles == []
    assert to_base64("Order", second_order.pk) in mine.body.decode()
    assert theirs.body == b'{"data":{"node":null}}'
    assert answered[-2:] == [True, True]


def test_each_kind_of_caller_and_each_set_of_variables_has_its_own_text(
    customers, answered, compiles
):
    (_, token, order), _ = customers
    admin = bearer(AdminFactory())
    node = {"id": to_base64("Order", order.pk)}
    for who in (token, admin, None):
        normal, compiled, gave = both_ways(
            answered, lambda who=who: send("OrderById", node, token=who, transport="query")
        )
        assert gave and compiled == normal
    compiles.clear()
    send("MyOrders", {"status": "CONFIRMED"}, token=token, transport="query")
    send("MyOrders", {"status": "PENDING"}, token=token, transport="query")

    assert len(compiles) >= 2 * 3  # each status: the caller, its page, their items
    orders = [sql for sql in compiles if '"orders_order"."status" =' in sql]
    assert len(orders) >= 2


def test_variables_that_could_pass_for_a_key_are_built_per_request(answered, compiles):
    admin = bearer(AdminFactory())
    sentinel_like = {"search": str(statements.VIEWER_KEY)}
    send("AdminUsers", sentinel_like, token=admin, transport="query")
    compiles.clear()

    normal, compiled, gave = both_ways(
        answered, lambda: send("AdminUsers", sentinel_like, token=admin, transport="query")
    )

    assert gave and compiled == normal
    assert compiles  # built again, not bound


def test_keys_inside_the_text_or_another_parameter_are_not_bound():
    sentinels = Keys(viewer=1, node=2, parents=[3, 4]).sentinels()
    viewer, node = statements.VIEWER_KEY, statements.NODE_KEY
    parents = list(sentinels.parents)

    found = statements.holes(
        "a = %s AND b = %s AND c = ANY(%s)", [viewer, node, parents], sentinels
    )
    assert found == ((0, "viewer", None), (1, "node", None), (2, "parents", None))
    assert statements.holes("c IN (%s, %s)", parents, sentinels) == (
        (0, "parents", 0),
        (1, "parents", 1),
    )
    with pytest.raises(Unbindable):
        statements.holes(f"a = {viewer}", [], sentinels)
    with pytest.raises(Unbindable):
        statements.holes("a = ANY(%s)", [[viewer, 5]], sentinels)


def test_keys_other_than_integers_are_not_bound():
    assert Keys(viewer=1, parents=[2, 3]).bindable()
    assert not Keys(viewer=1, parents=["a"]).bindable()
    assert not Keys(viewer=1, bind=False).bindable()


def test_the_statements_kept_are_bounded(customers, answered, monkeypatch):
    monkeypatch.setattr(statements, "KEPT", 4)
    (_, token, _), _ = customers
    for status in ("PENDING", "CONFIRMED", "FAILED", "CANCELLED"):
        send("MyOrders", {"status": status}, token=token, transport="query")

    assert len(statements._kept.statements) == 4


def test_a_rule_reading_more_of_the_caller_is_built_per_request(
    customers, answered, compiles, monkeypatch
):
    from apps.orders.models import OrderQuerySet

    original = OrderQuerySet.visible_to

    def by_email(self, viewer):
        assert viewer.email  # more than the stand-in has
        return original(self, viewer)

    monkeypatch.setattr(OrderQuerySet, "visible_to", by_email)
    (_, token, order), _ = customers
    node = {"id": to_base64("Order", order.pk)}
    send("OrderById", node, token=token, transport="query")
    compiles.clear()

    normal, compiled, gave = both_ways(
        answered, lambda: send("OrderById", node, token=token, transport="query")
    )

    assert gave and compiled == normal
    assert to_base64("Order", order.pk) in compiled.body.decode()
    assert any('"orders_order"' in sql for sql in compiles)  # the order's read built again
