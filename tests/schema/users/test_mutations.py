"""Identity over HTTP, as a frontend app does it: Bearer tokens through Django's stack."""

import jwt
import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from apps.users.models import User
from schema.operations import operation
from tests.factories import PASSWORD, AdminFactory, UserFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-sound-passphrase-42"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def send(name: str, variables: dict | None = None, *, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = Client().post(
        "/graphql/",
        {"query": operation(name), "variables": variables or {}},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200
    return response.json()


def codes(result: dict) -> list[str]:
    return [e["extensions"]["code"] for e in result.get("errors", [])]


def login(email: str, password: str = PASSWORD) -> dict:
    result = send("ObtainToken", {"email": email, "password": password})
    assert "errors" not in result, result
    return result["data"]["obtainToken"]


def test_register_then_sign_in_and_read_me():
    result = send(
        "Register",
        {"input": {"email": "New@Example.com", "name": "New Person", "password": NEW_PASSWORD}},
    )
    registered = result["data"]["register"]
    assert registered | {"id": None, "dateJoined": None} == {
        "id": None,
        "email": "new@example.com",
        "name": "New Person",
        "role": "USER",
        "isActive": True,
        "dateJoined": None,
        "orderCount": 0,
        "totalSpent": "0.00",
    }
    tokens = login("NEW@example.com", NEW_PASSWORD)
    assert send("Me", token=tokens["accessToken"])["data"]["me"]["id"] == registered["id"]


def test_register_reports_every_bad_field():
    UserFactory(email="taken@example.com")
    result = send(
        "Register", {"input": {"email": "TAKEN@example.com", "name": "", "password": "1"}}
    )
    assert codes(result) == ["BAD_USER_INPUT"]
    fields = result["errors"][0]["extensions"]["fields"]
    assert set(fields) == {"name"}  # the first failing check stops before the password

    result = send(
        "Register", {"input": {"email": "TAKEN@example.com", "name": "A", "password": NEW_PASSWORD}}
    )
    assert result["errors"][0]["extensions"]["fields"] == {
        "email": ["A user with this email already exists."]
    }
    result = send("Register", {"input": {"email": "x@example.com", "name": "A", "password": "1"}})
    assert "password" in result["errors"][0]["extensions"]["fields"]


def test_wrong_password_and_deactivated_login_are_unauthenticated():
    UserFactory(email="ann@example.com")
    UserFactory(email="gone@example.com", is_active=False)
    wrong = send("ObtainToken", {"email": "ann@example.com", "password": "nope"})
    gone = send("ObtainToken", {"email": "gone@example.com", "password": PASSWORD})
    assert codes(wrong) == codes(gone) == ["UNAUTHENTICATED"]


def test_login_rate_limit_is_too_many_requests():
    UserFactory(email="ann@example.com")
    for _ in range(5):
        assert codes(send("ObtainToken", {"email": "ann@example.com", "password": "x"})) == [
            "UNAUTHENTICATED"
        ]
    locked = send("ObtainToken", {"email": "ANN@example.com", "password": PASSWORD})
    assert codes(locked) == ["TOO_MANY_REQUESTS"]


def test_refresh_rotates_and_reuse_revokes_the_family():
    UserFactory(email="ann@example.com")
    first = login("ann@example.com")
    second = send("RefreshToken", {"refreshToken": first["refreshToken"]})["data"]["refreshToken"]
    assert send("Me", token=second["accessToken"])["data"]["me"]["email"] == "ann@example.com"

    reused = send("RefreshToken", {"refreshToken": first["refreshToken"]})
    assert codes(reused) == ["UNAUTHENTICATED"]
    after_reuse = send("RefreshToken", {"refreshToken": second["refreshToken"]})
    assert codes(after_reuse) == ["UNAUTHENTICATED"]


def test_revoke_token_logs_out():
    UserFactory(email="ann@example.com")
    pair = login("ann@example.com")
    assert send("RevokeToken", {"refreshToken": pair["refreshToken"]}) == {
        "data": {"revokeToken": True}
    }
    assert codes(send("RefreshToken", {"refreshToken": pair["refreshToken"]})) == [
        "UNAUTHENTICATED"
    ]


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "",
        jwt.encode(
            {"sub": "1", "exp": 9999999999, "iat": 0, "typ": "access"},
            "other-key-xxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
        jwt.encode(
            {"sub": "1", "exp": 9999999999, "iat": 0, "typ": "access"}, None, algorithm="none"
        ),
    ],
    ids=["malformed", "empty", "forged", "alg none"],
)
def test_bad_tokens_are_unauthenticated_on_any_operation(token):
    UserFactory()
    assert codes(send("Me", token=token)) == ["UNAUTHENTICATED"]
    assert codes(send("Catalog", {"first": 1}, token=token)) == ["UNAUTHENTICATED"]


def test_expired_access_token_is_unauthenticated():
    UserFactory(email="ann@example.com")
    with override_settings(ACCESS_TOKEN_LIFETIME=-1):
        pair = login("ann@example.com")
    assert codes(send("Me", token=pair["accessToken"])) == ["UNAUTHENTICATED"]


def test_deactivation_stops_access_tokens_on_the_next_request():
    admin = AdminFactory(email="boss@example.com")
    UserFactory(email="ann@example.com")
    user_tokens = login("ann@example.com")
    admin_tokens = login(admin.email)
    assert send("Me", token=user_tokens["accessToken"])["data"]["me"]["isActive"] is True

    user_id = send("Me", token=user_tokens["accessToken"])["data"]["me"]["id"]
    result = send("DeactivateUser", {"id": user_id}, token=admin_tokens["accessToken"])
    assert result == {"data": {"deactivateUser": {"id": user_id, "isActive": False}}}

    assert codes(send("Me", token=user_tokens["accessToken"])) == ["UNAUTHENTICATED"]
    refreshed = send("RefreshToken", {"refreshToken": user_tokens["refreshToken"]})
    assert codes(refreshed) == ["UNAUTHENTICATED"]
    assert codes(send("ObtainToken", {"email": "ann@example.com", "password": PASSWORD})) == [
        "UNAUTHENTICATED"
    ]


def test_deactivate_user_unknown_or_self():
    admin = AdminFactory(email="boss@example.com")
    token = login(admin.email)["accessToken"]
    missing = send("DeactivateUser", {"id": "VXNlcjo5OTk5OQ=="}, token=token)  # User:99999
    assert codes(missing) == ["NOT_FOUND"]
    me = send("Me", token=token)["data"]["me"]["id"]
    assert codes(send("DeactivateUser", {"id": me}, token=token)) == ["CONFLICT"]
    assert codes(send("DeactivateUser", {"id": "nonsense"}, token=token)) == ["BAD_USER_INPUT"]


def test_update_profile_renames_and_changes_password():
    UserFactory(email="ann@example.com")
    mine = login("ann@example.com")
    other_session = login("ann@example.com")

    renamed = send("UpdateProfile", {"input": {"name": "Ann B."}}, token=mine["accessToken"])
    assert renamed["data"]["updateProfile"]["name"] == "Ann B."

    no_current = send(
        "UpdateProfile", {"input": {"password": NEW_PASSWORD}}, token=mine["accessToken"]
    )
    assert codes(no_current) == ["BAD_USER_INPUT"]
    assert set(no_current["errors"][0]["extensions"]["fields"]) == {"currentPassword"}

    document = "mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }"
    response = Client().post(
        "/graphql/",
        {
            "query": document,
            "variables": {"input": {"password": NEW_PASSWORD, "currentPassword": PASSWORD}},
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {mine['accessToken']}"},
    )
    assert "errors" not in response.json()
    assert User.objects.get(email="ann@example.com").check_password(NEW_PASSWORD)
    # The caller's session survives, every other one ends.
    assert "errors" not in send("RefreshToken", {"refreshToken": mine["refreshToken"]})
    assert codes(send("RefreshToken", {"refreshToken": other_session["refreshToken"]})) == [
        "UNAUTHENTICATED"
    ]
