"""The planned executor answers exactly what graphql-core alone answers.

Two proofs over every contract operation:
- queries run both ways on the same data give byte-identical responses, errors included;
- every operation (mutations and the subscription too) runs once under an executor that,
  for each field it reads inline, also resolves that field through graphql-core and
  records any difference.
"""

import asyncio
from decimal import Decimal

import pytest
import strawberry
from channels.testing import WebsocketCommunicator
from graphql.pyutils import Path
from strawberry.relay import to_base64
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from apps.users import tokens
from backend.asgi import application
from schema.core import execution
from schema.core.execution import FALLBACK, Plan, PlannedExecutor, plan_of
from schema.core.operations import operation, operation_names
from schema.schema import schema
from tests.conftest import post_graphql
from tests.factories import (
    PASSWORD,
    AdminFactory,
    ProductFactory,
    UserFactory,
    order_with_items,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def executed(settings):
    """Every query executes here: compiled operations (tests/schema/test_compiled.py) would
    answer the contract's queries without the executor under test."""
    settings.GRAPHQL_COMPILED_OPERATIONS = False


@pytest.fixture
def shop():
    products = [ProductFactory(price=Decimal("2.50") * (n + 1)) for n in range(4)]
    ProductFactory(is_active=False)
    admin = AdminFactory()
    customer = UserFactory(name="Ada")
    for n in range(3):
        order_with_items(user=customer, products=products[n : n + 2], quantity=n + 1)
    order_with_items(user=admin, products=products[:1])
    return {"admin": admin, "customer": customer, "products": products}


def query_cases(shop) -> list[tuple[str, dict, object]]:
    admin, customer = shop["admin"], shop["customer"]
    order = customer.orders.order_by("pk").first()
    return [
        ("AdminUsers", {"first": 2}, admin),
        ("AdminUsers", {"search": "ada", "role": "USER"}, admin),
        ("AdminUsers", {}, customer),  # FORBIDDEN
        ("AdminUsersWithOrders", {"first": 5, "ordersFirst": 2}, admin),
        ("AdminOrders", {"first": 3}, admin),
        ("AdminOrders", {"status": "FAILED"}, admin),  # an empty page
        ("Me", {}, customer),
        ("Me", {}, None),
        ("Catalog", {"first": 3, "ordering": [{"price": "DESC"}]}, None),
        ("Catalog", {"first": 101}, None),  # BAD_USER_INPUT
        ("MyOrders", {"first": 2}, customer),
        ("OrderById", {"id": to_base64("Order", order.pk)}, customer),
        ("OrderById", {"id": to_base64("Order", order.pk)}, admin),
        ("OrderById", {"id": "not an id"}, customer),
    ]


def test_a_setting_turns_the_planned_executor_off(settings):
    from schema import schema as schema_module

    assert schema_module.execution_context_class() is PlannedExecutor
    settings.GRAPHQL_PLANNED_EXECUTOR = False
    assert schema_module.execution_context_class() is StrawberryGraphQLCoreExecutionContext


def test_every_contract_query_answers_byte_for_byte_the_same_both_ways(shop, monkeypatch):
    cases = query_cases(shop)
    assert {name for name, _, _ in cases} == {
        name for name in operation_names() if operation(name).startswith("query")
    }

    for name, variables, user in cases:
        planned = post_graphql(operation(name), variables, user=user)
        monkeypatch.setattr(PlannedExecutor, "use_plans", False)
        plain = post_graphql(operation(name), variables, user=user)
        monkeypatch.setattr(PlannedExecutor, "use_plans", True)

        assert planned == plain, name


class DifferentialExecutor(PlannedExecutor):
    """Reads inline as the planned executor does, and checks each read against graphql-core."""

    checked: list[tuple[str, str]] = []
    differences: list[tuple[str, str, object, object]] = []

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position):
        results = super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position
        )
        if path is None or not isinstance(results, dict):
            return results
        planned = plan_of(parent_type)
        pending = []
        for response_name, field_details_list in grouped_field_set.items():
            name = field_details_list[0].node.name.value
            leaf, composite = planned.leaves.get(name), planned.composites.get(name)
            if leaf is not None and leaf(source_value) is FALLBACK:
                continue
            if leaf is None and (composite is None or self.falls_back(composite, source_value)):
                continue
            # The resolver's answer, through graphql-core alone.
            expected = StrawberryGraphQLCoreExecutionContext.execute_field(
                self,
                parent_type,
                source_value,
                field_details_list,
                Path(path, response_name, parent_type.name),
                position,
            )
            self.checked.append((parent_type.name, response_name))
            if self.is_awaitable(expected):  # in an async context strawberry-django defers
                pending.append((response_name, expected))
            else:
                self.compare(parent_type.name, response_name, results[response_name], expected)
        if not pending:
            return results

        async def compare_awaited() -> dict:
            for response_name, expected in pending:
                value = await expected
                self.compare(parent_type.name, response_name, results[response_name], value)
            return results

        return compare_awaited()

    @staticmethod
    def falls_back(getter, row) -> bool:
        """Whether the planned executor leaves this field to its resolver."""
        try:
            return getter(row) is None
        except Exception:
            return True

    def compare(self, type_name: str, field: str, read: object, expected: object) -> None:
        if read != expected or type(read) is not type(expected):
            self.differences.append((type_name, field, read, expected))


@pytest.fixture
def differential(monkeypatch):
    monkeypatch.setattr(DifferentialExecutor, "checked", [])
    monkeypatch.setattr(DifferentialExecutor, "differences", [])
    monkeypatch.setattr(schema, "execution_context_class", DifferentialExecutor)
    return DifferentialExecutor


def mutation_cases(shop) -> list[tuple[str, dict, object]]:
    admin, customer, products = shop["admin"], shop["customer"], shop["products"]
    refresh = tokens.token_obtain(
        email=customer.email, password=PASSWORD, client_address="127.0.0.1"
    ).refresh_token
    other_refresh = tokens.token_obtain(
        email=customer.email, password=PASSWORD, client_address="127.0.0.1"
    ).refresh_token
    pending = order_with_items(user=customer, products=products[:1], status="pending")
    return [
        ("Register", {"input": {"email": "new@x.io", "name": "New", "password": PASSWORD}}, None),
        ("ObtainToken", {"email": customer.email, "password": PASSWORD}, None),
        ("RefreshToken", {"refreshToken": refresh}, None),
        ("RevokeToken", {"refreshToken": other_refresh}, None),
        ("UpdateProfile", {"input": {"name": "Ada L."}}, customer),
        ("DeactivateUser", {"id": to_base64("User", UserFactory().pk)}, admin),
        (
            "CreateProduct",
            {"input": {"sku": "NEW-1", "name": "New", "price": "9.99", "stock": 3}},
            admin,
        ),
        (
            "UpdateProduct",
            {"input": {"id": to_base64("Product", products[0].pk), "price": "3.10"}},
            admin,
        ),
        (
            "PlaceOrder",
            {"items": [{"productId": to_base64("Product", products[1].pk), "quantity": 1}]},
            customer,
        ),
        (
            "PlaceOrderOnce",
            {
                "items": [{"productId": to_base64("Product", products[2].pk), "quantity": 2}],
                "idempotencyKey": "retry-1",
            },
            customer,
        ),
        ("CancelOrder", {"id": to_base64("Order", pending.pk)}, customer),
    ]


def test_every_inline_read_of_every_contract_operation_equals_graphql_core(shop, differential):
    queries, mutations = query_cases(shop), mutation_cases(shop)
    assert {name for name, _, _ in queries + mutations} | {"WatchOrder"} == set(operation_names())

    reads: dict[str, int] = {}
    for name, variables, user in queries + mutations:
        before = len(differential.checked)
        post_graphql(operation(name), variables, user=user)
        reads[name] = reads.get(name, 0) + len(differential.checked) - before

    # revokeToken answers a Boolean at the root, which is graphql-core's to resolve.
    assert {name for name, count in reads.items() if count == 0} == {"RevokeToken"}
    assert differential.differences == []
    read = set(differential.checked)
    for type_name in ("User", "Order", "OrderItem", "Product", "PageInfo", "TokenPair"):
        assert any(t == type_name for t, _ in read), type_name


@pytest.mark.django_db(transaction=True)
def test_the_subscriptions_first_event_reads_the_same_inline(differential):
    customer = UserFactory()
    order = order_with_items(user=customer, products=[ProductFactory()])
    token = tokens.token_obtain(
        email=customer.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token

    async def first_event() -> dict:
        ws = WebsocketCommunicator(application, "/graphql/", subprotocols=["graphql-transport-ws"])
        connected, _ = await ws.connect()
        assert connected
        await ws.send_json_to(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        assert (await ws.receive_json_from())["type"] == "connection_ack"
        variables = {"id": to_base64("Order", order.pk)}
        await ws.send_json_to(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": operation("WatchOrder"), "variables": variables},
            }
        )
        message = await ws.receive_json_from(timeout=5)
        await ws.disconnect()
        return message["payload"]

    payload = asyncio.run(first_event())

    assert payload["data"]["orderUpdated"]["id"] == to_base64("Order", order.pk)
    assert ("Order", "status") in differential.checked
    assert differential.differences == []


def test_fields_with_resolvers_arguments_or_relations_are_not_planned():
    user = execution.plan(schema._schema.get_type("User"))
    order = execution.plan(schema._schema.get_type("Order"))
    query = execution.plan(schema._schema.query_type)

    assert {"id", "email", "orderCount", "__typename"} <= set(user.leaves)
    assert "orders" not in user.leaves | user.composites  # a connection, with arguments
    assert set(order.composites) == {"items", "user"}
    assert not {"me", "users"} & set(query.leaves | query.composites)  # resolvers


def test_the_differential_check_catches_a_wrong_read(shop, differential, monkeypatch):
    product_type = schema._schema.get_type("Product")
    planned = plan_of(product_type)
    wrong = Plan(leaves={**planned.leaves, "name": lambda row: "not the name"})
    monkeypatch.setitem(execution._plans, product_type, wrong)

    post_graphql(operation("Catalog"), {"first": 1})

    # Found once per way the product is reached (its own read, and within each edge checked).
    assert {(t, f, read) for t, f, read, _ in differential.differences} == {
        ("Product", "name", "not the name")
    }


@strawberry.type
class Part:
    name: str

    @strawberry.field
    def serial(self) -> str:
        if self.name == "broken":
            raise ValueError("No serial.")
        return self.name.upper()


@strawberry.type
class Box:
    parts: list[Part]
    optional_parts: list[Part] | None


@strawberry.type
class Shelf:
    @strawberry.field
    def box(self) -> Box:
        parts = [Part(name="a"), Part(name="broken"), Part(name="c")]
        return Box(parts=parts, optional_parts=parts)

    @strawberry.field
    def boxes(self) -> list[Box | None]:
        return [Box(parts=[Part(name="a")], optional_parts=None), None]


SHELF = strawberry.Schema(query=Shelf, execution_context_class=PlannedExecutor)


@pytest.mark.parametrize(
    "document",
    [
        "{ box { parts { name serial } } }",  # the error nulls the whole non-null chain
        "{ box { optionalParts { name serial } } }",  # ... up to the nullable list
        "{ box { parts { name } optionalParts { serial } } }",
        "{ boxes { __typename parts { name } optionalParts { name } } }",
        "{ box { a: parts { name } b: parts { n: name } } }",
    ],
)
def test_errors_and_nulls_inside_lists_come_out_as_graphql_core_gives_them(document, monkeypatch):
    planned = SHELF.execute_sync(document)
    monkeypatch.setattr(PlannedExecutor, "use_plans", False)
    plain = SHELF.execute_sync(document)

    assert planned.data == plain.data
    assert [e.formatted for e in planned.errors or []] == [e.formatted for e in plain.errors or []]
    assert "parts" in execution.plan_of(SHELF._schema.get_type("Box")).composites
