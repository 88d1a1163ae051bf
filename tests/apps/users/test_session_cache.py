"""A web process keeps the sessions it has checked: a known token costs no SQL, and any change
to its user or the end of its family is seen by the next check (one process; across processes:
tests/apps/core/test_invalidation.py and tests/integration/test_session_cache.py)."""

import pytest
from django.db import connection

from apps.core import invalidation
from apps.users import services, tokens
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def sign_in(email: str = "ann@example.com") -> tokens.TokenPair:
    return tokens.token_obtain(email=email, password=PASSWORD, client_address="127.0.0.1")


def check(pair: tokens.TokenPair) -> tokens.Bearer:
    return tokens.bearer_authenticate(f"Bearer {pair.access_token}")


def test_a_known_token_costs_no_sql(django_assert_num_queries):
    user = UserFactory(email="ann@example.com", name="Ann")
    pair = sign_in()
    with django_assert_num_queries(1):
        first = check(pair)
    with django_assert_num_queries(0):
        again = check(pair)
    assert (again.user.pk, again.user.email, again.user.name) == (user.pk, user.email, "Ann")
    assert again.family == first.family
    # Each request gets a user of its own: a request that changes it changes no other's.
    assert again.user is not first.user and again.user is not check(pair).user


def test_any_saved_change_to_the_user_is_seen_by_the_next_check(django_assert_num_queries):
    user = UserFactory(email="ann@example.com", name="Ann")
    pair = sign_in()
    check(pair)
    user.name = "Ann B."
    user.save()  # as the admin site or a shell would
    with django_assert_num_queries(1):
        assert check(pair).user.name == "Ann B."
    user.is_active = False
    user.save()
    with pytest.raises(tokens.InvalidToken):
        check(pair)


def test_the_end_of_a_family_is_seen_by_the_next_check():
    UserFactory(email="ann@example.com")
    ended, kept = sign_in(), sign_in()
    check(ended), check(kept)
    assert tokens.token_revoke(refresh_token=ended.refresh_token)
    with pytest.raises(tokens.InvalidToken):
        check(ended)
    assert check(kept).family is not None


def test_a_deactivation_and_a_password_change_are_seen_by_the_next_check():
    user = UserFactory(email="ann@example.com")
    mine, other = sign_in(), sign_in()
    check(mine), check(other)
    services.user_update_profile(
        user=user,
        password="another-long-password-9",
        current_password=PASSWORD,
        keep_token_family=check(mine).family,
    )
    with pytest.raises(tokens.InvalidToken):
        check(other)
    assert check(mine).user.pk == user.pk
    services.user_deactivate(user=user)
    with pytest.raises(tokens.InvalidToken):
        check(mine)


def test_a_retirement_while_the_check_runs_its_query_is_not_undone(django_assert_num_queries):
    user = UserFactory(email="ann@example.com")
    pair = sign_in()

    def retired_meanwhile(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        invalidation.retire(tokens.SESSIONS, f"user:{user.pk}")
        return result

    with connection.execute_wrapper(retired_meanwhile):
        check(pair)
    # What that query found may predate the change: it was not kept.
    with django_assert_num_queries(1):
        check(pair)


def test_a_session_is_checked_again_once_it_is_older_than_its_max_age(
    monkeypatch, django_assert_num_queries
):
    UserFactory(email="ann@example.com")
    pair = sign_in()
    check(pair)
    monkeypatch.setattr(tokens, "SESSION_MAX_AGE", 0.0)
    with django_assert_num_queries(1):
        check(pair)


def test_a_check_made_once_per_connection_keeps_nothing(django_assert_num_queries):
    UserFactory(email="ann@example.com")
    pair = sign_in()
    for _ in range(2):
        with django_assert_num_queries(1):
            tokens.bearer_authenticate(f"Bearer {pair.access_token}", keep=False)
