import threading

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection

from apps.core.mail import email_send
from apps.core.models import Email
from apps.users import services, tokens
from apps.users.models import User
from tests.factories import PASSWORD, UserFactory

GOOD_PASSWORD = "a-sound-passphrase-42"


@pytest.mark.django_db
def test_register_normalises_the_email():
    user = services.user_register(email="  Ann@Example.COM ", name=" Ann ", password=GOOD_PASSWORD)
    assert (user.email, user.name, user.role) == ("ann@example.com", "Ann", "user")
    assert user.check_password(GOOD_PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "error_fields"),
    [
        ({"email": "not-an-email"}, {"email"}),
        ({"name": ""}, {"name"}),
        ({"name": "x" * 101}, {"name"}),
        ({"password": "123"}, {"password"}),
        ({"password": "password"}, {"password"}),
    ],
)
def test_register_validates_its_input(fields, error_fields):
    data = {"email": "ann@example.com", "name": "Ann", "password": GOOD_PASSWORD} | fields
    with pytest.raises(ValidationError) as error:
        services.user_register(**data)
    assert set(error.value.message_dict) == error_fields
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_owes_one_welcome_email_sent_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.user_register(email="new@example.com", name="New", password=GOOD_PASSWORD)
    welcome = [m for m in mail.outbox if m.subject == "Welcome to the shop"]
    assert [m.to for m in welcome] == [["new@example.com"]]
    owed = Email.objects.get(key=f"welcome:{user.pk}")
    assert owed.sent_at is not None
    assert email_send(email_id=owed.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_refused_registration_owes_nothing():
    UserFactory(email="ann@example.com")
    with pytest.raises(ValidationError):
        services.user_register(email="ann@example.com", name="Ann", password=GOOD_PASSWORD)
    assert not Email.objects.exists()


@pytest.mark.django_db
def test_register_refuses_an_email_taken_in_another_case():
    UserFactory(email="ann@example.com")
    with pytest.raises(ValidationError) as error:
        services.user_register(email="ANN@example.com", name="Ann", password=GOOD_PASSWORD)
    assert error.value.message_dict == {"email": ["A user with this email already exists."]}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_racing_registrations_of_one_email_exactly_one_wins():
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def register(email: str) -> None:
        start.wait()
        try:
            services.user_register(email=email, name="Racer", password=GOOD_PASSWORD)
            outcomes.append("won")
        except ValidationError as error:
            outcomes.append(str(error.message_dict["email"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(e,)) for e in ("race@x.io", "RACE@x.io")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["['A user with this email already exists.']", "won"]
    assert User.objects.filter(email="race@x.io").count() == 1


@pytest.mark.django_db
def test_password_change_needs_the_current_password_and_ends_other_sessions():
    user = UserFactory(email="ann@example.com")
    mine = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )
    other = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )

    with pytest.raises(ValidationError) as error:
        services.user_update_profile(user=user, password=GOOD_PASSWORD)
    assert set(error.value.message_dict) == {"current_password"}
    with pytest.raises(ValidationError) as error:
        services.user_update_profile(user=user, password=GOOD_PASSWORD, current_password="wrong")
    assert set(error.value.message_dict) == {"current_password"}

    services.user_update_profile(
        user=user,
        password=GOOD_PASSWORD,
        current_password=PASSWORD,
        keep_token_family=tokens.access_token_verify(mine.access_token).family,
    )
    user.refresh_from_db()
    assert user.check_password(GOOD_PASSWORD)
    assert tokens.token_refresh(refresh_token=mine.refresh_token)
    with pytest.raises(tokens.InvalidToken):
        tokens.token_refresh(refresh_token=other.refresh_token)


@pytest.mark.django_db
def test_deactivate_ends_every_token():
    user = UserFactory(email="ann@example.com")
    pair = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )
    services.user_deactivate(user=user)
    user.refresh_from_db()
    assert user.is_active is False
    with pytest.raises(tokens.InvalidToken):
        tokens.token_refresh(refresh_token=pair.refresh_token)


@pytest.mark.django_db
def test_a_profile_change_never_undoes_a_concurrent_deactivation():
    stale = UserFactory(email="ann@example.com")  # the request's copy, loaded before
    services.user_deactivate(user=User.objects.get(pk=stale.pk))
    services.user_update_profile(user=stale, name="Renamed")
    fresh = User.objects.get(pk=stale.pk)
    assert (fresh.name, fresh.is_active) == ("Renamed", False)
