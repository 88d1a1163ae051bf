import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache, caches
from django.db import connection
from django.test import RequestFactory
from django.urls import resolve

from schema.core.operations import operation
from tests.app_server import AppServer
from tests.app_server import start as start_app_server

# Live servers and Celery workers (fixtures `start_server`, `start_worker`, ...).
pytest_plugins = ["tests.live"]


def pytest_report_header(config) -> list[str]:
    return [f"database: {connection.vendor} ({connection.settings_dict['NAME']})"]


def pytest_collection_modifyitems(config, items) -> None:
    if connection.vendor == "postgresql":
        return
    reason = "needs PostgreSQL: set DATABASE_URL=postgres://... to run it"
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_sessionfinish(session, exitstatus) -> None:
    """With FORBID_SKIPS=1 (CI, where every service is up) a skipped test fails the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("FORBID_SKIPS") == "1" and skipped:
        reporter.write_line(
            f"FORBID_SKIPS=1: {len(skipped)} skipped tests count as failures", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def asgi_server(tmp_path_factory) -> Iterator[AppServer]:
    """uvicorn serving backend.asgi with the production settings, for transport-level tests."""
    server = start_app_server(tmp_path_factory.mktemp("asgi-server"), "asgi")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def wsgi_server(tmp_path_factory) -> Iterator[AppServer]:
    """gunicorn serving backend.wsgi (gunicorn.conf.py) with the production settings."""
    server = start_app_server(tmp_path_factory.mktemp("wsgi-server"), "wsgi")
    yield server
    server.stop()


@pytest.fixture(params=["asgi", "wsgi"])
def app_server(request) -> AppServer:
    """Each way HTTP is served: the ASGI app (uvicorn) and the WSGI app (gunicorn)."""
    return request.getfixturevalue(f"{request.param}_server")


# Seconds a TolerantRedisCache leaves an unreachable Redis alone, in tests.
REDIS_RETRY_INTERVAL = 0.5


@pytest.fixture
def redis_cache(settings, redis_server):
    """The default cache is production's (backend.cache.TolerantRedisCache) on a redis-server of
    the test's own (`redis_server`: stop, pause, resume, start it); what the process learnt of
    its outages is forgotten afterwards."""
    settings.CACHES = {
        "default": {
            "BACKEND": "backend.cache.TolerantRedisCache",
            "LOCATION": redis_server.url,
            "KEY_PREFIX": "t",
            "OPTIONS": {
                "socket_connect_timeout": 0.25,
                "socket_timeout": 0.25,
                "RETRY_INTERVAL": REDIS_RETRY_INTERVAL,
            },
        }
    }
    assert type(caches["default"]).__name__ == "TolerantRedisCache"
    yield cache
    caches["default"].outage.reset()


GraphQL = Callable[..., dict[str, Any]]


def post_graphql(document: str, variables: dict | None = None, *, user=None) -> bytes:
    """The GraphQL view's response body for a document, as `user` (anonymous by default)."""
    request = RequestFactory().post(
        "/graphql/",
        data=json.dumps({"query": document, "variables": variables or {}}),
        content_type="application/json",
    )
    request.user = user or AnonymousUser()
    request._dont_enforce_csrf_checks = True
    response = resolve("/graphql/").func(request)
    assert response.status_code == 200, response.content
    return response.content


@pytest.fixture
def graphql(db) -> GraphQL:
    """Runs a document through the GraphQL view as `user` (anonymous by default); returns the JSON.

    The request goes straight to the view, so SQL counted around it is the operation's own.
    """

    def run(document: str, variables: dict | None = None, *, user=None) -> dict[str, Any]:
        return json.loads(post_graphql(document, variables, user=user))

    return run


@pytest.fixture
def contract(graphql) -> GraphQL:
    """Runs one of the contract's operations by name."""

    def run(name: str, variables: dict | None = None, *, user=None) -> dict[str, Any]:
        return graphql(operation(name), variables, user=user)

    return run


def error_codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]
