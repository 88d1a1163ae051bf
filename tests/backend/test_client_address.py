"""The client address: the peer's, or the entry the trusted proxies wrote, never the client's."""

import pytest
from django.test import RequestFactory, override_settings

from schema.core.client_address import (
    UNKNOWN,
    client_address,
    client_address_of_request,
    client_address_of_scope,
)

PEER = "10.0.0.9"  # the last hop: the app's peer (a proxy when there is one)


@pytest.mark.parametrize(
    "forwarded_for",
    [None, "", "203.0.113.7", "198.51.100.1, 203.0.113.7", "not-an-address"],
)
def test_without_proxies_the_peer_is_the_client_whatever_x_forwarded_for_says(forwarded_for):
    assert client_address(peer=PEER, forwarded_for=forwarded_for, trusted_proxies=0) == PEER


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        # The client wrote the entries on the left: only the one our proxy appended counts.
        ("198.51.100.1, 203.0.113.7", "203.0.113.7"),
        ("127.0.0.1,10.0.0.1 , 198.51.100.1,203.0.113.7", "203.0.113.7"),
        ("203.0.113.7:51234", "203.0.113.7"),
        ("2001:DB8::7", "2001:db8::7"),
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
    ],
)
def test_behind_one_proxy_the_rightmost_entry_is_the_client(forwarded_for, expected):
    assert client_address(peer=PEER, forwarded_for=forwarded_for, trusted_proxies=1) == expected


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        # client, then the outer proxy's address appended by the inner proxy
        ("203.0.113.7, 10.0.0.1", "203.0.113.7"),
        ("198.51.100.1, 192.0.2.66, 203.0.113.7, 10.0.0.1", "203.0.113.7"),
    ],
)
def test_behind_two_proxies_the_second_entry_from_the_right_is_the_client(forwarded_for, expected):
    assert client_address(peer=PEER, forwarded_for=forwarded_for, trusted_proxies=2) == expected


@pytest.mark.parametrize(
    ("forwarded_for", "trusted_proxies"),
    [
        (None, 1),  # did not come through the proxy that writes the header
        ("", 1),
        ("203.0.113.7", 2),  # too short: one proxy of two was skipped
        ("unknown", 1),
        ("203.0.113.7, ", 1),  # an empty entry where the proxy's should be
        ("198.51.100.1, evil", 1),
        ("203.0.113.7, 300.1.2.3", 1),
        ("203.0.113.7, [2001:db8::7", 1),
        ("203.0.113.7, , 10.0.0.1", 2),
    ],
)
def test_a_short_or_malformed_header_falls_back_to_the_peer(forwarded_for, trusted_proxies):
    assert (
        client_address(peer=PEER, forwarded_for=forwarded_for, trusted_proxies=trusted_proxies)
        == PEER
    )


def test_no_usable_peer_is_one_shared_unknown_address():
    assert client_address(peer=None, forwarded_for="203.0.113.7", trusted_proxies=0) == UNKNOWN
    assert client_address(peer="", forwarded_for=None, trusted_proxies=1) == UNKNOWN
    assert client_address(peer=None, forwarded_for="203.0.113.7", trusted_proxies=1) == (
        "203.0.113.7"
    )


def test_an_http_request_is_resolved_with_the_trusted_proxy_count_setting():
    request = RequestFactory().post(
        "/graphql/", REMOTE_ADDR=PEER, HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7"
    )
    with override_settings(TRUSTED_PROXY_COUNT=0):
        assert client_address_of_request(request) == PEER
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert client_address_of_request(request) == "203.0.113.7"
    with override_settings(TRUSTED_PROXY_COUNT=2):
        assert client_address_of_request(request) == "198.51.100.1"


def test_a_websocket_scope_is_resolved_by_the_same_rule_with_repeated_headers_in_order():
    scope = {
        "type": "websocket",
        "client": (PEER, 40000),
        "headers": [
            (b"x-forwarded-for", b"198.51.100.1"),
            (b"host", b"api.example.com"),
            (b"x-forwarded-for", b"203.0.113.7"),
        ],
    }
    with override_settings(TRUSTED_PROXY_COUNT=0):
        assert client_address_of_scope(scope) == PEER
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert client_address_of_scope(scope) == "203.0.113.7"
    with override_settings(TRUSTED_PROXY_COUNT=2):
        assert client_address_of_scope(scope) == "198.51.100.1"
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert client_address_of_scope({"type": "websocket", "client": None}) == UNKNOWN
