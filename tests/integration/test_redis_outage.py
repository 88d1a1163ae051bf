"""Redis down under a production server: every query and mutation keeps working from
PostgreSQL, login limits still hold, /healthz says the cache is down; then Redis comes back.

The server's cache, subscription events and Celery broker are a redis-server of the test's own (one
Redis for everything, as the compose file deploys it), stopped for real.
"""

import time

import httpx
import pytest

from apps.catalog.models import Product
from tests.factories import PASSWORD, ProductFactory
from tests.integration.api import Api
from tests.live import PRODUCTION

pytestmark = pytest.mark.django_db(transaction=True)


def test_with_redis_down_every_operation_works_from_postgresql(start_server, redis_server):
    ProductFactory(sku="MUG", stock=5)
    server = start_server(
        **PRODUCTION,
        REDIS_URL=redis_server.url,
        CELERY_BROKER_URL=redis_server.url.replace("/0", "/1"),
        CACHE_RETRY_INTERVAL="1",
    )
    health_url = f"http://127.0.0.1:{server.port}/healthz"
    with httpx.Client(timeout=30) as client:
        api = Api(client, server.http_url)
        [warm] = api.data("Catalog", {"first": 5})["products"]["edges"]  # cached in Redis
        assert client.get(health_url).json()["cache"] == "ok"

        redis_server.stop()
        down_at = time.monotonic()
        api.durations.clear()

        [edge] = api.data("Catalog", {"first": 5})["products"]["edges"]
        assert edge == warm
        user = {"email": "ann@example.com", "name": "Ann", "password": PASSWORD}
        assert api.data("Register", {"input": user})["register"]["email"] == "ann@example.com"
        pair = api.data("ObtainToken", {"email": "ann@example.com", "password": PASSWORD})
        token = pair["obtainToken"]["accessToken"]
        assert api.data("Me", token=token)["me"]["email"] == "ann@example.com"
        items = [{"productId": edge["node"]["id"], "quantity": 2}]
        order = api.data("PlaceOrder", {"items": items}, token=token)["createOrder"]
        assert order["status"] == "PENDING"
        # Its status notice reaches no other process (they hear it through Redis); they re-read
        # what they watch once Redis is back.
        cancelled = api.data("CancelOrder", {"id": order["id"]}, token=token)["cancelOrder"]
        assert cancelled["status"] == "CANCELLED"
        # A change shows on the next request: nothing is served from before it.
        Product.objects.filter(sku="MUG").update(stock=1)
        [changed] = api.data("Catalog", {"first": 5})["products"]["edges"]
        assert changed["node"]["stock"] == 1

        # Login limits, counted in PostgreSQL: five failures, then refused even when right.
        wrong = {"email": "ann@example.com", "password": "x"}
        assert [api.code("ObtainToken", wrong) for _ in range(5)] == ["UNAUTHENTICATED"] * 5
        refused = api.send("ObtainToken", {"email": "ann@example.com", "password": PASSWORD})
        assert refused["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"

        health = client.get(health_url)
        assert (health.status_code, health.json()) == (
            503,
            {"status": "error", "database": "ok", "cache": "error", "broker": "error"},
        )
        down_for = time.monotonic() - down_at
        slowest = {name: round(max(times) * 1000) for name, times in api.durations.items()}
        print(f"Redis down {down_for:.1f} s; slowest of each operation (ms): {slowest}")
        # Milliseconds, not seconds (a login's time is its password hashing).
        assert max(slowest.values()) < 1000

        redis_server.start()
        deadline = time.monotonic() + 10
        while client.get(health_url).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        [back] = api.data("Catalog", {"first": 5})["products"]["edges"]
        assert back["node"]["stock"] == 1

    # One warning per retry interval while down, not one per request; one when back.
    log = server.output()
    warnings = log.count("unreachable for")
    print(f"{warnings} 'unreachable' warnings over {down_for:.1f} s")
    assert 1 <= warnings <= down_for / 1 + 2
    assert log.count("reachable again after") == 1
