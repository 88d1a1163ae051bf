"""Demo data for a first look: an admin, a user, a catalog and a few orders. Safe to run twice."""

from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.catalog.models import Product
from apps.orders.models import Order, OrderItem, OrderStatus
from apps.users.models import User, UserRole

ADMIN = ("admin@example.com", "Ada Admin", "admin-demo-password")
USER = ("user@example.com", "Uma User", "user-demo-password")
PRODUCTS = [
    ("KB-001", "Mechanical keyboard", "Tactile switches, full size.", "89.90", 25),
    ("MS-002", "Wireless mouse", "Ergonomic, 6 buttons.", "34.50", 40),
    ("MN-003", "27-inch monitor", "1440p, 144 Hz.", "279.00", 8),
    ("HD-004", "Headphones", "Closed-back, wired.", "59.00", 0),
    ("CB-005", "USB-C cable", "2 m, braided.", "9.99", 200),
    ("DK-006", "Laptop dock", "Dual display, 100 W.", "149.00", 12),
]


class Command(BaseCommand):
    help = "Load demo data (an admin, a user, products, orders). Idempotent."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        admin = self._user(*ADMIN, role=UserRole.ADMIN)
        user = self._user(*USER, role=UserRole.USER)
        # Created once: a second run keeps whatever stock orders placed since have left.
        products = {
            sku: Product.objects.get_or_create(
                sku=sku,
                defaults={
                    "name": name,
                    "description": text,
                    "price": Decimal(price),
                    "stock": stock,
                },
            )[0]
            for sku, name, text, price, stock in PRODUCTS
        }
        if not Order.objects.filter(user=user).exists():
            self._order(
                user, [(products["KB-001"], 1), (products["CB-005"], 2)], OrderStatus.CONFIRMED
            )
            self._order(
                user,
                [(products["HD-004"], 1)],
                OrderStatus.FAILED,
                failure_reason="Insufficient stock for HD-004",
            )
        if not Order.objects.filter(user=admin).exists():
            self._order(admin, [(products["DK-006"], 1)], OrderStatus.CONFIRMED)

        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with:"))
        self.stdout.write(f"  ADMIN  {ADMIN[0]} / {ADMIN[2]}")
        self.stdout.write(f"  USER   {USER[0]} / {USER[2]}")

    def _user(self, email: str, name: str, password: str, *, role: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            extra = {"is_staff": True, "is_superuser": True} if role == UserRole.ADMIN else {}
            user = User.objects.create_user(email, password, name=name, role=role, **extra)
        return user

    def _order(self, user: User, lines: list[tuple[Product, int]], status: str, **fields) -> Order:
        """An order in its final state, as if processed (demo stock already accounts for it)."""
        total = sum((product.price * quantity for product, quantity in lines), Decimal("0"))
        order = Order.objects.create(user=user, status=status, total=total, **fields)
        OrderItem.objects.bulk_create(
            OrderItem(order=order, product=product, quantity=quantity, unit_price=product.price)
            for product, quantity in lines
        )
        return order
