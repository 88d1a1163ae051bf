"""Benchmark data at any size: `manage.py seed_bench --users N`.

Deterministic: N users (the first is an ADMIN), 1,000 products, 10 orders per user and 3
items per order, every value derived from row numbers. PostgreSQL loads with COPY in
batches (one transaction per batch); other databases fall back to batched bulk_create.
Passwords are hashed once: every user shares one hash, the admin has its own.
Refuses to run over existing users, products or orders unless `--flush`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connections, transaction

from apps.catalog.models import Product
from apps.orders.models import Order, OrderItem, OrderStatus
from apps.users.models import RefreshToken, User, UserRole

PRODUCTS = 1000
ORDERS_PER_USER = 10
ITEMS_PER_ORDER = 3
ADMIN_EMAIL = "admin@bench.example"
ADMIN_PASSWORD = "bench-admin-password"
USER_PASSWORD = "bench-user-password"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
# Order k of every user (k = 0..9): 7 confirmed, then one each of failed, cancelled, pending.
STATUSES = [OrderStatus.CONFIRMED] * 7 + [
    OrderStatus.FAILED,
    OrderStatus.CANCELLED,
    OrderStatus.PENDING,
]
FAILURE_REASON = "Insufficient stock for BENCH-0001"

USER_COLUMNS = (
    "id",
    "password",
    "last_login",
    "is_superuser",
    "email",
    "name",
    "role",
    "is_active",
    "is_staff",
    "date_joined",
)
PRODUCT_COLUMNS = (
    "id",
    "sku",
    "name",
    "description",
    "price",
    "stock",
    "is_active",
    "created_at",
    "updated_at",
)
ORDER_COLUMNS = (
    "id",
    "user_id",
    "status",
    "total",
    "failure_reason",
    "created_at",
    "updated_at",
)
ITEM_COLUMNS = ("id", "order_id", "product_id", "quantity", "unit_price")


def user_email(n: int) -> str:
    """The email of the n-th seeded user (0-based); n = 0 is the admin."""
    return ADMIN_EMAIL if n == 0 else f"user{n:07d}@bench.example"


def product_price(p: int) -> Decimal:
    """1.00 to 99.99, spread over the catalog."""
    return Decimal(100 + (p * 7919) % 9900) / 100


def _ts(value: datetime) -> str:
    return value.isoformat(sep=" ")


class Plan:
    """Every row of the data set as tuples of COPY text (None for NULL), in column order."""

    def __init__(self, *, users: int, start_ids: dict[str, int], user_hash: str, admin_hash: str):
        self.users = users
        self.ids = start_ids
        self.user_hash = user_hash
        self.admin_hash = admin_hash
        self.prices = [product_price(p) for p in range(PRODUCTS)]
        self.price_text = [f"{price:.2f}" for price in self.prices]

    def products(self) -> Iterator[tuple]:
        created = _ts(EPOCH)
        for p in range(PRODUCTS):
            yield (
                str(self.ids["product"] + p),
                f"BENCH-{p + 1:04d}",
                f"Bench product {p + 1:04d}",
                f"Deterministic benchmark product number {p + 1}.",
                self.price_text[p],
                str(100 + p % 50),
                "t",
                created,
                created,
            )

    def users_between(self, first: int, last: int) -> Iterator[tuple]:
        for n in range(first, last):
            admin = n == 0
            joined = _ts(EPOCH + timedelta(minutes=n))
            yield (
                str(self.ids["user"] + n),
                self.admin_hash if admin else self.user_hash,
                None,
                "t" if admin else "f",
                user_email(n),
                "Bench Admin" if admin else f"Bench User {n:07d}",
                UserRole.ADMIN.value if admin else UserRole.USER.value,
                "t",
                "t" if admin else "f",
                joined,
            )

    def orders_and_items_between(
        self, first: int, last: int, orders: list[tuple], items: list[tuple]
    ) -> None:
        """Appends the orders (and their items) of users first..last-1."""
        order_id0, item_id0 = self.ids["order"], self.ids["item"]
        product_id0, user_id0 = self.ids["product"], self.ids["user"]
        price_text, prices = self.price_text, self.prices
        for n in range(first, last):
            joined = EPOCH + timedelta(minutes=n)
            for k in range(ORDERS_PER_USER):
                o = n * ORDERS_PER_USER + k
                total = Decimal(0)
                for j in range(ITEMS_PER_ORDER):
                    p = (o * ITEMS_PER_ORDER + j) % PRODUCTS
                    quantity = 1 + (o + j) % 4
                    total += prices[p] * quantity
                    items.append(
                        (
                            str(item_id0 + o * ITEMS_PER_ORDER + j),
                            str(order_id0 + o),
                            str(product_id0 + p),
                            str(quantity),
                            price_text[p],
                        )
                    )
                status = STATUSES[k]
                created = _ts(joined + timedelta(hours=k + 1))
                orders.append(
                    (
                        str(order_id0 + o),
                        str(user_id0 + n),
                        status.value,
                        f"{total:.2f}",
                        FAILURE_REASON if status == OrderStatus.FAILED else None,
                        created,
                        created,
                    )
                )


class Command(BaseCommand):
    help = "Seed deterministic benchmark data: N users, 1,000 products, 10 orders x 3 items each."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", type=int, required=True, help="Number of users (>= 1).")
        parser.add_argument(
            "--flush",
            action="store_true",
            help="Delete every user, product and order (and refresh token) first.",
        )
        parser.add_argument(
            "--batch-users",
            type=int,
            default=10_000,
            help="Users per batch (each batch: its users, orders and items). Default 10,000.",
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, users: int, flush: bool, batch_users: int, database: str, **options):
        if users < 1:
            raise CommandError("--users must be at least 1 (the first user is the admin).")
        if batch_users < 1:
            raise CommandError("--batch-users must be at least 1.")
        self.connection = connections[database]
        self.using = database
        self.postgres = self.connection.vendor == "postgresql"
        started = time.perf_counter()
        if flush:
            self._flush()
        elif any(
            model.objects.using(database).exists() for model in (User, Product, Order, OrderItem)
        ):
            raise CommandError(
                "The database already has users, products or orders: seed_bench only fills an "
                "empty one. Run it with --flush to delete them first."
            )

        # Hashed once each: a million PBKDF2 rounds per user would take days.
        plan = Plan(
            users=users,
            start_ids=self._reserve_ids(users),
            user_hash=make_password(USER_PASSWORD),
            admin_hash=make_password(ADMIN_PASSWORD),
        )
        load = self._copy if self.postgres else self._bulk_create
        with transaction.atomic(using=database):
            load(Product, PRODUCT_COLUMNS, plan.products())
        done = 0
        while done < users:
            last = min(users, done + batch_users)
            orders: list[tuple] = []
            items: list[tuple] = []
            plan.orders_and_items_between(done, last, orders, items)
            with transaction.atomic(using=database):
                load(User, USER_COLUMNS, plan.users_between(done, last))
                load(Order, ORDER_COLUMNS, orders)
                load(OrderItem, ITEM_COLUMNS, items)
            done = last
            elapsed = time.perf_counter() - started
            self.stdout.write(
                f"  {done * 100 / users:5.1f}%  {done:,} / {users:,} users  ({elapsed:.1f} s)"
            )
        self._reset_sequences()
        if self.postgres:
            with self.connection.cursor() as cursor:
                for model in (User, Product, Order, OrderItem):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")

        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {users:,} users, {PRODUCTS:,} products, "
                f"{users * ORDERS_PER_USER:,} orders, "
                f"{users * ORDERS_PER_USER * ITEMS_PER_ORDER:,} items "
                f"in {elapsed:.1f} s ({'COPY' if self.postgres else 'bulk_create'})."
            )
        )
        self.stdout.write(f"  ADMIN  {ADMIN_EMAIL} / {ADMIN_PASSWORD}")
        if users > 1:
            self.stdout.write(f"  USER   {user_email(1)} / {USER_PASSWORD} (every other user too)")

    def _flush(self) -> None:
        models = (OrderItem, Order, RefreshToken, User, Product)
        with transaction.atomic(using=self.using):
            if self.postgres:
                tables = ", ".join(model._meta.db_table for model in models)
                with self.connection.cursor() as cursor:
                    # Checks deferred by rows written earlier in an enclosing transaction (a
                    # test's) run now: TRUNCATE refuses a table with pending trigger events.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    # CASCADE: also rows of other tables that point at users (admin log, ...).
                    cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            else:
                for model in models:
                    model.objects.using(self.using).all().delete()

    def _reserve_ids(self, users: int) -> dict[str, int]:
        """The first id of each table's block; on PostgreSQL, blocks taken from the sequences."""
        sizes = {
            "user": (User, users),
            "product": (Product, PRODUCTS),
            "order": (Order, users * ORDERS_PER_USER),
            "item": (OrderItem, users * ORDERS_PER_USER * ITEMS_PER_ORDER),
        }
        if not self.postgres:
            return dict.fromkeys(sizes, 1)
        starts = {}
        with self.connection.cursor() as cursor:
            for key, (model, size) in sizes.items():
                table = model._meta.db_table
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table]
                )  # is_called: the block starts here
                (start,) = cursor.fetchone()
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, start + size - 1]
                )
                starts[key] = start
        return starts

    def _reset_sequences(self) -> None:
        if self.postgres:
            return  # the blocks were reserved from the sequences
        statements = self.connection.ops.sequence_reset_sql(
            no_style(), [User, Product, Order, OrderItem]
        )
        with self.connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    def _copy(self, model, columns: tuple[str, ...], rows) -> None:
        table = model._meta.db_table
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self.connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    def _bulk_create(self, model, columns: tuple[str, ...], rows) -> None:
        """The same rows as COPY, turned back into field values for the ORM."""
        fields = {field.column: field for field in model._meta.concrete_fields}
        booleans = {
            name
            for name, field in fields.items()
            if field.get_internal_type().endswith("BooleanField")
        }
        objects = []
        for row in rows:
            values = {}
            for column, text in zip(columns, row, strict=True):
                field = fields[column]
                if text is None:
                    value = None
                elif column in booleans:
                    value = text == "t"
                else:
                    value = field.to_python(text)
                values[field.attname] = value
            objects.append(model(**values))
        model.objects.using(self.using).bulk_create(objects, batch_size=2000)
