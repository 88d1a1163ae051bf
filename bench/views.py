"""The baselines: contract operations answered by plain Django views, with `values()` and
orjson: what the same JSON costs without GraphQL.

- `AdminUsersWithOrders` (users page, their orders, items, products) for
  `{"first": 50, "ordersFirst": 10}`: same middleware (Bearer auth included), same
  visibility (ADMIN only).
- `Catalog` for `{"first": 1}`, anonymous: the per-request overhead. Like the API, it keeps
  the page in the cache under the catalog's version, so both answer from Redis.

Each answers the same JSON bytes as the GraphQL endpoint (the runner checks before timing).
"""

from __future__ import annotations

import base64

import orjson
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.catalog.models import Product
from apps.catalog.selectors import product_list_cached
from apps.orders.models import Order, OrderItem, OrderStatus
from apps.users.models import User, UserRole

FIRST, ORDERS_FIRST = 50, 10
# The enums' GraphQL names: the member names of the models' choices.
STATUS = {status.value: status.name for status in OrderStatus}
ROLE = {role.value: role.name for role in UserRole}
JSON = "application/json"


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def money(value) -> str:
    return f"{value:.2f}"


def cursor(pk: int) -> str:
    """A keyset cursor of the default ordering (the primary key), as the connections make it."""
    return base64.b64encode(f'orderedcursor:["{pk}"]'.encode()).decode()


def admin_users_with_orders_data(*, first: int = FIRST, orders_first: int = ORDERS_FIRST) -> dict:
    """The `data` of the operation, in 4 statements: a page of users (one more row tells
    whether there is a next page), their count, the first orders of each (row number per
    user), their items joined to their products."""
    users = list(User.objects.order_by("pk").values("id", "email", "name", "role")[: first + 1])
    has_next_page = len(users) > first
    users = users[:first]
    total = User.objects.count()
    orders_by_user: dict[int, list[dict]] = {user["id"]: [] for user in users}
    orders = list(
        Order.objects.filter(user_id__in=list(orders_by_user))
        .annotate(row=Window(RowNumber(), partition_by=F("user_id"), order_by=F("pk").asc()))
        .filter(row__lte=orders_first)
        .order_by("pk")
        .values("id", "user_id", "status", "total", "created_at")
    )
    items_by_order: dict[int, list[dict]] = {order["id"]: [] for order in orders}
    items = (
        OrderItem.objects.filter(order_id__in=list(items_by_order))
        .order_by("pk")
        .values_list(
            "order_id", "quantity", "unit_price", "product_id", "product__name", "product__price"
        )
    )
    for order_id, quantity, unit_price, product_id, product_name, product_price in items:
        items_by_order[order_id].append(
            {
                "quantity": quantity,
                "unitPrice": money(unit_price),
                "product": {
                    "id": global_id("Product", product_id),
                    "name": product_name,
                    "price": money(product_price),
                },
            }
        )
    for order in orders:
        orders_by_user[order["user_id"]].append(
            {
                "node": {
                    "id": global_id("Order", order["id"]),
                    "status": STATUS[order["status"]],
                    "total": money(order["total"]),
                    "createdAt": order["created_at"].isoformat(),
                    "items": items_by_order[order["id"]],
                }
            }
        )
    return {
        "users": {
            "totalCount": total,
            "pageInfo": {
                "hasNextPage": has_next_page,
                "endCursor": cursor(users[-1]["id"]) if users else None,
            },
            "edges": [
                {
                    "node": {
                        "id": global_id("User", user["id"]),
                        "email": user["email"],
                        "name": user["name"],
                        "role": ROLE[user["role"]],
                        "orders": {"edges": orders_by_user[user["id"]]},
                    }
                }
                for user in users
            ],
        }
    }


@csrf_exempt
@require_POST
def admin_users_with_orders(request: HttpRequest) -> HttpResponse:
    """POST with a Bearer token of an ADMIN (the body is ignored: first 50, ordersFirst 10)."""
    user = request.user
    if not (user.is_authenticated and getattr(user, "is_admin", False)):
        body = {"data": {"users": None}, "errors": [{"message": "Forbidden"}]}
        return HttpResponse(orjson.dumps(body), content_type=JSON, status=200)
    data = admin_users_with_orders_data()
    return HttpResponse(orjson.dumps({"data": data}), content_type=JSON)


def catalog_first_one_data() -> dict:
    """The `data` of `Catalog(first: 1)` for an anonymous caller: the page and its count."""
    active = Product.objects.filter(is_active=True)
    fields = ("id", "sku", "name", "price", "stock", "is_active", "description")
    rows = list(active.order_by("pk").values(*fields)[:2])
    edges = [
        {
            "cursor": cursor(row["id"]),
            "node": {
                "id": global_id("Product", row["id"]),
                "sku": row["sku"],
                "name": row["name"],
                "price": money(row["price"]),
                "stock": row["stock"],
                "isActive": row["is_active"],
                "description": row["description"],
            },
        }
        for row in rows[:1]
    ]
    start = edges[0]["cursor"] if edges else None
    return {
        "products": {
            "totalCount": active.count(),
            "pageInfo": {
                "hasNextPage": len(rows) > 1,
                "hasPreviousPage": False,
                "startCursor": start,
                "endCursor": start,
            },
            "edges": edges,
        }
    }


@csrf_exempt
@require_POST
def catalog_first_one(request: HttpRequest) -> HttpResponse:
    """POST, anonymous (the body is ignored: first 1)."""
    data = product_list_cached(key="bench-baseline-first-1", load=catalog_first_one_data)
    return HttpResponse(orjson.dumps({"data": data}), content_type=JSON)
