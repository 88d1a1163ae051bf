from datetime import timedelta

import jwt
import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from apps.users import tokens
from apps.users.models import RefreshToken
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def test_obtain_issues_a_verifiable_access_token_and_a_hashed_refresh_token():
    user = UserFactory(email="ann@example.com")
    pair = tokens.token_obtain(
        email="ANN@example.com", password=PASSWORD, client_address="127.0.0.1"
    )

    claims = tokens.access_token_verify(pair.access_token)
    assert claims.user_id == user.pk
    stored = RefreshToken.objects.get(user=user)
    assert stored.family == claims.family
    assert stored.token_hash != pair.refresh_token
    assert not RefreshToken.objects.filter(token_hash=pair.refresh_token).exists()
    assert timedelta(minutes=14) < pair.access_expires_at - timezone.now() <= timedelta(minutes=15)


def test_wrong_password_and_inactive_users_are_refused():
    UserFactory(email="ann@example.com")
    UserFactory(email="gone@example.com", is_active=False)
    with pytest.raises(tokens.InvalidCredentials):
        tokens.token_obtain(email="ann@example.com", password="wrong", client_address="127.0.0.1")
    with pytest.raises(tokens.InvalidCredentials):
        tokens.token_obtain(email="gone@example.com", password=PASSWORD, client_address="127.0.0.1")


def test_refresh_rotates_within_the_family():
    UserFactory(email="ann@example.com")
    first = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )
    second = tokens.token_refresh(refresh_token=first.refresh_token)

    assert second.refresh_token != first.refresh_token
    assert (
        tokens.access_token_verify(second.access_token).family
        == tokens.access_token_verify(first.access_token).family
    )
    with pytest.raises(tokens.InvalidToken):
        tokens.token_refresh(refresh_token=first.refresh_token)


def test_reusing_a_spent_refresh_token_revokes_the_whole_family():
    UserFactory(email="ann@example.com")
    first = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )
    other_session = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )
    second = tokens.token_refresh(refresh_token=first.refresh_token)

    with pytest.raises(tokens.InvalidToken):
        tokens.token_refresh(refresh_token=first.refresh_token)
    with pytest.raises(tokens.InvalidToken):
        tokens.token_refresh(refresh_token=second.refresh_token)
    # Another family of the same user is untouched.
    assert tokens.token_refresh(refresh_token=other_session.refresh_token).refresh_token


def test_revoke_ends_a_refresh_token_at_once():
    UserFactory(email="ann@example.com")
    pair = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )
    assert tokens.token_revoke(refresh_token=pair.refresh_token) is True
    assert tokens.token_revoke(refresh_token=pair.refresh_token) is False
    with pytest.raises(tokens.InvalidToken):
        tokens.token_refresh(refresh_token=pair.refresh_token)


def test_expired_refresh_tokens_and_inactive_users_cannot_refresh():
    user = UserFactory(email="ann@example.com")
    pair = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(tokens.InvalidToken):
        tokens.token_refresh(refresh_token=pair.refresh_token)

    fresh = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )
    user.is_active = False
    user.save()
    with pytest.raises(tokens.InvalidToken):
        tokens.token_refresh(refresh_token=fresh.refresh_token)


def _forge(claims: dict, key: str = "another-key-of-sufficient-length-123456", alg: str = "HS256"):
    return jwt.encode(claims, key, algorithm=alg)


@pytest.mark.parametrize(
    "token",
    [
        "not.a.jwt",
        "",
        _forge({"sub": "1", "exp": 9999999999, "iat": 0, "typ": "access"}),
        jwt.encode(
            {"sub": "1", "exp": 9999999999, "iat": 0, "typ": "access"}, None, algorithm="none"
        ),
    ],
    ids=["malformed", "empty", "other key", "alg none"],
)
def test_invalid_access_tokens_are_refused(token):
    with pytest.raises(tokens.InvalidToken):
        tokens.access_token_verify(token)


def test_expired_access_tokens_are_refused():
    UserFactory(email="ann@example.com")
    with override_settings(ACCESS_TOKEN_LIFETIME=-1):
        pair = tokens.token_obtain(
            email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
        )
    with pytest.raises(tokens.InvalidToken):
        tokens.access_token_verify(pair.access_token)


def test_revoking_a_user_can_spare_one_family():
    user = UserFactory(email="ann@example.com")
    keep = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )
    drop = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )
    family = tokens.access_token_verify(keep.access_token).family
    assert tokens.tokens_revoke(user=user, keep_family=family) == 1
    assert tokens.token_refresh(refresh_token=keep.refresh_token)
    with pytest.raises(tokens.InvalidToken):
        tokens.token_refresh(refresh_token=drop.refresh_token)


def test_a_token_of_a_family_revoked_meanwhile_cannot_refresh():
    """A replay that revoked the family before the winner's next token existed still wins."""
    UserFactory(email="ann@example.com")
    first = tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )
    second = tokens.token_refresh(refresh_token=first.refresh_token)
    RefreshToken.objects.filter(token_hash=tokens._hash(first.refresh_token)).update(
        revoked_at=timezone.now()
    )
    with pytest.raises(tokens.InvalidToken):
        tokens.token_refresh(refresh_token=second.refresh_token)


def _bearer_works(access_token: str) -> bool:
    try:
        tokens.bearer_authenticate(f"Bearer {access_token}")
    except tokens.InvalidToken:
        return False
    return True


def _sign_in() -> tokens.TokenPair:
    return tokens.token_obtain(
        email="ann@example.com", password=PASSWORD, client_address="127.0.0.1"
    )


def test_a_bearer_is_checked_in_one_statement(django_assert_num_queries):
    user = UserFactory(email="ann@example.com")
    pair = _sign_in()
    with django_assert_num_queries(1) as captured:
        bearer = tokens.bearer_authenticate(f"Bearer {pair.access_token}")
    assert (bearer.user, bearer.family) == (user, RefreshToken.objects.get().family)
    assert "users_refreshtoken" in captured.captured_queries[0]["sql"]


def test_logout_ends_the_familys_access_tokens(django_assert_num_queries):
    UserFactory(email="ann@example.com")
    pair, other = _sign_in(), _sign_in()
    tokens.token_revoke(refresh_token=pair.refresh_token)
    with django_assert_num_queries(1):
        assert not _bearer_works(pair.access_token)
    assert _bearer_works(other.access_token)


def test_reusing_a_spent_refresh_token_ends_every_access_token_of_the_family():
    UserFactory(email="ann@example.com")
    first, other = _sign_in(), _sign_in()
    second = tokens.token_refresh(refresh_token=first.refresh_token)
    assert _bearer_works(first.access_token) and _bearer_works(second.access_token)
    with pytest.raises(tokens.InvalidToken):
        tokens.token_refresh(refresh_token=first.refresh_token)
    assert not _bearer_works(first.access_token)
    assert not _bearer_works(second.access_token)
    assert _bearer_works(other.access_token)


def test_revoking_a_users_tokens_but_one_family_keeps_that_familys_access_tokens():
    user = UserFactory(email="ann@example.com")
    mine, other = _sign_in(), _sign_in()
    keep = tokens.access_token_verify(mine.access_token).family
    tokens.tokens_revoke(user=user, keep_family=keep)
    assert _bearer_works(mine.access_token)
    assert not _bearer_works(other.access_token)
