"""The in-stack baselines: two of the bare views' answers (bench/bare/views.py) served inside
the API's stack (its settings, middleware, Bearer authentication, cache): the stack's own
cost, beside the bare baseline's whole difference.

- `AdminUsersWithOrders` for `{"first": 50, "ordersFirst": 10}`: same visibility (ADMIN only).
- `Catalog` for `{"first": 1}`, anonymous: like the API, it keeps the page in the cache under
  the catalog's version, so both answer from Redis.

Each answers the same JSON bytes as the GraphQL endpoint (the runner checks before timing).
"""

from __future__ import annotations

import orjson
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.catalog.selectors import product_list_cached
from bench.bare import views as bare

FIRST, ORDERS_FIRST = 50, 10
JSON = "application/json"


@csrf_exempt
@require_POST
def admin_users_with_orders(request: HttpRequest) -> HttpResponse:
    """POST with a Bearer token of an ADMIN (the body is ignored: first 50, ordersFirst 10)."""
    user = request.user
    if not (user.is_authenticated and getattr(user, "is_admin", False)):
        body = {"data": {"users": None}, "errors": [{"message": "Forbidden"}]}
        return HttpResponse(orjson.dumps(body), content_type=JSON, status=200)
    data = bare.admin_users_with_orders(first=FIRST, ordersFirst=ORDERS_FIRST)
    return HttpResponse(orjson.dumps({"data": data}), content_type=JSON)


def catalog_first_one_data() -> dict:
    return bare.catalog(first=1)


@csrf_exempt
@require_POST
def catalog_first_one(request: HttpRequest) -> HttpResponse:
    """POST, anonymous (the body is ignored: first 1)."""
    data = product_list_cached(key="bench-baseline-first-1", load=catalog_first_one_data)
    return HttpResponse(orjson.dumps({"data": data}), content_type=JSON)
