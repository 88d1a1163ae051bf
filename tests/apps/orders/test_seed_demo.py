import pytest
from django.core.management import call_command

from apps.catalog.models import Product
from apps.orders.models import Order, OrderItem
from apps.users.models import User, UserRole

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    first = (
        User.objects.count(),
        Product.objects.count(),
        Order.objects.count(),
        OrderItem.objects.count(),
    )
    call_command("seed_demo")
    again = (
        User.objects.count(),
        Product.objects.count(),
        Order.objects.count(),
        OrderItem.objects.count(),
    )

    assert first == again == (2, 6, 3, 4)
    admin = User.objects.get(email="admin@example.com")
    assert admin.role == UserRole.ADMIN and admin.check_password("admin-demo-password")
    assert User.objects.get(email="user@example.com").check_password("user-demo-password")
    statuses = sorted(Order.objects.values_list("status", flat=True))
    assert statuses == ["confirmed", "confirmed", "failed"]


def test_seed_demo_keeps_stock_that_orders_changed():
    call_command("seed_demo")
    Product.objects.filter(sku="KB-001").update(stock=3)
    call_command("seed_demo")
    assert Product.objects.get(sku="KB-001").stock == 3
    assert Product.objects.get(sku="MN-003").stock == 8


def test_seed_demo_prints_credentials(capsys):
    call_command("seed_demo")
    output = capsys.readouterr().out
    assert "admin@example.com / admin-demo-password" in output
    assert "user@example.com / user-demo-password" in output
