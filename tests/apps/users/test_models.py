import pytest
from django.core.management import call_command
from django.db import IntegrityError

from apps.users.models import User, UserRole
from tests.factories import AdminFactory, OrderItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_user_stores_email_lower_case():
    user = User.objects.create_user("Mixed.Case@Example.COM", "pw-123456789", name="M")
    assert user.email == "mixed.case@example.com"
    assert user.check_password("pw-123456789")
    assert user.role == UserRole.USER


def test_email_is_unique_ignoring_case_in_the_database():
    UserFactory(email="taken@example.com")
    with pytest.raises(IntegrityError):
        # Bypasses the manager's normalisation: the database itself refuses it.
        User.objects.bulk_create([User(email="TAKEN@example.com", name="x")])


def test_createsuperuser_makes_an_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-password")
    call_command("createsuperuser", "--no-input", email="Boss@Example.com", name="Boss")
    admin = User.objects.get(email="boss@example.com")
    assert (admin.role, admin.is_staff, admin.is_superuser) == (UserRole.ADMIN, True, True)
    assert admin.is_admin


def test_managers_and_queryset_methods():
    active = UserFactory()
    inactive = UserFactory(is_active=False)
    admin = AdminFactory()
    assert set(User.active.all()) == {active, admin}
    assert set(User.objects.all()) == {active, inactive, admin}
    assert list(User.objects.admins()) == [admin]


def test_with_orders_prefetches_orders_and_items(django_assert_num_queries):
    item = OrderItemFactory()
    user = item.order.user
    with django_assert_num_queries(3):
        (loaded,) = User.objects.filter(pk=user.pk).with_orders()
        orders = list(loaded.orders.all())
        assert [list(o.items.all()) for o in orders] == [[item]]
