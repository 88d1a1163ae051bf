"""A bounded fuzz of the endpoint's transport: raw bytes, deep JSON, JSON of the wrong shape,
hostile text (lone surrogates, NUL), odd headers and methods, and GET query strings, sent
over real HTTP to the app with the production settings, each way it is served: uvicorn
(ASGI) and gunicorn (WSGI) (tests/app_server.py).

Whatever arrives, the answer keeps the contract's error model (no 5xx, JSON in GraphQL's
shape with a contract code, BAD_USER_INPUT with `fields`), and the server logs the request
line and nothing else: no traceback, no warning. The documents that can validate touch
neither the database nor the cache (`__typename` only), so the server needs neither.

Derandomized (the same examples every run) and bounded: 290 requests, about three seconds.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.contract import contract_violations
from tests.hypothesis_settings import SETTINGS

DOCUMENTS = [
    "{ __typename }",
    "query Q { __typename }",
    "query Q($a: Int, $s: String, $l: [String]) { __typename }",
    "mutation M { __typename }",
    "subscription S { __typename }",
    "query A { __typename } query B { __typename }",
    "fragment F on Query { __typename }",
    '{ __typename(x: "\\ud800") }',
    "{ __typename",
    "",
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/json; charset*=bogus''x",
    "application/graphql",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "",
]
ACCEPTS = [
    None,
    "application/json",
    "application/graphql-response+json, application/json;q=0.9",
    "*/*",
    "text/html",
    "text/event-stream",
    "multipart/mixed;subscriptionSpec=1.0, application/json",
    "application/json;q=0",
    "a/b; q*=bogus''x",
    "",
]
HOSTILE_TEXT = ["\ud800", "\udfff", "a\udc00b", "\x00", "\U0001f600", "\u202e", "%", "\\u0000"]

text = st.text(max_size=12) | st.sampled_from(HOSTILE_TEXT)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "query": st.sampled_from(DOCUMENTS) | text | json_values,
        "variables": st.dictionaries(st.sampled_from(["a", "s", "l"]) | text, json_values)
        | json_values,
        "operationName": st.sampled_from(["Q", "M", "A", "Nope", ""]) | text | json_values,
        "extensions": st.fixed_dictionaries(
            {}, optional={"persistedQuery": json_values | st.dictionaries(text, json_values)}
        )
        | json_values,
        "documentId": text | json_values,
    },
)


def check(server, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> None:
    offset = server.log_offset()
    response = server.request(method, path, body=body, headers=headers)
    problems = [] if method == "HEAD" else contract_violations(response.status, response.body)
    problems += server.log_problems(offset, requests=1)
    assert not problems, (
        "; ".join(problems)
        + f"\n--- {method} {path} {headers}\n{body!r}"[:3000]
        + f"\n--- response {response.status}\n{response.body[:2000]!r}"
    )


@settings(max_examples=100, **SETTINGS)
@given(
    body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
    content_type=st.sampled_from(CONTENT_TYPES),
)
def _raw_bodies(server, body, content_type):
    check(server, "POST", "/graphql/", body, {"Content-Type": content_type})


@settings(max_examples=30, **SETTINGS)
@given(
    depth=st.integers(1, 60_000),
    brackets=st.sampled_from(["[]", "{}"]),
    where=st.sampled_from(["body", "variables", "extensions", "query"]),
)
def _deep_json(server, depth, brackets, where):
    opening, closing = brackets
    inner = '"k":' if opening == "{" else ""
    nested = (opening + inner) * depth + "1" + closing * depth
    body = nested if where == "body" else f'{{"query": "{{ __typename }}", "{where}": {nested}}}'
    check(server, "POST", "/graphql/", body.encode(), {"Content-Type": "application/json"})


@settings(max_examples=100, **SETTINGS)
@given(
    payload=requests | json_values,
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE", "HEAD", "OPTIONS"]),
    accept=st.sampled_from(ACCEPTS),
)
def _json_requests(server, payload, method, accept):
    headers = {"Content-Type": "application/json"}
    if accept is not None:
        headers["Accept"] = accept
    check(server, method, "/graphql/", json.dumps(payload).encode(), headers)


query_string_parts = st.sampled_from(
    ["query", "variables", "operationName", "extensions", "documentId", "x", "%71uery"]
).flatmap(
    lambda name: st.one_of(
        st.sampled_from(DOCUMENTS).map(quote),
        json_values.map(lambda value: quote(json.dumps(value))),
        st.text(alphabet="%&=+;#09AFafzZ{}_", max_size=12),
        st.binary(max_size=6).map(lambda raw: "".join(f"%{byte:02X}" for byte in raw)),
    ).map(lambda value: f"{name}={value}")
)


@settings(max_examples=60, **SETTINGS)
@given(parts=st.lists(query_string_parts, min_size=0, max_size=4))
def _query_strings(server, parts):
    check(server, "GET", "/graphql/?" + "&".join(parts), None, {"Accept": "application/json"})


@pytest.mark.parametrize(
    "fuzz",
    [_raw_bodies, _deep_json, _json_requests, _query_strings],
    ids=["raw bodies", "deep json", "json requests", "query strings"],
)
def test_hostile_requests_keep_the_error_contract_and_a_clean_log(app_server, fuzz):
    fuzz(app_server)
