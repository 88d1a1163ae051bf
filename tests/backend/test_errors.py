"""handler500: a failure outside GraphQL's error handling (here, a middleware) answers JSON on
the API's paths, with the request id, and is logged once with its traceback."""

import logging

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


class FailingMiddleware:
    """Fails requests that carry `X-Fail`, from inside the middleware stack (after the Bearer
    token's), as a database that is down fails the token's user lookup."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "X-Fail" in request.headers:
            raise RuntimeError("forced failure in a middleware")
        return self.get_response(request)


@pytest.fixture(autouse=True)
def _failing_middleware(settings):
    at = settings.MIDDLEWARE.index("backend.middleware.BearerTokenMiddleware") + 1
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:at],
        f"{__name__}.FailingMiddleware",
        *settings.MIDDLEWARE[at:],
    ]


def client() -> Client:
    return Client(raise_request_exception=False)


def test_graphql_answers_the_contracts_json_with_the_request_id(caplog):
    response = client().post(
        "/graphql/",
        {"query": "{ me { id } }"},
        content_type="application/json",
        headers={"X-Fail": "1", "X-Request-ID": "checkout-42"},
    )
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response["X-Request-ID"] == "checkout-42"
    assert response.json() == {
        "errors": [
            {
                "message": "Internal server error.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "checkout-42"},
            }
        ]
    }
    tracebacks = [record for record in caplog.records if record.exc_info]
    assert len(tracebacks) == 1
    [logged] = tracebacks
    assert (logged.name, logged.levelname) == ("backend.errors", "ERROR")
    assert "checkout-42" in logged.getMessage()
    assert str(logged.exc_info[1]) == "forced failure in a middleware"


def test_a_made_request_id_is_the_same_in_the_header_and_the_body():
    response = client().get("/graphql/?query={__typename}", headers={"X-Fail": "1"})
    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["requestId"] == response["X-Request-ID"]
    assert len(response["X-Request-ID"]) == 32


def test_healthz_answers_json():
    response = client().get("/healthz", headers={"X-Fail": "1", "X-Request-ID": "probe-1"})
    assert response.status_code == 500
    assert response.json() == {"status": "error", "requestId": "probe-1"}


def test_other_paths_keep_djangos_page(caplog):
    caplog.set_level(logging.ERROR)
    response = client().get("/admin/login/", headers={"X-Fail": "1"})
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert len([record for record in caplog.records if record.exc_info]) == 1


def test_without_a_failure_nothing_changes():
    response = client().post(
        "/graphql/", {"query": "{ __typename }"}, content_type="application/json"
    )
    assert (response.status_code, response.json()) == (200, {"data": {"__typename": "Query"}})
