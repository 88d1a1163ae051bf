"""Two web processes, each keeping the sessions it has checked: a deactivation, a logout or a
password change answered by one is refused by the other on the very next request.

The processes share a redis-server of the test's own (their retirements travel through it), so
a test can also take it away.
"""

import time

import httpx
import pytest

from apps.users import tokens
from apps.users.models import User
from tests.factories import PASSWORD, AdminFactory, UserFactory
from tests.integration.api import Api

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_processes(start_server, redis_server):
    environment = {"REDIS_URL": redis_server.url}
    with httpx.Client(timeout=30) as client:
        yield tuple(Api(client, start_server(**environment).http_url) for _ in range(2))


def sign_in(email: str) -> dict:
    pair = tokens.token_obtain(email=email, password=PASSWORD, client_address="127.0.0.1")
    return {"accessToken": pair.access_token, "refreshToken": pair.refresh_token}


def warm(api: Api, token: str) -> None:
    """Until `api`'s process answers from what it keeps (its subscription takes a moment)."""
    for _ in range(20):
        assert api.data("Me", token=token)["me"] is not None
        time.sleep(0.05)


def test_a_deactivation_in_one_process_is_refused_by_the_next_request_to_another(two_processes):
    one, other = two_processes
    AdminFactory(email="root@example.com")
    ann = UserFactory(email="ann@example.com")
    admin_token = sign_in("root@example.com")["accessToken"]
    token = sign_in("ann@example.com")["accessToken"]
    warm(other, token)
    # A change that bypasses save() retires nothing: the other process still answers from what
    # it kept. (So what follows is its cache being retired, not a query it happened to run.)
    User.objects.filter(pk=ann.pk).update(is_active=False)
    assert one.code("Me", token=token) == "UNAUTHENTICATED"
    assert other.data("Me", token=token)["me"]["email"] == "ann@example.com"
    User.objects.filter(pk=ann.pk).update(is_active=True)

    user_id = other.data("Me", token=token)["me"]["id"]
    assert one.data("DeactivateUser", {"id": user_id}, token=admin_token)["deactivateUser"] == {
        "id": user_id,
        "isActive": False,
    }
    assert other.code("Me", token=token) == "UNAUTHENTICATED"


def test_a_logout_and_a_password_change_in_one_process_end_sessions_in_another(two_processes):
    one, other = two_processes
    UserFactory(email="ann@example.com")
    first, second, third = (sign_in("ann@example.com") for _ in range(3))
    for pair in (first, second, third):
        warm(other, pair["accessToken"])
    assert one.data("RevokeToken", {"refreshToken": first["refreshToken"]})["revokeToken"]
    assert other.code("Me", token=first["accessToken"]) == "UNAUTHENTICATED"

    change = {"password": "a-new-long-password-7", "currentPassword": PASSWORD}
    one.data("UpdateProfile", {"input": change}, token=second["accessToken"])
    # Every other session of the user ends; the one that changed the password goes on.
    assert other.code("Me", token=third["accessToken"]) == "UNAUTHENTICATED"
    assert other.data("Me", token=second["accessToken"])["me"]["email"] == "ann@example.com"


def test_with_redis_stopped_a_deactivation_still_takes_effect_at_once(two_processes, redis_server):
    one, other = two_processes
    AdminFactory(email="root@example.com")
    UserFactory(email="ann@example.com")
    admin_token = sign_in("root@example.com")["accessToken"]
    token = sign_in("ann@example.com")["accessToken"]
    warm(other, token)
    user_id = other.data("Me", token=token)["me"]["id"]
    redis_server.stop()
    # The retirement cannot be sent; the writer answers once no process can still trust what
    # it kept, and every process reads the database until Redis is back.
    one.data("DeactivateUser", {"id": user_id}, token=admin_token)
    assert other.code("Me", token=token) == "UNAUTHENTICATED"
    assert one.code("Me", token=token) == "UNAUTHENTICATED"
    redis_server.start()
    assert other.data("Me", token=admin_token)["me"]["email"] == "root@example.com"
