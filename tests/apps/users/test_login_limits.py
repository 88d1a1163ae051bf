"""obtainToken's login limits, through the domain's entry point (tokens.token_obtain)."""

import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection

from apps.users import tokens
from apps.users.login_limits import TooManyAttempts
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

HOME, CAFE = "203.0.113.7", "198.51.100.23"


def login(email: str, address: str, password: str = PASSWORD) -> str:
    """ "ok", "wrong" (UNAUTHENTICATED) or "refused" (TOO_MANY_REQUESTS)."""
    try:
        tokens.token_obtain(email=email, password=password, client_address=address)
    except tokens.InvalidCredentials:
        return "wrong"
    except TooManyAttempts:
        return "refused"
    return "ok"


def refusal(email: str, address: str) -> TooManyAttempts:
    with pytest.raises(TooManyAttempts) as refused:
        tokens.token_obtain(email=email, password=PASSWORD, client_address=address)
    return refused.value


def test_five_failures_refuse_the_pair_even_with_the_right_password():
    UserFactory(email="ann@example.com")
    assert [login("ann@example.com", HOME, "wrong") for _ in range(5)] == ["wrong"] * 5
    assert login("ann@example.com", HOME) == "refused"
    assert login("ann@example.com", HOME, "wrong") == "refused"
    assert refusal("ann@example.com", HOME).retry_after in (899, 900)


def test_the_counts_are_not_in_the_cache():
    """Clearing the cache (Redis restarted empty, or evicting) forgets no failure."""
    UserFactory(email="ann@example.com")
    for _ in range(5):
        login("ann@example.com", HOME, "wrong")
    cache.clear()
    assert login("ann@example.com", HOME) == "refused"


def test_the_same_email_from_another_address_is_not_affected():
    UserFactory(email="ann@example.com")
    for _ in range(5):
        login("ann@example.com", HOME, "wrong")
    assert login("ann@example.com", HOME) == "refused"
    assert login("ann@example.com", CAFE) == "ok"
    # ...and has a count of its own.
    assert [login("ann@example.com", CAFE, "wrong") for _ in range(5)] == ["wrong"] * 5
    assert login("ann@example.com", CAFE) == "refused"


def test_the_email_is_counted_ignoring_case():
    UserFactory(email="ann@example.com")
    for email in [
        "ann@example.com",
        "ANN@example.com",
        "Ann@Example.COM",
        " ann@EXAMPLE.com",
        "aNn@example.com",
    ]:
        assert login(email, HOME, "wrong") == "wrong"
    assert login("ann@example.com", HOME) == "refused"
    assert login("bob@example.com", HOME, "wrong") == "wrong"  # another email is another pair


def test_a_successful_login_resets_the_pair():
    UserFactory(email="ann@example.com")
    for _ in range(4):
        login("ann@example.com", HOME, "wrong")
    assert login("ann@example.com", HOME) == "ok"
    assert [login("ann@example.com", HOME, "wrong") for _ in range(5)] == ["wrong"] * 5
    assert login("ann@example.com", HOME) == "refused"


def test_the_pair_is_free_again_once_the_window_has_passed(settings):
    settings.LOGIN_FAILURE_WINDOW = 1
    UserFactory(email="ann@example.com")
    for _ in range(5):
        login("ann@example.com", HOME, "wrong")
    assert refusal("ann@example.com", HOME).retry_after == 1
    time.sleep(1.1)
    assert login("ann@example.com", HOME) == "ok"


def test_the_window_slides_each_failure_leaves_it_on_its_own(settings):
    settings.LOGIN_FAILURE_WINDOW = 2
    UserFactory(email="ann@example.com")
    login("ann@example.com", HOME, "wrong")
    time.sleep(1.0)
    for _ in range(4):
        login("ann@example.com", HOME, "wrong")
    # Five failures within the window; the first leaves it in about a second.
    assert refusal("ann@example.com", HOME).retry_after == 1
    time.sleep(1.1)
    # Four are still within it: one more attempt, and a failure refuses the pair again.
    assert login("ann@example.com", HOME, "wrong") == "wrong"
    assert login("ann@example.com", HOME) == "refused"


def test_retry_after_counts_down_to_the_oldest_failure_leaving_the_window(settings):
    settings.LOGIN_FAILURE_WINDOW = 3
    for _ in range(5):
        login("ann@example.com", HOME, "wrong")
    assert refusal("ann@example.com", HOME).retry_after == 3
    time.sleep(1.2)
    assert refusal("ann@example.com", HOME).retry_after == 2


def test_an_address_is_refused_after_100_failures_whatever_the_emails():
    UserFactory(email="ann@example.com")
    started = time.monotonic()
    outcomes = [login(f"guess{n}@example.com", HOME, "wrong") for n in range(100)]
    assert outcomes == ["wrong"] * 100
    assert login("ann@example.com", HOME) == "refused"
    # Until the oldest failure is 15 minutes old, whole seconds (however long the 100 took).
    retry_after = refusal("someone@example.com", HOME).retry_after
    assert 899 - (time.monotonic() - started) <= retry_after <= 900
    assert login("ann@example.com", CAFE) == "ok"


def test_successes_do_not_count_against_the_address():
    """Many clients behind one proxy: 600 logins a minute and more, only failures add up."""
    users = [UserFactory() for _ in range(20)]
    for n in range(99):
        assert login(f"guess{n}@example.com", HOME, "wrong") == "wrong"
    assert [login(users[n % 20].email, HOME) for n in range(600)] == ["ok"] * 600
    assert login("guess99@example.com", HOME, "wrong") == "wrong"  # the 100th failure
    assert login(users[0].email, HOME) == "refused"


def test_a_refused_attempt_is_not_a_failure(settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 7
    UserFactory(email="ann@example.com")
    for _ in range(5):
        login("ann@example.com", HOME, "wrong")
    assert [login("ann@example.com", HOME, "wrong") for _ in range(10)] == ["refused"] * 10
    # Five failures so far, whatever was refused since: two more before the address is full.
    assert login("bob@example.com", HOME, "wrong") == "wrong"
    assert login("carol@example.com", HOME, "wrong") == "wrong"
    assert login("dave@example.com", HOME, "wrong") == "refused"
    # Refused by the address, the attempt did not count against dave's pair either.
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 100
    assert [login("dave@example.com", HOME, "wrong") for _ in range(5)] == ["wrong"] * 5


@pytest.mark.postgres  # parallel writers: SQLite's in-memory test database refuses them
@pytest.mark.django_db(transaction=True)
def test_guesses_sent_in_parallel_cannot_get_past_the_limit():
    UserFactory(email="ann@example.com")
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def guess() -> None:
        try:
            start.wait()
            outcomes.append(login("ann@example.com", HOME, "wrong"))
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 15 + ["wrong"] * 5
