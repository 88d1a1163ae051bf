"""django-debug-toolbar and `extensions.sqlQueries`: development settings only."""

import json
from email.message import Message
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve

from schema.core.operations import operation
from tests.backend.test_production_settings import PRODUCTION, manage
from tests.factories import ProductFactory
from tests.live import DEVELOPMENT

TOOLBAR_MIDDLEWARE = "debug_toolbar.middleware.DebugToolbarMiddleware"
REPORT = (
    "from django.conf import settings as s; from django.urls import resolve; import json\n"
    "try:\n    resolve('/__debug__/render_panel/'); urls = True\n"
    "except Exception:\n    urls = False\n"
    "print(json.dumps(['debug_toolbar' in s.INSTALLED_APPS, "
    f"{TOOLBAR_MIDDLEWARE!r} in s.MIDDLEWARE, urls, "
    "getattr(s, 'GRAPHQL_SQL_QUERY_COUNT', False)]))"
)


def report(**env: str) -> list[bool]:
    result = manage("shell", "-c", REPORT, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_absent_under_test_settings(client):
    assert "debug_toolbar" not in settings.INSTALLED_APPS
    assert TOOLBAR_MIDDLEWARE not in settings.MIDDLEWARE
    assert not getattr(settings, "GRAPHQL_SQL_QUERY_COUNT", False)
    with pytest.raises(Resolver404):
        resolve("/__debug__/render_panel/")
    assert client.get("/__debug__/render_panel/").status_code == 404


def test_absent_under_production_settings():
    assert report(**PRODUCTION) == [False, False, False, False]


def test_present_under_development_settings():
    development = {"DJANGO_SETTINGS_MODULE": "backend.settings.development"}
    assert report(**development) == [True, True, True, True]


def test_development_without_debug_has_neither():
    development = {"DJANGO_SETTINGS_MODULE": "backend.settings.development", "DEBUG": "false"}
    assert report(**development) == [False, False, False, False]


def exchange(url: str, body: dict | None = None, **headers: str) -> tuple[int, Message, dict]:
    """One request to the GraphQL endpoint: the status, the headers (any case) and the JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", "Accept": "application/json", **headers}
    try:
        with urlopen(Request(url, data=data, headers=headers), timeout=10) as response:
            return response.status, response.headers, json.loads(response.read())
    except HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


@pytest.mark.django_db(transaction=True)
def test_a_development_servers_responses_carry_only_data_errors_and_extensions(start_server):
    """What GraphQL clients accept (Apollo Client 4 refuses any other key), with the toolbar on:
    it names each request in a header, never in the body."""
    ProductFactory()
    server = start_server("runserver", **DEVELOPMENT)
    url = server.http_url
    catalog = {"query": operation("Catalog"), "operationName": "Catalog"}
    hashed = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    answers = {
        "query": exchange(url, catalog),
        "query over GET": exchange(f"{url}?query=%7B%20products%20%7B%20totalCount%20%7D%20%7D"),
        "persisted-query miss": exchange(url, {"extensions": hashed}),
        "validation error": exchange(url, {"query": "{ nope }"}),
        "unauthenticated mutation": exchange(
            url, {"query": 'mutation { cancelOrder(input: {id: "T3JkZXI6MQ=="}) { id } }'}
        ),
        "introspection": exchange(
            url, {"query": "query IntrospectionQuery { __schema { queryType { name } } }"}
        ),
        "same-origin page": exchange(url, catalog, Origin=f"http://127.0.0.1:{server.port}"),
    }

    for name, (status, headers, body) in answers.items():
        assert status in (200, 400), (name, status)
        assert set(body) <= {"data", "errors", "extensions"}, (name, body)
        assert "djdt-request-id" in headers, (name, dict(headers))  # the toolbar saw it
    assert answers["query"][2]["data"]["products"]["totalCount"] == 1
    assert isinstance(answers["query"][2]["extensions"]["sqlQueries"], int)
    assert answers["persisted-query miss"][2]["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_NOT_FOUND"
    )
    # A page on another origin gets the API without the toolbar at all.
    _, headers, body = exchange(url, catalog, Origin="http://localhost:3000")
    assert "djdt-request-id" not in headers
    assert set(body) == {"data", "extensions"}
