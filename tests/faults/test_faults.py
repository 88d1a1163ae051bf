"""Nothing lost, nothing doubled: orders and emails through a dead worker, Redis restarted empty
and PostgreSQL dropping the API's connections, under load.

After each fault the stack drains, then: stock plus confirmed quantities equals the starting
stock; nothing is PENDING; each CONFIRMED order has one confirmation email and each new user
one welcome email, and no other email went out; a request that answered with an error created
nothing and a success exactly one order (its idempotency key); every answer was JSON.
"""

from __future__ import annotations

import time
from collections import Counter

import psycopg
import pytest
from django.db import connection
from django.db.models import Sum
from strawberry.relay import from_base64

from apps.core.models import Email
from apps.orders.models import Order, OrderItem, OrderStatus
from apps.users.models import User
from tests.faults.conftest import (
    LOAD_SECONDS,
    WEB_APPLICATION_NAME,
    Outcome,
    Stack,
    run_load,
    summary,
)
from tests.live import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def owed() -> tuple[int, int]:
    """Orders still PENDING, emails still unsent."""
    pending = Order.objects.filter(status=OrderStatus.PENDING).count()
    return pending, Email.objects.filter(sent_at__isnull=True).count()


def drain(stack: Stack, timings: dict) -> None:
    """Until nothing is owed: no order PENDING, no email unsent. A longer load leaves a longer
    backlog (a minute without a worker is a minute of orders), so it may take longer."""
    try:
        wait_for(lambda: owed() == (0, 0), timeout=120 + 2 * LOAD_SECONDS, what="the drain")
    except AssertionError as error:
        raise AssertionError(
            f"{error}: still owed (pending orders, unsent emails) {owed()}"
        ) from None
    timings["drained_at"] = time.monotonic()
    time.sleep(1)  # a duplicate email would have been written by now


def check_nothing_lost_nothing_doubled(
    stack: Stack, shop: dict, outcomes: list[Outcome], *, redelivered: int = 0
) -> None:
    """`redelivered`: how many emails may have gone out twice, with one Message-ID (a worker
    killed between the mail server's acceptance and the commit; apps/core/mail.py)."""
    assert outcomes, "the load sent nothing"
    assert [o for o in outcomes if not o.json] == []  # never an HTML page
    assert [o for o in outcomes if o.code == "TRANSPORT"] == []  # the API stayed up

    orders = [o for o in outcomes if o.kind == "order"]
    placed = dict(
        Order.objects.filter(idempotency_key__in=[o.key for o in orders]).values_list(
            "idempotency_key", "pk"
        )
    )
    for outcome in orders:
        if outcome.ok:
            assert placed.get(outcome.key) == int(from_base64(outcome.order_id)[1]), outcome
        else:
            assert outcome.key not in placed, outcome  # an error created nothing
    registrations = [o for o in outcomes if o.kind == "register"]
    registered = set(
        User.objects.filter(email__in=[o.key for o in registrations]).values_list(
            "email", flat=True
        )
    )
    assert registered == {o.key for o in registrations if o.ok}

    assert not Order.objects.filter(status=OrderStatus.PENDING).exists()
    for product in shop["products"]:
        product.refresh_from_db()
        confirmed = OrderItem.objects.filter(
            product=product, order__status=OrderStatus.CONFIRMED
        ).aggregate(total=Sum("quantity"))["total"]
        assert product.stock + (confirmed or 0) == shop["stock"][product.pk], product

    deliveries = stack.deliveries()
    subjects = Counter(subject for subject, _ in set(deliveries))
    assert len(deliveries) - len(set(deliveries)) <= redelivered
    confirmed_ids = list(
        Order.objects.filter(status=OrderStatus.CONFIRMED).values_list("pk", flat=True)
    )
    assert confirmed_ids, "no order was confirmed"
    expected = Counter({f"Order {pk} confirmed": 1 for pk in confirmed_ids})
    if registered:
        expected["Welcome to the shop"] = len(registered)
    assert subjects == expected
    assert not Email.objects.filter(sent_at__isnull=True).exists()


def test_a_worker_killed_mid_load(stack, shop):
    def kill() -> None:
        stack.worker.kill()

    def restart() -> None:
        # The supervisor restarts it (tests/faults/conftest.py, RESTART_DELAY).
        wait_for(lambda: stack.restarts["worker"] == 1, timeout=30, what="the worker's restart")

    outcomes, timings = run_load(stack, shop, kill, restart)
    drain(stack, timings)
    print(summary("worker SIGKILL", outcomes, stack, timings))
    # The API does not depend on the worker: nothing failed.
    assert [o for o in outcomes if not o.ok] == []
    check_nothing_lost_nothing_doubled(stack, shop, outcomes, redelivered=1)
    assert stack.health()[0] == 200


def test_redis_stopped_and_restarted_empty(stack, shop):
    during: list[tuple[int, dict]] = []

    def stop() -> None:
        stack.redis.stop()
        during.append(stack.health())

    def restart() -> None:
        stack.redis.start()

    outcomes, timings = run_load(stack, shop, stop, restart)
    status, body = during[0]
    assert status == 503
    assert (body["cache"], body["broker"], body["database"]) == ("error", "error", "ok")
    wait_for(lambda: stack.health()[0] == 200, timeout=30, what="/healthz back to 200")
    drain(stack, timings)
    print(summary("Redis stopped, restarted empty", outcomes, stack, timings))
    # Reads and writes keep working from PostgreSQL while Redis is down.
    assert [o for o in outcomes if not o.ok] == []
    check_nothing_lost_nothing_doubled(stack, shop, outcomes)


def test_postgresql_drops_the_apis_connections(stack, shop):
    terminated: list[int] = []
    timings_terminated: list[float] = []

    def terminate() -> None:
        db = connection.settings_dict
        with psycopg.connect(
            dbname=db["NAME"], host=db["HOST"], port=db["PORT"], user=db["USER"], autocommit=True
        ) as admin:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                [WEB_APPLICATION_NAME],
            ).fetchall()
        terminated.append(len(rows))
        timings_terminated.append(time.monotonic())

    outcomes, timings = run_load(stack, shop, terminate, lambda: None)
    assert terminated[0] > 0, "the API held no connection to terminate"
    timings["terminated_at"] = timings_terminated[0]
    drain(stack, timings)
    print(summary("pg_terminate_backend of the API's connections", outcomes, stack, timings))
    failed = [o for o in outcomes if not o.ok]
    # Only the requests in flight may fail (one per client at most), answered as the contract
    # says; every request sent after the termination succeeds.
    assert len(failed) <= len(shop["tokens"]), failed
    assert {o.code for o in failed} <= {"INTERNAL_SERVER_ERROR"}
    assert [o for o in failed if o.started > timings["terminated_at"]] == []
    check_nothing_lost_nothing_doubled(stack, shop, outcomes)
    assert stack.health()[0] == 200
