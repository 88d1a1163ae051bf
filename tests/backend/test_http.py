"""The endpoint through Django's whole stack: headers, CORS, logging, GraphiQL."""

import logging

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.test.client import FakePayload

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME = {"query": "{ me { email } }"}
CATALOG = {
    "query": "query Catalog { products(first: 1) { totalCount } }",
    "operationName": "Catalog",
}


def post(client, body, **headers):
    return client.post("/graphql/", body, content_type="application/json", headers=headers)


def test_every_response_carries_its_duration_and_request_id(client):
    response = post(client, CATALOG)
    assert response.status_code == 200
    assert response.json() == {"data": {"products": {"totalCount": 0}}}
    assert response["X-Request-Duration"].endswith("ms")
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [("abc-123_X.y", True), ("x" * 200, True), ("x" * 201, False), ("bad id!", False)],
)
def test_request_id_is_kept_only_when_well_formed(client, incoming, kept):
    response = post(client, CATALOG, **{"X-Request-ID": incoming})
    assert (response["X-Request-ID"] == incoming) is kept


def test_one_log_line_per_request_names_the_operation(client, caplog):
    with caplog.at_level(logging.INFO, logger="backend.requests"):
        response = post(client, CATALOG)
    (record,) = [r for r in caplog.records if r.name == "backend.requests"]
    line = record.getMessage()
    assert line.startswith("POST /graphql/ operation=Catalog status=200 duration_ms=")
    assert f"request_id={response['X-Request-ID']}" in line


def test_cors_allows_only_configured_origins(client):
    allowed = post(client, CATALOG, Origin="http://allowed.example")
    assert allowed["Access-Control-Allow-Origin"] == "http://allowed.example"
    assert allowed["Access-Control-Allow-Credentials"] == "true"
    other = post(client, CATALOG, Origin="http://evil.example")
    assert "Access-Control-Allow-Origin" not in other


def test_a_cors_preflight_is_answered_before_the_method_check(client):
    headers = {"Origin": "http://allowed.example", "Access-Control-Request-Method": "POST"}
    response = client.options("/graphql/", headers=headers)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://allowed.example"


def test_browser_get_renders_graphiql(client):
    response = client.get("/graphql/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert b"graphiql" in response.content.lower()


def test_query_over_get_is_served(client):
    response = client.get("/graphql/", {"query": "{ products { totalCount } }"})
    assert response.json() == {"data": {"products": {"totalCount": 0}}}


def test_api_clients_without_a_session_need_no_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = post(client, CATALOG)
    assert response.status_code == 200


def test_session_authenticated_posts_need_the_csrf_token():
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert post(client, ME).status_code == 403

    client.get("/graphql/", headers={"Accept": "text/html"})  # GraphiQL sets the cookie
    token = client.cookies["csrftoken"].value
    response = post(client, ME, **{"X-CSRFToken": token})
    assert response.json() == {"data": {"me": {"email": user.email}}}


def test_mutation_over_get_is_refused_and_not_executed(client):
    user = UserFactory(email="ann@example.com")
    document = 'mutation { updateProfile(input: {name: "Changed"}) { name } }'
    client.force_login(user)
    response = client.get("/graphql/", {"query": document})
    assert response.status_code == 405
    user.refresh_from_db()
    assert user.name != "Changed"


def refused(response, status: int, field: str, caplog) -> None:
    """A refusal in GraphQL's shape, with the request id, logged as the request line alone."""
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert len(response["X-Request-ID"]) == 32
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "fields": {field: [error["message"]]}}
    (line,) = [r.getMessage() for r in caplog.records if r.name == "backend.requests"]
    assert f" status={status} " in line
    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []


@pytest.fixture
def log(caplog):
    with caplog.at_level(logging.INFO):
        yield caplog


def test_bodies_over_the_limit_are_refused_with_413(client, log):
    small = {"query": "{ products { totalCount } }"}
    assert post(client, small).status_code == 200
    log.clear()
    padded = {"query": "{ products { totalCount } }" + " " * (100 * 1024)}
    refused(post(client, padded), 413, "body", log)


@pytest.mark.parametrize("path", ["/graphql/", "/admin/login/", "/healthz"])
def test_a_declared_length_over_the_limit_is_413_on_every_path(client, log, path):
    response = client.post(path, b"{}", content_type="application/json", CONTENT_LENGTH="10000000")
    refused(response, 413, "body", log)


@pytest.mark.parametrize("length", ["abc", "-1", " 5", "1_0", "\u0665"])
def test_a_malformed_content_length_is_400(client, log, length):
    response = client.post(
        "/graphql/", b"{}", content_type="application/json", CONTENT_LENGTH=length
    )
    refused(response, 400, "Content-Length", log)


def test_an_unknown_host_is_400_in_json(client, log):
    refused(post(client, CATALOG, Host="evil.example"), 400, "Host", log)


def post_chunked(async_client, body: bytes):
    """A POST through Django's ASGI handler without Content-Length, as a chunked body reaches
    Django (the test client's `post` always sets one)."""
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    return async_to_sync(async_client.request)(
        method="POST",
        path="/graphql/",
        headers=headers,
        query_string="",
        _body_file=FakePayload(body),
    )


def test_a_chunked_body_over_the_limit_is_413(async_client, log):
    body = b'{"query": "{ __typename }' + b" " * (100 * 1024) + b'"}'
    refused(post_chunked(async_client, body), 413, "body", log)


def test_a_chunked_body_within_the_limit_is_served(async_client):
    response = post_chunked(async_client, b'{"query": "{ __typename }"}')
    assert response.json() == {"data": {"__typename": "Query"}}
