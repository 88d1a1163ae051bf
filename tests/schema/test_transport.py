"""Hostile requests through Django's whole stack: each is the client's fault, so each gets a
4xx (or a GraphQL error) in GraphQL's shape with a contract code, and the log gets the
request line and nothing else (no warning, no traceback).

Transport-level cases that need a real server (chunked bodies, a Content-Type Django cannot
parse) are in tests/backend/test_app_servers.py.
"""

import json
import logging
import re
from urllib.parse import quote

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.fuzz.contract import CONTRACT_CODES

pytestmark = pytest.mark.django_db

TYPENAME = "{ __typename }"
SEARCH = "query Search($s: String) { products(filters: {search: $s}) { totalCount } }"
REGISTER = "mutation Register($input: RegisterInput!) { register(input: $input) { id } }"
PLACE_ORDER = "mutation Place($input: CreateOrderInput!) { createOrder(input: $input) { id } }"


@pytest.fixture
def log(caplog):
    with caplog.at_level(logging.INFO):
        yield caplog


def post_raw(client, body: bytes, content_type="application/json", **headers):
    # CONTENT_TYPE set even for an empty body (the test client leaves it out then).
    return client.generic(
        "POST", "/graphql/", body, content_type, headers=headers, CONTENT_TYPE=content_type
    )


def post(client, payload, **headers):
    return post_raw(client, json.dumps(payload).encode(), **headers)


def refusal(response, status: int, field: str | None, log) -> str:
    """Asserts a request error in GraphQL's shape, logged as one clean line; its message."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body.keys() == {"errors"}, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["fields"] == ({field: [error["message"]]} if field else {})
    assert_logged_once(log, status)
    return error["message"]


def assert_logged_once(log, status: int) -> None:
    """The request line, and nothing at WARNING or above, nothing with a traceback."""
    (line,) = [r.getMessage() for r in log.records if r.name == "backend.requests"]
    assert f" status={status} " in line
    loud = [f"{r.name}: {r.getMessage()}" for r in log.records if r.levelno >= logging.WARNING]
    assert loud == []
    assert not any(r.exc_info for r in log.records)


def graphql_error(response, log, *, code: str = "BAD_USER_INPUT") -> dict:
    """A GraphQL-level error (HTTP 200): the document was read and refused, nothing leaked."""
    assert response.status_code == 200, response.content
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code
    if code == "BAD_USER_INPUT":
        assert isinstance(error["extensions"]["fields"], dict)
    assert_logged_once(log, 200)
    return error


# --- the body ---------------------------------------------------------------------------


def test_a_body_that_is_not_utf8_is_400(client, log):
    body = b'{"query": "{ __typename }", "operationName": "\xff\xfe"}'
    message = refusal(post_raw(client, body), 400, "body", log)
    assert "not valid UTF-8" in message


@pytest.mark.parametrize("bracket", ["[]", "{}"])
def test_json_nested_10000_deep_is_400(client, log, bracket):
    opening, closing = bracket
    inner = '"a":' if opening == "{" else ""
    body = (opening + inner) * 10_000 + "1" + closing * 10_000
    message = refusal(post_raw(client, body.encode()), 400, "body", log)
    assert "nested more than 64 levels deep" in message


def test_variables_nested_past_the_limit_are_400_on_the_variable(client, log):
    # Deep enough to pass the JSON decoder, too deep for anything downstream to recurse into.
    value = [[]]
    for _ in range(200):
        value = [value]
    response = post(client, {"query": SEARCH, "variables": {"s": value}})
    refusal(response, 400, "s", log)


def test_variables_at_the_depth_limit_are_read(client, log):
    value: object = "x"
    for _ in range(63):
        value = [value]
    response = post(client, {"query": SEARCH, "variables": {"s": value}})
    # Read, then refused by GraphQL's own coercion: a list is not a String.
    error = graphql_error(response, log)
    assert error["extensions"]["fields"].keys() == {"s"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", "empty"),
        (b"  \n ", "empty"),
        (b"not json", "not valid JSON"),
        (b'{"query": "{ __typename }"', "not valid JSON"),
        (b"[1, 2]", "Batches"),
        (b'[{"query": "{ __typename }"}]', "Batches"),
        (b'"{ __typename }"', "must be a JSON object"),
        (b"1", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"true", "must be a JSON object"),
        (b'\xef\xbb\xbf{"query": "{ __typename }"}', "not valid JSON"),  # a UTF-8 BOM
    ],
    ids=[
        "empty",
        "blank",
        "not json",
        "truncated",
        "array",
        "batch",
        "string",
        "number",
        "null",
        "true",
        "bom",
    ],
)
def test_a_body_that_is_not_one_json_object_is_400(client, log, body, expected):
    assert expected in refusal(post_raw(client, body), 400, "body", log)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (b"9" * 5000, "too many digits"),
        (b"NaN", "NaN is not a JSON value"),
        (b"Infinity", "Infinity is not a JSON value"),
        (b"-Infinity", "-Infinity is not a JSON value"),
    ],
)
def test_numbers_json_cannot_hold_are_400(client, log, number, expected):
    body = b'{"query": "query Q($n: Int) { __typename }", "variables": {"n": ' + number + b"}}"
    assert expected in refusal(post_raw(client, body), 400, "body", log)


@pytest.mark.parametrize("number", ["10000000000000000000000000000000", "1e400", "2147483648"])
def test_huge_numbers_as_int_variables_are_bad_user_input(client, log, number):
    body = '{"query": "query Q($n: Int) { products(first: $n) { totalCount } }", '
    body += '"variables": {"n": ' + number + "}}"
    error = graphql_error(post_raw(client, body.encode()), log)
    assert list(error["extensions"]["fields"]) == ["n"]


def test_a_huge_int_literal_is_a_validation_error(client, log):
    document = "{ products(first: 99999999999999999999999) { totalCount } }"
    error = graphql_error(post(client, {"query": document}), log, code="GRAPHQL_VALIDATION_FAILED")
    assert "non 32-bit signed integer" in error["message"]


# --- the parameters ---------------------------------------------------------------------


@pytest.mark.parametrize("query", [5, 1.5, True, ["{ __typename }"], {"q": 1}])
def test_a_query_that_is_not_a_string_is_400(client, log, query):
    refusal(post(client, {"query": query}), 400, "query", log)


@pytest.mark.parametrize("document_id", [5, True, ["0" * 64], {"id": "0" * 64}])
def test_a_document_id_that_is_not_a_string_is_400(client, log, document_id):
    refusal(post(client, {"documentId": document_id}), 400, "documentId", log)


@pytest.mark.parametrize("variables", ["{}", '{"a": 1}', [1], 5, True])
def test_variables_that_are_not_an_object_are_400(client, log, variables):
    refusal(post(client, {"query": TYPENAME, "variables": variables}), 400, "variables", log)


@pytest.mark.parametrize("extensions", ["x", [1], 5])
def test_extensions_that_are_not_an_object_are_400(client, log, extensions):
    payload = {"query": TYPENAME, "extensions": extensions}
    refusal(post(client, payload), 400, "extensions", log)


@pytest.mark.parametrize("name", [5, ["Q"], {"a": 1}, "Q\nforged log line", "1Q", "Q Q"])
def test_an_operation_name_that_is_not_a_name_is_400(client, log, name):
    payload = {"query": "query Q { __typename }", "operationName": name}
    refusal(post(client, payload), 400, "operationName", log)


def test_an_empty_operation_name_means_none(client, log):
    response = post(client, {"query": TYPENAME, "operationName": ""})
    assert response.json() == {"data": {"__typename": "Query"}}


def test_an_unknown_operation_name_is_400(client, log):
    payload = {"query": "query Q { __typename }", "operationName": "Other"}
    refusal(post(client, payload), 400, "operationName", log)


@pytest.mark.parametrize("payload", [{}, {"query": ""}, {"query": None}, {"variables": {}}])
def test_a_request_without_a_query_is_400(client, log, payload):
    refusal(post(client, payload), 400, "query", log)


def test_a_document_without_an_operation_is_400(client, log):
    payload = {"query": "fragment F on Query { __typename }"}
    message = refusal(post(client, payload), 400, "query", log)
    assert message == "The document has no operation."


def test_unknown_keys_in_the_body_are_ignored(client, log):
    response = post(client, {"query": TYPENAME, "id": "\ud800", "extra": [[[[]]]]})
    assert response.json() == {"data": {"__typename": "Query"}}


# --- lone surrogates: not Unicode text, refused wherever they are ------------------------


def _surrogate(payload: dict) -> bytes:
    # json.dumps writes a lone surrogate as the JSON escape \ud800, as a hostile client would.
    encoded = json.dumps(payload).encode()
    assert re.search(rb"\\ud[89a-f]", encoded)
    return encoded


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"query": SEARCH, "variables": {"s": "a\ud800b"}}, "s"),
        (
            {
                "query": REGISTER,
                "variables": {
                    "input": {"email": "a@example.com", "name": "\ud800", "password": "x"}
                },
            },
            "input",
        ),
        (
            {
                "query": PLACE_ORDER,
                "variables": {"input": {"items": [{"productId": "\ud800", "quantity": 1}]}},
            },
            "input",
        ),
        ({"query": SEARCH, "variables": {"s": ["ok", {"deep": ["\udfff"]}]}}, "s"),
        ({"query": SEARCH, "variables": {"s\ud800": "x"}}, "variables"),
        ({"query": "query Q { __typename }", "operationName": "Q\ud800"}, "operationName"),
        ({"query": TYPENAME, "extensions": {"persistedQuery": {"sha256Hash": "\ud800"}}}, None),
        ({"query": TYPENAME, "extensions": {"\ud800": 1}}, None),
        ({"query": '{ products(filters: {search: "\ud800"}) { totalCount } }'}, "query"),
        ({"query": "{ __typename } # \ud800"}, "query"),
        ({"documentId": "sha256:\ud800"}, "documentId"),
    ],
    ids=[
        "string variable",
        "nested in an input object",
        "nested in a list of input objects",
        "deep in a list",
        "a variable's name",
        "operationName",
        "extensions value",
        "extensions key",
        "string literal in the query",
        "comment in the query",
        "documentId",
    ],
)
def test_a_lone_surrogate_anywhere_is_bad_user_input(client, log, payload, field):
    UserFactory()  # so that a query would have rows to reach, were it run
    response = post_raw(client, _surrogate(payload))
    expected_field = field or "extensions"
    if field == "operationName":
        assert "name of an operation" in refusal(response, 400, field, log)
    else:
        assert "lone surrogates" in refusal(response, 400, expected_field, log)


def test_a_surrogate_escape_in_a_graphql_string_literal_is_a_parse_error(client, log):
    # GraphQL's own escape (\\ud800 in the document text): the GraphQL lexer refuses it.
    document = '{ products(filters: {search: "\\ud800"}) { totalCount } }'
    error = graphql_error(post(client, {"query": document}), log, code="GRAPHQL_PARSE_FAILED")
    assert "Invalid Unicode escape sequence" in error["message"]


def test_a_surrogate_pair_is_text(client, log):
    payload = {"query": SEARCH, "variables": {"s": "\U0001f600"}}
    assert b"\\ud83d\\ude00" in json.dumps(payload).encode()  # a pair of escapes: one character
    response = post(client, payload)
    assert response.json() == {"data": {"products": {"totalCount": 0}}}


# --- headers and methods ----------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/graphql",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonx",
        "",
    ],
)
def test_a_body_that_is_not_application_json_is_415(client, log, content_type):
    body = b'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{ __typename }\r\n--x--\r\n'
    response = client.generic("POST", "/graphql/", body, content_type=content_type)
    refusal(response, 415, "Content-Type", log)


def test_json_with_an_explicit_utf8_charset_is_read(client):
    response = post_raw(client, b'{"query": "{ __typename }"}', "application/json; charset=UTF-8")
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "accept", ["text/plain", "application/xml", "text/event-stream", "application/json;q=0"]
)
def test_an_accept_without_json_is_406(client, log, accept):
    refusal(post(client, {"query": TYPENAME}, Accept=accept), 406, "Accept", log)


@pytest.mark.parametrize(
    "accept",
    [
        "application/graphql-response+json, application/json;q=0.9",
        "application/*",
        "*/*",
        "multipart/mixed;deferSpec=20220824, application/json",
        "",
    ],
)
def test_an_accept_with_json_is_served(client, accept):
    response = post(client, {"query": TYPENAME}, Accept=accept)
    assert response.json() == {"data": {"__typename": "Query"}}


def test_an_accept_header_that_cannot_be_parsed_is_400(client, log):
    response = post(client, {"query": TYPENAME}, Accept="a/b; q*=bogus''x")
    refusal(response, 400, "Accept", log)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW"])
def test_methods_other_than_get_and_post_are_405(client, log, method):
    response = client.generic(method, "/graphql/", b'{"query": "{ __typename }"}')
    refusal(response, 405, "method", log)
    assert response["Allow"] == "GET, POST"


def test_head_is_405_in_json(client, log):
    response = client.head("/graphql/", {"query": TYPENAME})
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, POST"
    assert_logged_once(log, 405)


def test_a_mutation_over_get_is_405_in_json(client, log):
    response = client.get("/graphql/", {"query": "mutation { __typename }"})
    refusal(response, 405, "method", log)
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_subscription_over_http_is_400(client, log, method):
    document = 'subscription { orderUpdated(id: "T3JkZXI6MQ==") { id } }'
    if method == "GET":
        response = client.get("/graphql/", {"query": document})
    else:
        response = post(client, {"query": document})
    assert "WebSocket" in refusal(response, 400, "query", log)


def test_a_session_post_without_the_csrf_token_is_forbidden_in_json(log):
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    response = post(client, {"query": TYPENAME})
    assert response.status_code == 403
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert "CSRF" in error["message"]
    # Django's CSRF refusal is a security event: its own one-line warning, no traceback.
    assert [r.name for r in log.records if r.levelno >= logging.WARNING] == ["django.security.csrf"]
    assert not any(r.exc_info for r in log.records)


# --- GET parameters ---------------------------------------------------------------------


def get(client, query_string: str, **headers):
    return client.get(f"/graphql/?{query_string}", headers=headers)


def test_a_query_over_get_is_served_and_other_parameters_ignored(client):
    response = get(client, f"query={quote(TYPENAME)}&other=%FF%zz&%FF=1&&=")
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "name", ["query", "variables", "operationName", "extensions", "documentId"]
)
def test_a_repeated_get_parameter_is_400(client, log, name):
    values = {"query": quote(TYPENAME), "variables": "{}", "operationName": "Q", "extensions": "{}"}
    values["documentId"] = "0" * 64
    query_string = f"query={quote('query Q { __typename }')}&{name}={values[name]}"
    refusal(get(client, f"{query_string}&{name}={values[name]}"), 400, name, log)


@pytest.mark.parametrize(
    ("query_string", "field"),
    [
        ("query=%zz", "query"),
        ("query=%", "query"),
        ("query=%7B__typename%7", "query"),
        ("query=x&variables=%7B%7", "variables"),
    ],
)
def test_malformed_percent_encoding_is_400(client, log, query_string, field):
    assert "malformed" in refusal(get(client, query_string), 400, field, log)


@pytest.mark.parametrize(
    ("query_string", "field"),
    [
        ("query=%FF", "query"),
        ("query=%ED%A0%80", "query"),
        ("query=%C3", "query"),
        ("operationName=%80&query=x", "operationName"),
    ],
)
def test_a_parameter_that_is_not_utf8_is_400(client, log, query_string, field):
    # %ED%A0%80 is U+D800 encoded as if it were a character (CESU-8): not UTF-8.
    assert "not UTF-8" in refusal(get(client, query_string), 400, field, log)


def test_a_query_string_that_is_not_percent_encoded_is_400(client, log):
    response = client.get("/graphql/", QUERY_STRING="query={ __typename }é")
    refusal(response, 400, "queryString", log)


def test_too_many_get_parameters_are_400(client, log):
    query_string = "&".join(["a=1"] * 1000) + f"&query={quote(TYPENAME)}"
    assert "more than 1000 parameters" in refusal(
        get(client, query_string), 400, "queryString", log
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("variables", "nope"),
        ("variables", "[1]"),
        ("variables", '{"s": "\\ud800"}'),
        ("extensions", "5"),
        ("extensions", "[" * 5000 + "]" * 5000),
    ],
)
def test_bad_json_in_get_parameters_is_400(client, log, name, value):
    response = get(client, f"query={quote(SEARCH)}&{name}={quote(value)}")
    field = "s" if "ud800" in value else name
    refusal(response, 400, field, log)


def test_a_get_without_a_query_asking_for_json_is_400(client, log):
    refusal(get(client, "", Accept="application/json"), 400, "query", log)


def test_every_refusal_keeps_the_contract_codes_and_the_request_id(client):
    response = post_raw(client, b"\xff")
    assert response.json()["errors"][0]["extensions"]["code"] in CONTRACT_CODES
    assert len(response["X-Request-ID"]) == 32
