"""Identity over HTTP, as a frontend app does it: Bearer tokens through Django's stack."""

import jwt
import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from apps.users.models import User
from schema.core.operations import operation
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


def obtain(email: str, password: str, *, address: str, forwarded_for: str | None = None):
    """obtainToken's HTTP response, from a client at `address` (the request's peer)."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    response = Client(REMOTE_ADDR=address).post(
        "/graphql/",
        {"query": operation("ObtainToken"), "variables": {"email": email, "password": password}},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200
    return response


def test_five_failures_for_an_email_from_an_address_are_too_many_requests_there_only():
    UserFactory(email="ann@example.com")
    for _ in range(5):
        failed = obtain("ann@example.com", "x", address="203.0.113.7")
        assert codes(failed.json()) == ["UNAUTHENTICATED"]
        assert "Retry-After" not in failed

    # Refused before the password is looked at: only the attempt log's transaction (its lock
    # on PostgreSQL, the insert, the count, the rollback), no read of the user.
    with CaptureQueriesContext(connection) as captured:
        locked = obtain("ANN@example.com", PASSWORD, address="203.0.113.7")
    statements = [query["sql"] for query in captured.captured_queries]
    assert statements and not [sql for sql in statements if "users_user" in sql], statements
    assert [sql.split()[0] for sql in statements if "users_loginfailure" in sql] == [
        "INSERT",
        "SELECT",
    ]
    assert locked.json()["data"] is None
    [error] = locked.json()["errors"]
    assert error["extensions"]["code"] == "TOO_MANY_REQUESTS"
    assert error["extensions"]["retryAfter"] in (899, 900)
    assert locked["Retry-After"] == str(error["extensions"]["retryAfter"])
    assert error["path"] == ["obtainToken"]

    elsewhere = obtain("ann@example.com", PASSWORD, address="198.51.100.23")
    assert elsewhere.json()["data"]["obtainToken"]["accessToken"]
    assert "Retry-After" not in elsewhere


@override_settings(LOGIN_MAX_FAILURES_PER_ADDRESS=3)
def test_an_address_with_too_many_failures_is_too_many_requests_for_every_email():
    UserFactory(email="ann@example.com")
    for n in range(3):
        assert codes(obtain(f"guess{n}@example.com", "x", address="203.0.113.7").json()) == [
            "UNAUTHENTICATED"
        ]
    locked = obtain("ann@example.com", PASSWORD, address="203.0.113.7")
    [error] = locked.json()["errors"]
    assert set(error["extensions"]) == {"code", "retryAfter"}
    assert error["extensions"]["code"] == "TOO_MANY_REQUESTS"
    assert error["extensions"]["retryAfter"] in (899, 900)
    assert locked["Retry-After"] == str(error["extensions"]["retryAfter"])
    assert "errors" not in obtain("ann@example.com", PASSWORD, address="198.51.100.23").json()


def test_without_a_trusted_proxy_x_forwarded_for_does_not_change_the_counted_address():
    UserFactory(email="ann@example.com")
    for n in range(5):
        spoofed = f"192.0.2.{n}"
        obtain("ann@example.com", "x", address="203.0.113.7", forwarded_for=spoofed)
    locked = obtain("ann@example.com", PASSWORD, address="203.0.113.7", forwarded_for="192.0.2.99")
    assert codes(locked.json()) == ["TOO_MANY_REQUESTS"]


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_address_it_appended_is_counted():
    UserFactory(email="ann@example.com")
    proxy = "10.0.0.9"
    for n in range(5):
        # The client's own entries (left) change every time; the proxy's (right) does not.
        forwarded_for = f"192.0.2.{n}, 203.0.113.7"
        obtain("ann@example.com", "x", address=proxy, forwarded_for=forwarded_for)
    locked = obtain("ann@example.com", PASSWORD, address=proxy, forwarded_for="203.0.113.7")
    assert codes(locked.json()) == ["TOO_MANY_REQUESTS"]
    # Another client behind the same proxy is another address.
    other = obtain("ann@example.com", PASSWORD, address=proxy, forwarded_for="203.0.113.8")
    assert "errors" not in other.json()


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


def email_of(token: str) -> str:
    result = send("Me", token=token)
    assert "errors" not in result, result
    return result["data"]["me"]["email"]


def test_logout_stops_the_familys_access_token_on_its_next_request():
    UserFactory(email="ann@example.com")
    pair, elsewhere = login("ann@example.com"), login("ann@example.com")
    assert email_of(pair["accessToken"]) == "ann@example.com"

    assert send("RevokeToken", {"refreshToken": pair["refreshToken"]})["data"]["revokeToken"]

    assert codes(send("Me", token=pair["accessToken"])) == ["UNAUTHENTICATED"]
    assert codes(send("Catalog", {"first": 1}, token=pair["accessToken"])) == ["UNAUTHENTICATED"]
    assert email_of(elsewhere["accessToken"]) == "ann@example.com"  # another sign-in


def test_reusing_a_spent_refresh_token_stops_every_access_token_of_its_family():
    UserFactory(email="ann@example.com")
    first, elsewhere = login("ann@example.com"), login("ann@example.com")
    second = send("RefreshToken", {"refreshToken": first["refreshToken"]})["data"]["refreshToken"]
    assert email_of(first["accessToken"]) == email_of(second["accessToken"]) == "ann@example.com"

    reused = send("RefreshToken", {"refreshToken": first["refreshToken"]})
    assert codes(reused) == ["UNAUTHENTICATED"]

    assert codes(send("Me", token=first["accessToken"])) == ["UNAUTHENTICATED"]
    assert codes(send("Me", token=second["accessToken"])) == ["UNAUTHENTICATED"]
    assert email_of(elsewhere["accessToken"]) == "ann@example.com"


def test_a_password_change_stops_the_other_sessions_access_tokens_not_the_callers():
    UserFactory(email="ann@example.com")
    mine, other = login("ann@example.com"), login("ann@example.com")
    variables = {"input": {"password": NEW_PASSWORD, "currentPassword": PASSWORD}}
    changed = send("UpdateProfile", variables, token=mine["accessToken"])
    assert "errors" not in changed, changed

    assert codes(send("Me", token=other["accessToken"])) == ["UNAUTHENTICATED"]
    assert email_of(mine["accessToken"]) == "ann@example.com"
    # The caller's session goes on: its refresh token works, and so do the next access tokens.
    renewed = send("RefreshToken", {"refreshToken": mine["refreshToken"]})["data"]["refreshToken"]
    assert email_of(renewed["accessToken"]) == "ann@example.com"


def test_the_family_check_adds_no_statement_to_a_request(django_assert_num_queries):
    UserFactory(email="ann@example.com")
    token = login("ann@example.com")["accessToken"]
    # The same two statements as before the check: the token's user (now with its family's end
    # as a subquery), then `me`.
    with django_assert_num_queries(2) as captured:
        assert email_of(token) == "ann@example.com"
    lookup = captured.captured_queries[0]["sql"]
    assert "users_user" in lookup and "users_refreshtoken" in lookup
