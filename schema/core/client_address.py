"""The client's address, resolved once per request for what limits clients (login limits).

With no proxy in front (`TRUSTED_PROXY_COUNT = 0`), it is the peer's address and
X-Forwarded-For is ignored: anyone can write that header. Behind N proxies, each appending
the address it received the request from, the Nth entry from the right of X-Forwarded-For
is the address the outermost proxy saw. A client can only add entries to the left, which are
never read. A header too short to hold that entry, or an entry that is not an IP address,
means the request did not come through every proxy (or a proxy misbehaves): the peer's
address is used, never anything the client wrote.

The servers that run the app (gunicorn's uvicorn workers: backend/gunicorn_worker.py) do not
rewrite the peer from proxy headers, so this is the only reading of X-Forwarded-For.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.http import HttpRequest

UNKNOWN = "unknown"  # no peer address at all (a Unix socket): such clients share one


def _ip(value: str | None) -> str | None:
    """The canonical form of an IP address, with an optional port; None if it is not one."""
    value = (value or "").strip()
    if value.startswith("["):  # [2001:db8::1]:443
        value, closed, _ = value[1:].partition("]")
        if not closed:
            return None
    elif value.count(":") == 1:  # 192.0.2.1:443
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:192.0.2.1 is 192.0.2.1 (dual-stack sockets)
    return str(address)


def client_address(*, peer: str | None, forwarded_for: str | None, trusted_proxies: int) -> str:
    """The client's address from the peer's and X-Forwarded-For, behind `trusted_proxies`."""
    peer_address = _ip(peer) or UNKNOWN
    if trusted_proxies == 0:
        return peer_address
    entries = forwarded_for.split(",") if forwarded_for else []
    if len(entries) < trusted_proxies:
        return peer_address
    return _ip(entries[-trusted_proxies]) or peer_address


def client_address_of_request(request: HttpRequest) -> str:
    """The client address of an HTTP request (settings.TRUSTED_PROXY_COUNT)."""
    return client_address(
        peer=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        trusted_proxies=settings.TRUSTED_PROXY_COUNT,
    )


def client_address_of_scope(scope: Mapping) -> str:
    """The client address of an ASGI connection (a WebSocket), by the same rule."""
    client = scope.get("client")
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers") or ()
    # Repeated headers are one list, in order, as Django joins them for HTTP requests.
    forwarded = [value.decode("latin-1") for name, value in headers if name == b"x-forwarded-for"]
    return client_address(
        peer=client[0] if client else None,
        forwarded_for=",".join(forwarded) or None,
        trusted_proxies=settings.TRUSTED_PROXY_COUNT,
    )
