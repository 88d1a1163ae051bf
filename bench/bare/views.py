"""The benchmarked operations as plain views: `values()` rows written with orjson.

Each answers the bytes the API answers for the same variables (`data` in the document's field
order, global ids, money with two decimals, ISO date-times, keyset cursors), in as few
statements as a hand-written view takes. The variables come in the request's JSON body, as
the API's do; who asks comes as `?user=<pk>` (nothing checks it: no authentication here).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from decimal import Decimal

import orjson
from django.db.models import Count, F, Q, Sum, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.catalog.models import Product
from apps.orders.models import Order, OrderItem, OrderStatus
from apps.users.models import User, UserRole

DEFAULT_PAGE = 20
# The enums' GraphQL names: the member names of the models' choices.
STATUS = {status.value: status.name for status in OrderStatus}
ROLE = {role.value: role.name for role in UserRole}
PRODUCT_CARD = ("id", "sku", "name", "price", "stock", "is_active")


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def cursor(*values: str) -> str:
    """A keyset cursor: the row's ordering values, the primary key last."""
    text = json.dumps(list(values), separators=(",", ":"))
    return base64.b64encode(f"orderedcursor:{text}".encode()).decode()


def cursor_values(text: str) -> list[str]:
    return json.loads(base64.b64decode(text).decode().removeprefix("orderedcursor:"))


def page_info(rows: list, cursors: list[str], *, has_next: bool, has_previous: bool) -> dict:
    return {
        "hasNextPage": has_next,
        "hasPreviousPage": has_previous,
        "startCursor": cursors[0] if rows else None,
        "endCursor": cursors[-1] if rows else None,
    }


def product_card(row: dict, prefix: str = "") -> dict:
    return {
        "id": global_id("Product", row[f"{prefix}id"]),
        "sku": row[f"{prefix}sku"],
        "name": row[f"{prefix}name"],
        "price": money(row[f"{prefix}price"]),
        "stock": row[f"{prefix}stock"],
        "isActive": row[f"{prefix}is_active"],
    }


# --- the operations' `data` ----------------------------------------------------------------


def admin_users_with_orders(*, first: int, ordersFirst: int) -> dict:
    """A page of users, their count, the first orders of each (row number per user), their
    items joined to their products: 4 statements."""
    users = list(User.objects.order_by("pk").values("id", "email", "name", "role")[: first + 1])
    has_next_page = len(users) > first
    users = users[:first]
    total = User.objects.count()
    orders_by_user: dict[int, list[dict]] = {user["id"]: [] for user in users}
    orders = list(
        Order.objects.filter(user_id__in=list(orders_by_user))
        .annotate(row=Window(RowNumber(), partition_by=F("user_id"), order_by=F("pk").asc()))
        .filter(row__lte=ordersFirst)
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
                "endCursor": cursor(str(users[-1]["id"])) if users else None,
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


def catalog(*, first: int = DEFAULT_PAGE) -> dict:
    """The first page of active products for an anonymous caller, and their count."""
    active = Product.objects.filter(is_active=True)
    rows = list(active.order_by("pk").values(*PRODUCT_CARD, "description")[: first + 1])
    has_next = len(rows) > first
    rows = rows[:first]
    cursors = [cursor(str(row["id"])) for row in rows]
    return {
        "products": {
            "totalCount": active.count(),
            "pageInfo": page_info(rows, cursors, has_next=has_next, has_previous=False),
            "edges": [
                {"cursor": c, "node": {**product_card(row), "description": row["description"]}}
                for c, row in zip(cursors, rows, strict=True)
            ],
        }
    }


def order_details(orders: list[dict]) -> list[dict]:
    """`OrderDetail` of each order row; their items, joined to their products, in 1 statement."""
    items_by_order: dict[int, list[dict]] = {order["id"]: [] for order in orders}
    columns = [f"product__{name}" for name in PRODUCT_CARD]
    items = (
        OrderItem.objects.filter(order_id__in=list(items_by_order))
        .order_by("pk")
        .values("id", "order_id", "quantity", "unit_price", *columns)
    )
    for item in items:
        items_by_order[item["order_id"]].append(
            {
                "id": str(item["id"]),
                "quantity": item["quantity"],
                "unitPrice": money(item["unit_price"]),
                "subtotal": money(item["unit_price"] * item["quantity"]),
                "product": product_card(item, "product__"),
            }
        )
    return [
        {
            "id": global_id("Order", order["id"]),
            "status": STATUS[order["status"]],
            "total": money(order["total"]),
            "itemCount": sum(item["quantity"] for item in items_by_order[order["id"]]),
            "failureReason": order["failure_reason"],
            "createdAt": order["created_at"].isoformat(),
            "updatedAt": order["updated_at"].isoformat(),
            "items": items_by_order[order["id"]],
        }
        for order in orders
    ]


ORDER_COLUMNS = ("id", "status", "total", "failure_reason", "created_at", "updated_at")


def my_orders(*, user: int, first: int = DEFAULT_PAGE) -> dict:
    """The caller's count and spending, and the newest page of its orders: 3 statements."""
    totals = Order.objects.filter(user_id=user).aggregate(
        count=Count("pk"), spent=Sum("total", filter=Q(status=OrderStatus.CONFIRMED))
    )
    rows = list(
        Order.objects.filter(user_id=user)
        .order_by("-created_at", "-pk")
        .values(*ORDER_COLUMNS)[: first + 1]
    )
    has_next = len(rows) > first
    rows = rows[:first]
    cursors = [cursor(row["created_at"].isoformat(), str(row["id"])) for row in rows]
    return {
        "me": {
            "id": global_id("User", user),
            "orderCount": totals["count"],
            "totalSpent": money(totals["spent"] or Decimal("0")),
            "orders": {
                "totalCount": totals["count"],
                "pageInfo": page_info(rows, cursors, has_next=has_next, has_previous=False),
                "edges": [
                    {"cursor": c, "node": node}
                    for c, node in zip(cursors, order_details(rows), strict=True)
                ],
            },
        }
    }


def order_by_id(*, user: int, id: str) -> dict:
    """One of the caller's orders by its global id, with its owner's name: 2 statements."""
    pk = int(base64.b64decode(id).decode().removeprefix("Order:"))
    rows = list(
        Order.objects.filter(pk=pk, user_id=user).values(*ORDER_COLUMNS, "user_id", "user__name")
    )
    if not rows:
        return {"node": None}
    (row,) = rows
    (node,) = order_details(rows)
    node["user"] = {"id": global_id("User", row["user_id"]), "name": row["user__name"]}
    return {"node": node}


def admin_users(*, first: int | None = None, after: str | None = None, last: int | None = None):
    """A page of users, newest first (keyset on date joined, then pk), forwards from a cursor or
    from the end, with each one's order count and spending: 3 statements."""
    users = User.objects.all()
    columns = ("id", "email", "name", "role", "is_active", "date_joined")
    if last is not None:
        rows = list(users.order_by("date_joined", "pk").values(*columns)[: last + 1])
        has_next, has_previous = False, len(rows) > last
        rows = rows[:last][::-1]
    else:
        first = DEFAULT_PAGE if first is None else first
        if after:
            joined, pk = cursor_values(after)
            users = users.filter(Q(date_joined__lt=joined) | Q(date_joined=joined, pk__lt=pk))
        rows = list(users.order_by("-date_joined", "-pk").values(*columns)[: first + 1])
        has_next, has_previous = len(rows) > first, bool(after)
        rows = rows[:first]
    totals = {
        row["user_id"]: row
        for row in Order.objects.filter(user_id__in=[row["id"] for row in rows])
        .order_by()
        .values("user_id")
        .annotate(count=Count("pk"), spent=Sum("total", filter=Q(status=OrderStatus.CONFIRMED)))
    }
    cursors = [cursor(row["date_joined"].isoformat(), str(row["id"])) for row in rows]
    edges = []
    for c, row in zip(cursors, rows, strict=True):
        total = totals.get(row["id"], {"count": 0, "spent": None})
        node = {
            "id": global_id("User", row["id"]),
            "email": row["email"],
            "name": row["name"],
            "role": ROLE[row["role"]],
            "isActive": row["is_active"],
            "dateJoined": row["date_joined"].isoformat(),
            "orderCount": total["count"],
            "totalSpent": money(total["spent"] or Decimal("0")),
        }
        edges.append({"cursor": c, "node": node})
    return {
        "users": {
            "totalCount": User.objects.count(),
            "pageInfo": page_info(rows, cursors, has_next=has_next, has_previous=has_previous),
            "edges": edges,
        }
    }


# --- the views -----------------------------------------------------------------------------


def bare_view(data: Callable[..., dict], *, who: bool = False) -> Callable:
    """POST with the operation's variables in a JSON body (`{"variables": {...}}`)."""

    @csrf_exempt
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        variables = orjson.loads(request.body).get("variables") or {}
        if who:
            variables["user"] = int(request.GET["user"])
        body = orjson.dumps({"data": data(**variables)})
        return HttpResponse(body, content_type="application/json")

    return view


VIEWS = {
    "AdminUsersWithOrders": bare_view(admin_users_with_orders),
    "Catalog": bare_view(catalog),
    "MyOrders": bare_view(my_orders, who=True),
    "OrderById": bare_view(order_by_id, who=True),
    "AdminUsers": bare_view(admin_users),
}
