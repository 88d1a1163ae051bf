"""Compiled operations (schema.core.compiled) answer exactly what the normal path answers.

- The differential test: every compiled operation, for every caller (anonymous, a USER who owns
  the data, another USER, an ADMIN, a bad token), over generated data (users with and without
  orders, inactive products and users, null failure reasons, ties in every ordering, text
  that JSON escapes) and generated variables (page sizes, cursors, orderings, filters, values
  of the wrong type), sent every way a client sends a trusted document: the same status,
  headers and bytes as with GRAPHQL_COMPILED_OPERATIONS off; and the compiled path answers
  exactly the requests that the normal path answers with data and no errors.
- A planted wrong read makes the differential test fail.
- Refusals, errors and limits are the normal path's answers; each operation runs within the
  SQL budget the normal path has; the setting turns the compiled path off; the encoder writes
  the view's bytes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.test import Client, override_settings
from django.urls import resolve
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from strawberry.relay import to_base64

from apps.catalog.models import Product
from apps.orders.models import Order, OrderStatus
from apps.users import tokens
from apps.users.models import User
from schema.core import trusted_documents
from schema.core.compiled import CompiledOperations
from schema.core.compiled.encoding import encode
from schema.core.operations import operation
from tests.factories import PASSWORD, AdminFactory, ProductFactory, UserFactory, order_with_items
from tests.hypothesis_settings import SETTINGS
from tests.schema.test_query_budgets import BUDGETS

pytestmark = pytest.mark.django_db


def manifest_queries() -> dict[str, str]:
    """The manifest's query documents by operation name: the apps' own (clients/operations/)
    and the frontend builds' (clients/persisted-documents/)."""
    entries = trusted_documents.entries()
    return {entry.name: entry.body for entry in entries if entry.type == "query"}


DOCUMENTS = manifest_queries()
QUERIES = sorted(DOCUMENTS)
ROLES = ("anonymous", "owner", "other", "admin", "bad token")
TRANSPORTS = ("query", "documentId", "persistedQuery", "GET", "operationName")
EXAMPLES = 30  # per operation, each sent as five callers, both ways

# Text that JSON escapes, or that sorts and matches in surprising ways.
TEXTS = [
    "Ada",
    "ada",
    "Zoë Åberg",
    "名前",
    "😀 smile",
    'O\'Neil "Q" \\ /',
    "tab\tnew\nline\x01",
    "del\x7f",
    "\u2028sep",
]
PRICES = [Decimal("1.00"), Decimal("2.50"), Decimal("10"), Decimal("999.99")]
BASE = datetime(2026, 1, 1, tzinfo=UTC)
# Few distinct times, one with microseconds: ties in every ordering by time.
TIMES = [BASE, BASE, BASE + timedelta(minutes=1), BASE + timedelta(minutes=1, microseconds=123456)]
STATUSES = [status.name for status in OrderStatus]


def compiled_operations() -> CompiledOperations:
    return resolve("/graphql/").func.view_initkwargs["compiled_operations"]


@contextmanager
def rolled_back() -> Iterator[None]:
    """One example's rows, gone afterwards."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- requests ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def succeeded(self) -> bool:
        """Data and no errors: the requests the compiled path is for."""
        if self.status != 200:
            return False
        parsed = json.loads(self.body)
        return "data" in parsed and "errors" not in parsed


def send(name: str, variables: Any, *, token: str | None, transport: str) -> Answer:
    """The whole request, middleware included, as a client sends a trusted document."""
    document = DOCUMENTS[name]
    document_id = trusted_documents.sha256_of(document)
    headers = {"HTTP_X_REQUEST_ID": "compiled-differential"}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    client = Client()
    if transport == "GET":
        response = client.get(
            "/graphql/", {"query": document, "variables": json.dumps(variables)}, **headers
        )
    else:
        body: dict[str, Any] = {"variables": variables}
        if transport == "documentId":
            body["documentId"] = f"sha256:{document_id}"
        elif transport == "persistedQuery":
            body["extensions"] = {"persistedQuery": {"version": 1, "sha256Hash": document_id}}
        else:
            body["query"] = document
            if transport == "operationName":
                body["operationName"] = name
        response = client.post("/graphql/", json.dumps(body), "application/json", **headers)
    kept = tuple(
        (header, value)
        for header, value in sorted(response.headers.items())
        if header != "X-Request-Duration"
    )
    return Answer(response.status_code, kept, response.content)


def both_ways(answered: list[bool], request: Callable[[], Answer]) -> tuple[Answer, Answer, bool]:
    """The normal path's answer, the compiled path's, and whether the compiled path gave it."""
    with override_settings(GRAPHQL_COMPILED_OPERATIONS=False):
        normal = request()
    calls = len(answered)
    compiled = request()
    return normal, compiled, len(answered) > calls and answered[-1]


# --- generated data and variables ----------------------------------------------------------


@dataclasses.dataclass
class Shop:
    admin: User
    owner: User
    other: User
    tokens: dict[str, str | None]
    products: list[Product]
    orders: list[Order]
    users: list[User]


texts = st.sampled_from(TEXTS)
times = st.sampled_from(TIMES)


def build_shop(draw: Callable) -> Shop:
    """Products (some inactive, prices and names tied), users (some inactive, times tied), and
    orders (0 to 3 per user, any status, items of any product)."""
    products = [
        ProductFactory(
            name=draw(texts),
            description=draw(st.sampled_from(["", *TEXTS])),
            price=draw(st.sampled_from(PRICES)),
            stock=draw(st.integers(0, 2)),
            is_active=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(1, 4)))
    ]
    admin = AdminFactory(name=draw(texts), date_joined=draw(times))
    owner = UserFactory(name=draw(texts), date_joined=draw(times))
    other = UserFactory(name=draw(texts), date_joined=draw(times))
    extra = [
        (AdminFactory if draw(st.booleans()) else UserFactory)(
            name=draw(texts), date_joined=draw(times), is_active=draw(st.booleans())
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    users = [admin, owner, other, *extra]
    for user in users:
        for _ in range(draw(st.integers(0, 3))):
            status = draw(st.sampled_from(list(OrderStatus)))
            reason = draw(st.one_of(st.none(), texts)) if status == OrderStatus.FAILED else None
            chosen = draw(st.lists(st.sampled_from(products), min_size=1, max_size=3, unique=True))
            order = order_with_items(
                user=user,
                products=chosen,
                quantity=draw(st.integers(1, 3)),
                status=status,
                failure_reason=reason,
            )
            Order.objects.filter(pk=order.pk).update(created_at=draw(times), updated_at=draw(times))
    bearer = {
        role: tokens.token_obtain(
            email=user.email, password=PASSWORD, client_address="127.0.0.1"
        ).access_token
        for role, user in (("owner", owner), ("other", other), ("admin", admin))
    }
    return Shop(
        admin=admin,
        owner=owner,
        other=other,
        tokens={"anonymous": None, "bad token": "not-a-token", **bearer},
        products=list(Product.objects.order_by("pk")),  # as stored: prices with two decimals
        orders=list(Order.objects.order_by("pk")),
        users=list(User.objects.order_by("pk")),
    )


def cursor(*values: Any) -> str:
    """A keyset cursor over `values`, written as the connections write theirs."""
    written = [value.isoformat() if isinstance(value, datetime) else str(value) for value in values]
    return to_base64("orderedcursor", json.dumps(written, separators=(",", ":")))


GARBAGE_CURSORS = ["", "not a cursor", to_base64("orderedcursor", "[1]"), to_base64("other", "[]")]


def mostly(valid: list, refused: list) -> st.SearchStrategy:
    """One of `valid` (None: not given), or now and then one of `refused`."""
    return st.sampled_from(valid * 3 + refused)


page_sizes = mostly([2, 1, 3, None, 0, 100], [101, -1, "2"])


def after(draw: Callable, rows: list, values: Callable[[Any], tuple]) -> str | None:
    """No cursor, a cursor at one of `rows` (in the ordering `values` gives), or garbage."""
    kind = draw(st.sampled_from(["none", "none", "row", "row", "garbage"]))
    if kind == "row" and rows:
        return cursor(*values(draw(st.sampled_from(rows))))
    if kind == "garbage":
        return draw(st.sampled_from(GARBAGE_CURSORS))
    return None


# Catalog's orderings, and the values of a product's cursor in each (None: refused anyway).
CATALOG_ORDERINGS: list[tuple[Any, Callable[[Product], tuple] | None]] = [
    (None, lambda p: (p.pk,)),
    ([], lambda p: (p.pk,)),
    ([{"name": "ASC"}], lambda p: (p.name, p.pk)),
    ([{"price": "DESC"}, {"name": "ASC"}], lambda p: (p.price, p.name, p.pk)),
    ([{"sku": "DESC_NULLS_LAST"}], lambda p: (p.sku, p.pk)),
    ([{"name": "ASC", "price": "ASC"}], None),  # two keys in one: BAD_USER_INPUT
]


def variables_for(name: str, shop: Shop, draw: Callable) -> dict[str, Any]:
    """Variables for one operation, present or absent, valid or not."""
    given: dict[str, Any] = {}

    def maybe(key: str, strategy: st.SearchStrategy) -> None:
        value = draw(strategy)
        if value is not None:
            given[key] = value

    if name == "Catalog":
        ordering, values = draw(st.sampled_from(CATALOG_ORDERINGS))
        if ordering is not None:
            given["ordering"] = ordering
        maybe("first", page_sizes)
        maybe("after", st.just(after(draw, shop.products, values or (lambda p: (p.pk,)))))
        maybe("search", mostly([None, None, "", "a", "ë", "名", "zz"], ["\x00"]))
        maybe("inStock", st.sampled_from([None, True, False]))
    elif name in ("AdminUsers", "AdminUsersPage"):
        maybe("first", page_sizes)
        maybe("after", st.just(after(draw, shop.users, lambda u: (u.date_joined, u.pk))))
        if name == "AdminUsersPage":  # backwards too, or both ways at once
            maybe("last", page_sizes)
            maybe("before", st.just(after(draw, shop.users, lambda u: (u.date_joined, u.pk))))
        maybe("role", mostly([None, None, "USER", "ADMIN"], ["ROOT"]))
        maybe("isActive", st.sampled_from([None, True, False]))
        maybe("search", mostly([None, None, "", "ad", "ë", "example.com"], ["\x00"]))
    elif name == "AdminUsersWithOrders":
        maybe("first", mostly([2, 1, 5, 0], [None, 100, 101]))
        maybe("ordersFirst", mostly([2, 1, 100, 0], [None, 101, "1"]))
    elif name == "AdminOrders":
        maybe("first", page_sizes)
        maybe("after", st.just(after(draw, shop.orders, lambda o: (o.created_at, o.pk))))
        maybe("status", mostly([None, None, *STATUSES], ["NOPE"]))
        moments = [None, None, *(t.isoformat() for t in TIMES)]
        maybe("createdAfter", mostly(moments, ["2026-01-01T00:00:00", "garbage"]))
        maybe("createdBefore", mostly(moments, ["2026-01-01T00:00:00"]))
    elif name == "MyOrders":
        maybe("first", page_sizes)
        maybe("after", st.just(after(draw, shop.orders, lambda o: (o.created_at, o.pk))))
        maybe("status", mostly([None, None, *STATUSES], ["NOPE"]))
    elif name == "OrderById":
        ids = [to_base64("Order", order.pk) for order in shop.orders]
        ids += [to_base64("Product", shop.products[0].pk), to_base64("User", shop.owner.pk)]
        ids += [to_base64("Order", 2**70)]  # past any key: null, compiled
        refused = ["not an id", to_base64("Order", "x"), 5, to_base64("PageInfo", 1)]
        maybe("id", mostly(ids, [None, *refused]))
    elif name == "Me":
        maybe("unused", st.sampled_from([None, 1]))
    else:
        raise AssertionError(f"no variables for {name}")
    return given


def check_operation(name: str, data: st.DataObject, answered: list[bool]) -> None:
    """One generated shop and request, every caller, both ways."""
    with rolled_back():
        shop = build_shop(data.draw)
        variables = variables_for(name, shop, data.draw)
        transport = data.draw(st.sampled_from(TRANSPORTS))
        for role in ROLES:
            normal, compiled, gave = both_ways(
                answered,
                lambda role=role: send(
                    name, variables, token=shop.tokens[role], transport=transport
                ),
            )
            assert compiled == normal, (role, variables, transport)
            assert gave == normal.succeeded(), (role, variables, transport, normal.body[:300])


@pytest.mark.parametrize("name", QUERIES)
@settings(max_examples=EXAMPLES, **SETTINGS)
@given(data=st.data())
def test_every_compiled_operation_answers_the_normal_paths_bytes(name, data, answered):
    check_operation(name, data, answered)


def test_every_query_of_the_manifest_is_compiled():
    plans = compiled_operations().plans
    assert sorted(plan.name for plan in plans.values()) == QUERIES
    assert all(body == DOCUMENTS[plan.name] for body, plan in plans.items())


# --- a planted wrong read ------------------------------------------------------------------


def planted(plans: dict, name: str, edit: Callable) -> dict:
    """`plans` with `name`'s first field's node read edited (`edit(read) -> read`)."""
    body = operation(name)
    plan = plans[body]
    (key, connection), *rest = plan.fields
    wrong = dataclasses.replace(connection, node=edit(connection.node))
    return {**plans, body: dataclasses.replace(plan, fields=((key, wrong), *rest))}


def name_read_from_sku(read):
    """Product.name read from the sku's column."""
    shape = read.shape
    columns = list(shape.columns)
    columns[shape.keys.index("name")] = read.columns.index("sku")
    return dataclasses.replace(read, shape=dataclasses.replace(shape, columns=tuple(columns)))


def test_the_differential_test_catches_a_planted_wrong_read(answered, monkeypatch):
    operations = compiled_operations()
    monkeypatch.setattr(
        operations, "plans", planted(operations.plans, "Catalog", name_read_from_sku)
    )

    @settings(max_examples=5, phases=[Phase.generate], **SETTINGS)
    @given(data=st.data())
    def differential(data):
        check_operation("Catalog", data, answered)

    with pytest.raises(AssertionError) as failed:
        differential()

    assert "anonymous" in str(failed.value) or "admin" in str(failed.value)
    assert any(answered)  # the compiled path answered, wrongly


# --- the normal path answers refusals, errors and limits --------------------------------


@pytest.fixture
def shop():
    products = [ProductFactory(), ProductFactory(is_active=False)]
    admin, owner, other = AdminFactory(), UserFactory(name="Zoë"), UserFactory()
    order = order_with_items(user=owner, products=products)
    order_with_items(user=other, products=products[:1])
    bearer = {
        user: tokens.token_obtain(
            email=user.email, password=PASSWORD, client_address="127.0.0.1"
        ).access_token
        for user in (admin, owner, other)
    }
    return {
        "admin": bearer[admin],
        "owner": bearer[owner],
        "other": bearer[other],
        "bad token": "not-a-token",
        "order": to_base64("Order", order.pk),
    }


REFUSED = [
    ("AdminOrders", {}, None, "UNAUTHENTICATED"),
    ("AdminUsers", {}, "owner", "FORBIDDEN"),
    ("AdminUsers", {}, "bad token", "UNAUTHENTICATED (a bad token)"),
    ("Catalog", {"first": 101}, None, "BAD_USER_INPUT: page size"),
    ("Catalog", {"first": "2"}, None, "BAD_USER_INPUT: a variable of the wrong type"),
    ("Catalog", {"after": "not a cursor"}, None, "BAD_USER_INPUT: malformed cursor"),
    ("Catalog", {"search": "\x00"}, None, "BAD_USER_INPUT: NUL"),
    ("AdminUsersWithOrders", {"first": 100, "ordersFirst": 100}, "admin", "QUERY_TOO_COMPLEX"),
    ("AdminUsersWithOrders", {"first": 2}, "admin", "BAD_USER_INPUT: a required variable"),
    ("OrderById", {"id": "not an id"}, "owner", "BAD_USER_INPUT: malformed id"),
    ("AdminOrders", {"createdAfter": "2026-01-01T00:00:00"}, "admin", "BAD_USER_INPUT: offset"),
]


@pytest.mark.parametrize(("name", "variables", "role", "why"), REFUSED)
def test_refusals_errors_and_limits_are_the_normal_paths_answers(
    shop, answered, name, variables, role, why
):
    token = shop[role] if role else None
    normal, compiled, gave = both_ways(
        answered, lambda: send(name, variables, token=token, transport="query")
    )

    assert compiled == normal
    assert "errors" in json.loads(compiled.body), why
    assert not gave


def test_an_anonymous_me_is_null_and_compiled(answered):
    normal, compiled, gave = both_ways(
        answered, lambda: send("MyOrders", {}, token=None, transport="query")
    )

    assert compiled == normal
    assert json.loads(compiled.body) == {"data": {"me": None}}
    assert gave


def test_pages_backwards_and_both_ways_are_compiled(shop, answered):
    users = sorted(User.objects.all(), key=lambda u: (u.date_joined, u.pk), reverse=True)
    assert len(users) == 3
    middle = cursor(users[1].date_joined, users[1].pk)
    pages = [
        ({"last": 2}, users[1:]),
        ({"last": 1, "before": middle}, users[:1]),
        ({"first": 2, "last": 1}, users[1:2]),
        ({"first": 1, "before": middle}, users[:1]),
        ({"last": 0}, []),
    ]
    for variables, expected in pages:
        normal, compiled, gave = both_ways(
            answered,
            lambda v=variables: send("AdminUsersPage", v, token=shop["admin"], transport="query"),
        )
        assert gave and compiled == normal, variables
        edges = json.loads(compiled.body)["data"]["users"]["edges"]
        assert [edge["node"]["email"] for edge in edges] == [u.email for u in expected], variables


def test_a_document_other_than_the_manifests_executes(shop, answered):
    document = "query Mine { me { id } }"
    response = Client().post(
        "/graphql/",
        json.dumps({"query": document}),
        "application/json",
        HTTP_AUTHORIZATION=f"Bearer {shop['owner']}",
    )

    assert response.status_code == 200
    assert json.loads(response.content)["data"]["me"]["id"]
    assert answered == [False]


def test_another_operation_name_is_the_normal_paths_to_refuse(shop, answered):
    body = {"query": operation("Catalog"), "operationName": "Other"}
    response = Client().post("/graphql/", json.dumps(body), "application/json")

    assert response.status_code == 400
    assert answered == [False]


def test_the_request_log_line_and_headers_are_the_same(shop, answered, caplog):
    with caplog.at_level(logging.INFO, logger="backend.requests"):
        normal, compiled, gave = both_ways(
            answered,
            lambda: send("OrderById", {"id": shop["order"]}, token=shop["owner"], transport="GET"),
        )

    assert gave
    assert compiled == normal
    lines = [record.getMessage().split(" duration_ms=")[0] for record in caplog.records]
    # Named by the document either way, though the request gave no operationName.
    assert lines == ["GET /graphql/ operation=OrderById status=200"] * 2


# --- SQL budgets, the setting ----------------------------------------------------------------


@pytest.mark.parametrize("name", QUERIES)
def test_each_operation_runs_within_the_normal_paths_sql_budget(
    name, shop, answered, django_assert_num_queries
):
    token = shop["owner"] if name in ("Me", "MyOrders", "OrderById") else shop["admin"]
    variables = {
        "AdminUsersWithOrders": {"first": 5, "ordersFirst": 2},
        "AdminUsersPage": {"last": 2},
        "OrderById": {"id": shop["order"]},
    }.get(name, {})
    # The admin app's pages both ways cost what the app's first page does.
    budgets = {**BUDGETS, "AdminUsersPage": BUDGETS["AdminUsers"]}
    # The token's first check costs one statement (the user with its token family); the
    # process keeps its answer, so the second request runs the operation's alone.
    with (
        override_settings(GRAPHQL_COMPILED_OPERATIONS=False),
        django_assert_num_queries(budgets[name] + 1),
    ):
        normal = send(name, variables, token=token, transport="documentId")
    with django_assert_num_queries(budgets[name]):
        compiled = send(name, variables, token=token, transport="documentId")

    assert answered == [True]
    assert compiled == normal
    assert normal.succeeded()


@pytest.mark.django_db(transaction=True)
def test_catalog_pages_come_from_the_catalogs_cache_until_a_product_changes(
    answered, django_assert_num_queries
):
    cache.clear()
    product = ProductFactory(name="Before")
    catalog = {"first": 1}

    with django_assert_num_queries(2):  # the page and its count, stored
        first = send("Catalog", catalog, token=None, transport="documentId")
    with django_assert_num_queries(0):
        again = send("Catalog", catalog, token=None, transport="documentId")
    with override_settings(GRAPHQL_COMPILED_OPERATIONS=False), django_assert_num_queries(2):
        normal = send("Catalog", catalog, token=None, transport="documentId")
    product.name = "After"
    product.save()
    with django_assert_num_queries(2):
        changed = send("Catalog", catalog, token=None, transport="documentId")

    assert answered == [True, True, True]
    assert first == again == normal
    assert b'"name":"Before"' in first.body
    assert b'"name":"After"' in changed.body


def test_the_setting_turns_the_compiled_path_off(shop, answered, settings):
    settings.GRAPHQL_COMPILED_OPERATIONS = False

    answer = send("Catalog", {"first": 1}, token=None, transport="documentId")

    assert answer.succeeded()
    assert answered == []  # never asked


def test_development_sql_counts_are_executions(shop, answered, settings):
    settings.GRAPHQL_SQL_QUERY_COUNT = True

    answer = send("Catalog", {"first": 1}, token=None, transport="documentId")

    assert answer.succeeded()
    assert answered == []


# --- the encoder -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(value=json_values)
def test_the_encoder_writes_the_views_bytes(value):
    expected = json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":")).encode()

    assert encode(value) == expected


def test_the_encoder_refuses_what_the_view_would_write_otherwise():
    # A lone surrogate (no text from the database holds one): the normal path answers.
    with pytest.raises(orjson.JSONEncodeError):
        encode({"name": "\ud800"})
