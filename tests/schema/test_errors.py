"""Every error a client can meet carries the contract's `extensions.code`."""

import logging

import pytest

from apps.orders import selectors as order_selectors
from tests.conftest import error_codes
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_parse_failure(graphql):
    result = graphql("{ products { ")
    assert error_codes(result) == ["GRAPHQL_PARSE_FAILED"]
    assert "data" not in result or result["data"] is None


def test_validation_failure(graphql):
    result = graphql("{ products { noSuchField } }")
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]


def test_missing_variable_is_bad_user_input(graphql):
    result = graphql("query ($id: ID!) { node(id: $id) { id } }")
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["extensions"]["fields"] == {"id": [result["errors"][0]["message"]]}


def test_a_variable_of_the_wrong_type_names_the_input_field_it_failed_at(graphql):
    document = """mutation ($items: [OrderItemInput!]!) {
      createOrder(input: {items: $items}) { id }
    }"""
    line = {"productId": "UHJvZHVjdDox", "quantity": 1}
    for items in ([line, line | {"quantity": "two"}], [line, {"productId": "UHJvZHVjdDox"}]):
        result = graphql(document, {"items": items})
        assert error_codes(result) == ["BAD_USER_INPUT"]
        assert list(result["errors"][0]["extensions"]["fields"]) == ["quantity"]


def test_a_top_level_variable_of_the_wrong_type_names_the_variable(graphql):
    result = graphql(
        "query ($first: Int) { products(first: $first) { totalCount } }", {"first": "x"}
    )
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert list(result["errors"][0]["extensions"]["fields"]) == ["first"]


def test_malformed_global_id_literal_is_bad_user_input(graphql):
    result = graphql('{ node(id: "not-a-global-id") { id } }')
    assert error_codes(result) == ["BAD_USER_INPUT"]


def test_unexpected_errors_are_masked_and_logged_with_the_request_id(graphql, monkeypatch, caplog):
    order = OrderFactory()

    def broken():
        raise RuntimeError('relation "orders_order" does not exist: SELECT secret FROM x')

    monkeypatch.setattr(order_selectors, "item_count_by_order", broken)
    with caplog.at_level(logging.ERROR, logger="schema.core.errors"):
        result = graphql("{ orders { edges { node { itemCount } } } }", user=order.user)

    (error,) = result["errors"]
    assert error["message"] == "Internal server error."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "SELECT" not in str(result)
    request_id = error["extensions"]["requestId"]
    (record,) = [r for r in caplog.records if r.name == "schema.core.errors"]
    assert request_id in record.getMessage()
    assert "SELECT secret" in str(record.exc_info[1])


def test_parse_failures_keep_their_code_when_repeated(graphql):
    """The parsed-document cache must not swallow the code of a document that fails."""
    for _ in range(2):
        assert error_codes(graphql("{ me { ")) == ["GRAPHQL_PARSE_FAILED"]
    for _ in range(2):
        assert error_codes(graphql("{ me { nope } }")) == ["GRAPHQL_VALIDATION_FAILED"]


def test_introspection_is_disabled_where_settings_say_so(settings):
    from strawberry.extensions import DisableIntrospection

    from schema.schema import schema_extensions

    settings.GRAPHQL_INTROSPECTION = False
    assert DisableIntrospection in schema_extensions()
    settings.GRAPHQL_INTROSPECTION = True
    assert DisableIntrospection not in schema_extensions()


def test_an_error_raised_inside_an_extension_is_masked_too(client, monkeypatch):
    from schema.core.limits import NodeCounter

    def broken(self, *args):
        raise RuntimeError("SELECT secret FROM somewhere")

    monkeypatch.setattr(NodeCounter, "count", broken)
    response = client.post(
        "/graphql/", {"query": "{ products { totalCount } }"}, content_type="application/json"
    )
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"] == response["X-Request-ID"]
    assert "SELECT" not in response.content.decode()
