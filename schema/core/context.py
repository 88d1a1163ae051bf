"""`info.context`: what a resolver may know of its caller, the same over HTTP and WebSocket."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import strawberry
from django.contrib.auth.models import AnonymousUser

from apps.users.models import User


class WebSocketConnection:
    """One WebSocket (schema/websocket.py): the server's ASGI scope, receive and send, and
    what the connection learns; slotted, as a process holds thousands."""

    __slots__ = ("close_code", "connected_at", "receive", "request_id", "scope", "send", "user")

    def __init__(self, scope: dict, receive: Callable, send: Callable, request_id: str) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.request_id = request_id
        self.connected_at = time.perf_counter()
        self.user: User | None = None  # set by `on_ws_connect`, before any operation runs
        # The code the connection closed with (sent or received); None while it is open.
        self.close_code: int | None = None


@dataclass
class Context:
    """Built by the HTTP view for each request, and by the WebSocket view for each
    connection (its viewer set once `connection_init` has authenticated it)."""

    # strawberry's own: the Django request (or the WebSocket) and the response it may amend.
    request: Any
    response: Any
    # The caller's address as the transport resolved it (schema/core/client_address.py).
    client_address: str
    viewer: User | AnonymousUser = field(default_factory=AnonymousUser)
    # The refresh-token family the caller's access token was issued in, if any.
    token_family: uuid.UUID | None = None
    # WebSocket only: the connection, and `connection_init`'s payload.
    ws: WebSocketConnection | None = None
    connection_params: dict[str, Any] | None = None
    # The operation that ran, as its document names it (ErrorCodes notes it once it is over;
    # the request metrics read it): its name (None when unnamed) and type.
    operation_name: str | None = None
    operation_type: str | None = None


class _EveryRow:
    """The viewer of a load shared by subscribers of different viewers
    (`results.load_all_for_selection`): every row, each subscriber's own rule applied after."""

    pk = None
    is_authenticated = True
    is_active = True
    is_admin = True


EVERY_ROW = _EveryRow()

Info = strawberry.Info[Context, None]
