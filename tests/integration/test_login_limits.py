"""obtainToken's login limits against a live server, from two loopback addresses.

127.0.0.1 and 127.0.0.2 both reach a server listening on 127.0.0.1: each client binds its
socket's source address, so the server sees two peers, as it would see two machines.
"""

import httpx
import pytest

from schema.core.operations import operation
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

A, B = "127.0.0.1", "127.0.0.2"


def client_at(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=15)


def obtain(
    client: httpx.Client, server, email: str, password: str, forwarded_for: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = client.post(
        server.http_url,
        json={
            "query": operation("ObtainToken"),
            "variables": {"email": email, "password": password},
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response


def outcome(response: httpx.Response) -> str:
    body = response.json()
    if "errors" in body:
        return body["errors"][0]["extensions"]["code"]
    return "ok" if body["data"]["obtainToken"]["accessToken"] else "no token"


def test_locking_an_email_or_an_address_from_one_address_leaves_the_other_free(start_server):
    UserFactory(email="ann@example.com")
    UserFactory(email="carol@example.com")
    server = start_server(LOGIN_MAX_FAILURES_PER_ADDRESS="8")
    with client_at(A) as a, client_at(B) as b:
        wrong = [outcome(obtain(b, server, "ann@example.com", "wrong")) for _ in range(5)]
        assert wrong == ["UNAUTHENTICATED"] * 5

        locked = obtain(b, server, "ann@example.com", PASSWORD)
        assert outcome(locked) == "TOO_MANY_REQUESTS"
        retry_after = locked.json()["errors"][0]["extensions"]["retryAfter"]
        assert retry_after in (899, 900)
        assert locked.headers["Retry-After"] == str(retry_after)
        assert outcome(obtain(a, server, "ann@example.com", PASSWORD)) == "ok"

        # Three more failures from B, other emails: eight, B itself is refused for anyone.
        for n in range(3):
            assert outcome(obtain(b, server, f"guess{n}@example.com", "x")) == "UNAUTHENTICATED"
        refused = obtain(b, server, "carol@example.com", PASSWORD)
        assert outcome(refused) == "TOO_MANY_REQUESTS"
        assert "Retry-After" in refused.headers
        assert outcome(obtain(a, server, "carol@example.com", PASSWORD)) == "ok"
        assert outcome(obtain(a, server, "ann@example.com", PASSWORD)) == "ok"


@pytest.mark.parametrize("command", ["uvicorn", "gunicorn"], ids=["uvicorn", "gunicorn.conf.py"])
def test_a_spoofed_x_forwarded_for_does_not_change_the_counted_address(start_server, command):
    UserFactory(email="ann@example.com")
    server = start_server(command, TRUSTED_PROXY_COUNT="0")
    with client_at(A) as a, client_at(B) as b:
        # A claims to be B (and others): were that believed, B's pair would be the one locked.
        for spoofed in [B, B, "192.0.2.1", f"192.0.2.2, {B}", B]:
            failed = obtain(a, server, "ann@example.com", "wrong", forwarded_for=spoofed)
            assert outcome(failed) == "UNAUTHENTICATED"
        assert outcome(obtain(a, server, "ann@example.com", PASSWORD, forwarded_for=B)) == (
            "TOO_MANY_REQUESTS"
        )
        assert outcome(obtain(a, server, "ann@example.com", PASSWORD)) == "TOO_MANY_REQUESTS"
        assert outcome(obtain(b, server, "ann@example.com", PASSWORD)) == "ok"
