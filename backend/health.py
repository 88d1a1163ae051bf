"""`GET /healthz`: whether this process can reach its database, cache and broker."""

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 2


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    check = getattr(cache, "check", None)
    if check is not None:
        # backend.cache.TolerantRedisCache answers misses while Redis is down: ask Redis itself.
        check()
        return
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    if cache.get(key) != "ok":
        raise RuntimeError("cache did not return what was stored")
    cache.delete(key)


def _broker() -> None:
    if settings.CELERY_BROKER_URL == settings.IN_PROCESS_BROKER:
        return  # no broker: tasks run in-process
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT_SECONDS) as broker:
        # One attempt: a broker that is down answers 503 at once, not after kombu's retries.
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=TIMEOUT_SECONDS)


CHECKS = {"database": _database, "cache": _cache, "broker": _broker}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with every part "ok", or 503 with the failing parts marked "error"."""
    body = {"status": "ok"}
    for name, check in CHECKS.items():
        try:
            check()
            body[name] = "ok"
        except Exception:
            logger.exception("Health check failed: %s", name)
            body[name] = "error"
            body["status"] = "error"
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)
