import pytest
from django.core.management import call_command
from django.db import IntegrityError

from apps.users.models import User, UserRole
from apps.users.selectors import user_search
from tests.factories import UserFactory

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


def test_search_matches_email_or_name_ignoring_case():
    ann = UserFactory(email="ann@example.com", name="Ann Lee")
    bob = UserFactory(email="bob@example.com", name="Robert")
    assert list(User.objects.filter(user_search("ANN"))) == [ann]
    assert list(User.objects.filter(user_search("robert"))) == [bob]
    assert set(User.objects.filter(user_search("example"))) == {ann, bob}
