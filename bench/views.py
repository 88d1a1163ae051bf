"""The baseline: `AdminUsersWithOrders` (users page, their orders, items, products) answered by
a plain Django view, with `values()` and orjson: what the same JSON costs without GraphQL.

Same middleware (Bearer auth included), same visibility (ADMIN only), same JSON bytes as the
GraphQL endpoint for `{"first": 50, "ordersFirst": 10}` (the runner checks before timing).
"""

from __future__ import annotations

import base64

import orjson
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.orders.models import Order, OrderItem, OrderStatus
from apps.users.models import User, UserRole

FIRST, ORDERS_FIRST = 50, 10
# The enums' GraphQL names: the member names of the models' choices.
STATUS = {status.value: status.name for status in OrderStatus}
ROLE = {role.value: role.name for role in UserRole}
JSON = "application/json"


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


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
                "unitPrice": f"{unit_price:.2f}",
                "product": {
                    "id": global_id("Product", product_id),
                    "name": product_name,
                    "price": f"{product_price:.2f}",
                },
            }
        )
    for order in orders:
        orders_by_user[order["user_id"]].append(
            {
                "node": {
                    "id": global_id("Order", order["id"]),
                    "status": STATUS[order["status"]],
                    "total": f"{order['total']:.2f}",
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
