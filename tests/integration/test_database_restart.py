"""PostgreSQL dropping the API's connections (a restart, a failover, `pg_terminate_backend`):
the next requests get working connections, and whatever fails answers JSON.

Production settings (the psycopg pool, checked on checkout), served the deployment's ways.
Connections are ended from a connection of the test's own, found by the application name
the server was given (in DATABASE_URL), so nothing else on the database is touched.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import psycopg
import pytest
from django.db import connection
from psycopg import sql

from schema.core.operations import operation
from tests.factories import PASSWORD, ProductFactory
from tests.live import PRODUCTION

pytestmark = pytest.mark.django_db(transaction=True)


def database_url(application_name: str) -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        f"?application_name={application_name}"
    )


def admin_connection() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"], host=db["HOST"], port=db["PORT"], user=db["USER"], autocommit=True
    )


def terminate(application_name: str) -> int:
    """Ends every connection of the server to the test database; how many there were."""
    with admin_connection() as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [application_name],
        ).fetchall()
    return sum(1 for (ended,) in rows if ended)


def connections_of(application_name: str) -> int:
    with admin_connection() as admin:
        (count,) = admin.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [application_name],
        ).fetchone()
    return count


def post(client: httpx.Client, url: str, name: str, variables=None, token=None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        url, json={"query": operation(name), "variables": variables or {}}, headers=headers
    )


def outcome(response: httpx.Response) -> str:
    """ "ok", or what went wrong: the status and the error code."""
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return f"{response.status_code} {response.headers.get('Content-Type')}"
    body = response.json()
    if response.status_code == 200 and "errors" not in body:
        return "ok"
    codes = [error["extensions"]["code"] for error in body.get("errors", [])]
    return f"{response.status_code} {','.join(codes)}"


def sign_up(client: httpx.Client, url: str) -> str:
    """An access token of a user registered through the server (with production's password
    hasher, which the tests' factories do not use)."""
    user = {"email": "ann@example.com", "name": "Ann", "password": PASSWORD}
    assert outcome(post(client, url, "Register", {"input": user})) == "ok"
    signed_in = post(client, url, "ObtainToken", {"email": user["email"], "password": PASSWORD})
    assert outcome(signed_in) == "ok"
    return signed_in.json()["data"]["obtainToken"]["accessToken"]


@pytest.mark.parametrize(
    ("command", "workers", "pool"),
    [("uvicorn", 1, "true"), ("gunicorn", 2, "true"), ("uvicorn", 1, "false")],
    ids=["uvicorn", "gunicorn x2", "uvicorn without the pool"],
)
def test_after_its_connections_are_terminated_the_next_requests_succeed(
    start_server, command, workers, pool
):
    ProductFactory.create_batch(3)
    name = f"live-{uuid.uuid4().hex[:12]}"
    server = start_server(
        command,
        **PRODUCTION,
        DATABASE_URL=database_url(name),
        WEB_CONCURRENCY=str(workers),
        DB_POOL=pool,
        DB_POOL_MAX_SIZE="6",
    )
    with httpx.Client(timeout=30) as client:
        token = sign_up(client, server.http_url)

        def me(_=None) -> str:
            return outcome(post(client, server.http_url, "Me", token=token))

        def catalog(_=None) -> str:
            return outcome(post(client, server.http_url, "Catalog", {"first": 2}))

        for round_ in range(2):
            # Grow each worker's pool past its minimum: requests in parallel.
            with ThreadPoolExecutor(8) as parallel:
                assert list(parallel.map(me, range(16))) == ["ok"] * 16
            held = connections_of(name)
            assert held >= (2 if pool == "true" else 1) * workers
            assert terminate(name) == held

            started = time.monotonic()
            after = [me() if n % 2 == 0 else catalog() for n in range(12)]
            elapsed = time.monotonic() - started
            print(
                f"round {round_}: {held} connections ended; next 12 requests {after} "
                f"in {elapsed:.2f} s"
            )
            assert after == ["ok"] * 12, after
            assert elapsed < 5
    if pool == "true":
        # The first checkout that met a dead connection had the pool replace them all.
        assert "Dead database connection at checkout" in server.output()


@contextmanager
def database_refusing_connections(application_name: str):
    """PostgreSQL down for the server: its connections ended and new ones refused, until the
    block ends (`ALLOW_CONNECTIONS`, from the maintenance database)."""
    name = connection.settings_dict["NAME"]
    db = connection.settings_dict
    with psycopg.connect(
        dbname="postgres", host=db["HOST"], port=db["PORT"], user=db["USER"], autocommit=True
    ) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(sql.Identifier(name))
        )
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name = %s",
                [name, application_name],
            )
            yield
        finally:
            admin.execute(
                sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(name))
            )


def test_while_the_database_is_down_graphql_answers_json_then_recovers(start_server):
    ProductFactory.create_batch(3)
    name = f"live-{uuid.uuid4().hex[:12]}"
    server = start_server(**PRODUCTION, DATABASE_URL=database_url(name), DB_POOL_TIMEOUT="2")
    with httpx.Client(timeout=30) as client:
        token = sign_up(client, server.http_url)

        with database_refusing_connections(name):
            started = time.monotonic()
            # The Bearer token's user lookup fails in the middleware, before GraphQL.
            bearer = client.post(
                server.http_url,
                json={"query": operation("Me")},
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": "outage-me-1"},
            )
            print(
                f"down: Bearer request answered {bearer.status_code} in "
                f"{time.monotonic() - started:.2f} s"
            )
            assert bearer.status_code == 500
            assert bearer.headers["Content-Type"] == "application/json"
            assert bearer.headers["X-Request-ID"] == "outage-me-1"
            assert bearer.json() == {
                "errors": [
                    {
                        "message": "Internal server error.",
                        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "outage-me-1"},
                    }
                ]
            }
            # Anonymous: the failure is inside the operation, masked there.
            anonymous = post(client, server.http_url, "Catalog", {"first": 2})
            [error] = anonymous.json()["errors"]
            assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
            assert error["extensions"]["requestId"] == anonymous.headers["X-Request-ID"]
            health = client.get(f"http://127.0.0.1:{server.port}/healthz")
            assert (health.status_code, health.json()["database"]) == (503, "error")

        reopened = time.monotonic()
        results = []
        while (result := outcome(post(client, server.http_url, "Me", token=token))) != "ok":
            results.append(result)
            assert time.monotonic() - reopened < 30, results
        print(
            f"up again: first success after {time.monotonic() - reopened:.2f} s, "
            f"failures before it: {results}"
        )
        assert [outcome(post(client, server.http_url, "Me", token=token)) for _ in range(10)] == (
            ["ok"] * 10
        )

    logged = [line for line in server.output().splitlines() if "outage-me-1" in line]
    tracebacks = [line for line in logged if "Traceback" in line]
    assert len(tracebacks) == 1, logged
    assert '"logger": "backend.errors"' in tracebacks[0]
