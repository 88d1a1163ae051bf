"""A bounded property-based fuzz of the live endpoint, from the checked-in schema.graphql.

hypothesis-graphql builds queries and mutations (arguments as literals) from the SDL; each
one goes over real HTTP to pytest-django's live server, once as an anonymous caller and once
as an ADMIN with a Bearer token, against a little seeded data. Whatever the document, the
response must keep the contract's error model: no 5xx, a JSON body, every error with one of
the contract's `extensions.code` values (INTERNAL_SERVER_ERROR counts as a failure: it means
an unexpected exception), and nothing like a traceback or SQL in any message.

The runs are derandomized (same examples every time) and bounded for CI. A failure prints the
document, the response and the traceback the server logged for the masked error.
"""

from __future__ import annotations

import json
import logging
import traceback
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    EnumValueNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    NameNode,
    NullValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    get_named_type,
    print_ast,
    visit,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, mutations, nodes, queries
from strawberry.relay import to_base64

from apps.users.tokens import token_obtain
from tests.factories import (
    PASSWORD,
    AdminFactory,
    ProductFactory,
    UserFactory,
    order_with_items,
)
from tests.fuzz.contract import contract_violations
from tests.hypothesis_settings import SETTINGS

SCHEMA = build_schema((Path(__file__).resolve().parents[2] / "schema.graphql").read_text())

# Examples per (operation kind, caller): 2 x (150 + 150 + 40) = 680 requests in all.
EXAMPLES = {"queries": 150, "mutations": 150, "negative": 40}

pytestmark = pytest.mark.django_db(transaction=True)


# --- seeded data and callers --------------------------------------------------------------


@dataclass
class Seed:
    product_ids: list[str]
    order_ids: list[str]
    user_ids: list[str]
    admin_email: str
    admin_token: str

    @property
    def ids(self) -> list[str]:
        return self.product_ids + self.order_ids + self.user_ids


@pytest.fixture
def seed(transactional_db) -> Seed:
    admin = AdminFactory()
    customer = UserFactory()
    UserFactory(is_active=False)
    products = [
        ProductFactory(price=Decimal("19.90"), stock=5),
        ProductFactory(price=Decimal("0.01"), stock=0),
        ProductFactory(price=Decimal("1000.00"), stock=1000),
        ProductFactory(is_active=False),
    ]
    orders = [
        order_with_items(user=customer, products=products[:2]),
        order_with_items(user=admin, products=products[2:3], quantity=3),
    ]
    return Seed(
        product_ids=[to_base64("Product", p.pk) for p in products],
        order_ids=[to_base64("Order", o.pk) for o in orders],
        user_ids=[to_base64("User", u.pk) for u in (admin, customer)],
        admin_email=admin.email,
        admin_token=token_obtain(
            email=admin.email, password=PASSWORD, client_address="127.0.0.1"
        ).access_token,
    )


# --- scalar strategies: mostly plausible values, some wrong ones --------------------------


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
AWKWARD = ["", " ", "%", "_", "\\", "'", '"', "a" * 101, "x" * 300, "\u202e", "\U0001f600"]


def _id_strategy(seed: Seed) -> st.SearchStrategy:
    """Real global ids (so queries hit rows), ids of other types or missing rows, and junk."""
    well_formed = st.builds(
        to_base64, st.sampled_from(["Product", "Order", "User", "Nope"]), st.integers(-1, 10**6)
    )
    return st.one_of(
        st.sampled_from(seed.ids),
        well_formed,
        TEXT,
        st.builds(to_base64, TEXT, TEXT),
    ).map(nodes.String)


MONEY = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["0", "-1", "10", "1e3", "1.001", "NaN", "Infinity", "", " 5 ", "1_0"]),
    TEXT,
).map(nodes.String) | st.integers(-(2**31), 2**31 - 1).map(nodes.Int)

DATETIME = st.one_of(
    st.datetimes(
        timezones=st.integers(-14, 14).map(lambda hours: timezone(timedelta(hours=hours)))
    ).map(datetime.isoformat),
    st.datetimes().map(datetime.isoformat),
    TEXT,
).map(nodes.String)


def _string_strategy(seed: Seed) -> st.SearchStrategy:
    """Any text, awkward text, and values the services take: emails, passwords, SKUs."""
    return st.one_of(
        TEXT,
        st.sampled_from(AWKWARD),
        st.emails().map(str.upper) | st.emails(),
        st.sampled_from([seed.admin_email, seed.admin_email.upper(), PASSWORD, "SKU-00001"]),
    ).map(nodes.String)


class _OneOfInputs(Visitor):
    """Keeps one non-null field of each @oneOf input object, which the generator ignores."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info

    def enter_object_value(self, node: ObjectValueNode, *_):
        type_ = get_named_type(self.type_info.get_input_type())
        if not (isinstance(type_, GraphQLInputObjectType) and type_.is_one_of):
            return None
        fields = [f for f in node.fields if not isinstance(f.value, NullValueNode)][:1]
        if not fields:  # all null or empty: the first enum field, at its first value
            name, field = next(
                (name, field)
                for name, field in type_.fields.items()
                if isinstance(get_named_type(field.type), GraphQLEnumType)
            )
            value = EnumValueNode(value=next(iter(get_named_type(field.type).values)))
            fields = [ObjectFieldNode(name=NameNode(value=name), value=value)]
        return ObjectValueNode(fields=tuple(fields))


def _with_one_of_inputs(document: DocumentNode) -> str:
    type_info = TypeInfo(SCHEMA)
    return print_ast(visit(document, TypeInfoVisitor(type_info, _OneOfInputs(type_info))))


def _strategy(kind: str, seed: Seed) -> st.SearchStrategy[str]:
    custom_scalars = {
        "ID": _id_strategy(seed),
        "String": _string_strategy(seed),
        "Decimal": MONEY,
        "DateTime": DATETIME,
    }
    if kind == "negative":
        # Documents with one schema violation: refused before execution, never a 500.
        return from_schema(SCHEMA, custom_scalars=custom_scalars, mode=Mode.NEGATIVE)
    generate = queries if kind == "queries" else mutations
    documents = generate(SCHEMA, custom_scalars=custom_scalars, print_ast=lambda doc: doc)
    return documents.map(_with_one_of_inputs)


# --- the request and what the server logged for it ----------------------------------------


class ServerLog(logging.Handler):
    """Error records of the live server (same process, another thread) during one request."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        parts = []
        for record in self.records:
            parts.append(f"[{record.name}] {record.getMessage()}")
            if record.exc_info:
                parts.append("".join(traceback.format_exception(*record.exc_info)))
        return "\n".join(parts) or "(nothing logged)"


@pytest.fixture
def server_log():
    handler = ServerLog()
    loggers = [logging.getLogger(name) for name in ("schema.core.errors", "django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def post(url: str, document: str, token: str | None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"query": document, "variables": {}}).encode()
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- the fuzz -----------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["anonymous", "admin"])
@pytest.mark.parametrize("kind", ["queries", "mutations", "negative"])
def test_generated_operations_keep_the_error_contract(
    kind, caller, live_server, seed, server_log
) -> None:
    url = f"{live_server.url}/graphql/"
    token = seed.admin_token if caller == "admin" else None

    @settings(max_examples=EXAMPLES[kind], **SETTINGS)
    @given(document=_strategy(kind, seed))
    def check(document: str) -> None:
        server_log.records.clear()
        status, body = post(url, document, token)
        problems = contract_violations(status, body)
        assert not problems, (
            f"{caller} {kind}: " + "; ".join(problems) + f"\n--- document\n{document}"
            f"\n--- response {status}\n{body.decode(errors='replace')[:4000]}"
            f"\n--- server log\n{server_log.text()}"
        )

    check()
