"""GraphQL subscriptions over WebSocket (graphql-transport-ws, and legacy graphql-ws).

The access token travels in `connection_init`'s payload, `{"Authorization": "Bearer ..."}`,
and is checked with the same rules as HTTP; without one, Django's session (sent as a cookie
by a same-origin page such as GraphiQL) is used. Anonymous connections are refused there.

Each connection has a request id, as an HTTP request does: kept from the handshake's
`X-Request-ID` when well formed, otherwise made, answered in the handshake's `X-Request-ID`
header, and current (`apps.core.request_id`) for every operation of the connection, so that
a masked error's `extensions.requestId` finds its log lines.

Every acknowledged connection is pinged at the protocol's level (`ping`, or `ka` for the legacy
protocol) each SUBSCRIPTION_KEEPALIVE_INTERVAL seconds, by one task per process: proxies and
load balancers see traffic on idle subscriptions, and clients learn that the server is there.
"""

import asyncio
import contextvars
import ctypes
import ctypes.util
import gc
import logging
import time
import weakref

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.conf import settings
from strawberry.channels import GraphQLWSConsumer
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from apps.core.request_id import accept_or_make, set_current_request_id
from apps.users import tokens
from apps.users.models import User
from schema.core.client_address import client_address_of_scope
from schema.core.context import Context

logger = logging.getLogger("backend.requests")

MAX_SUBSCRIPTIONS_PER_CONNECTION = 20

Handler = BaseGraphQLTransportWSHandler | BaseGraphQLWSHandler


class _KeepAlive:
    """The process's acknowledged connections, pinged together by one task: no task, and no
    timer, per connection."""

    def __init__(self) -> None:
        self.handlers: weakref.WeakKeyDictionary[Handler, dict] = weakref.WeakKeyDictionary()
        self.task: asyncio.Task | None = None

    def add(self, handler: Handler, message: dict) -> None:
        self.handlers[handler] = message
        if self.task is None or self.task.done() or self.task.get_loop().is_closed():
            self.task = asyncio.get_running_loop().create_task(
                self._ping(), name="keepalive", context=contextvars.Context()
            )

    async def _ping(self) -> None:
        while self.handlers:
            await asyncio.sleep(settings.SUBSCRIPTION_KEEPALIVE_INTERVAL)
            sends = [
                handler.send_message(message)
                for handler, message in list(self.handlers.items())
                if handler.connection_acknowledged
            ]
            # Together, not one after another: a client that reads slowly holds up only its own.
            await asyncio.gather(*sends, return_exceptions=True)


_keepalive = _KeepAlive()


class _Reclaim:
    """Collects what closed connections leave: once none has closed for QUIET seconds (at
    most every INTERVAL), a full collection, then malloc_trim.

    A closed connection leaves reference cycles (its tasks, consumer and handler), which the
    serving thresholds (backend/gc_tuning.py) would leave for a long time; collected, their
    memory serves the next connections, and glibc returns what it can to the system.
    """

    QUIET = 2.0
    INTERVAL = 30.0

    def __init__(self) -> None:
        self.closed_at = 0.0
        self.reclaimed_at = -self.INTERVAL
        self.task: asyncio.Task | None = None
        libc = ctypes.util.find_library("c")
        self.malloc_trim = getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None

    def closed(self) -> None:
        self.closed_at = time.monotonic()
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(
                self._run(), name="reclaim", context=contextvars.Context()
            )

    async def _run(self) -> None:
        while (wait := max(self.closed_at + self.QUIET, self.reclaimed_at + self.INTERVAL)) > (
            now := time.monotonic()
        ):
            await asyncio.sleep(wait - now)
        gc.collect()
        if self.malloc_trim is not None:
            self.malloc_trim(0)
        self.reclaimed_at = time.monotonic()


_reclaim = _Reclaim()


class _TransportWSHandler(BaseGraphQLTransportWSHandler):
    def on_request_accepted(self) -> None:
        super().on_request_accepted()
        _keepalive.add(self, {"type": "ping"})


class _LegacyWSHandler(BaseGraphQLWSHandler):
    async def handle(self) -> None:
        _keepalive.add(self, {"type": "ka"})
        await super().handle()


class OrderUpdatesConsumer(GraphQLWSConsumer):
    graphql_transport_ws_handler_class = _TransportWSHandler
    graphql_ws_handler_class = _LegacyWSHandler
    user: User | None = None  # set by on_ws_connect, before any subscription runs
    request_id: str = "-"  # set by connect, before anything else runs
    connected_at: float = 0.0

    @classmethod
    def from_settings(cls, schema):
        return cls.as_asgi(
            schema=schema,
            allowed_origins=list(settings.CORS_ALLOWED_ORIGINS),
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        )

    async def connect(self) -> None:
        self.connected_at = time.perf_counter()
        headers = dict(self.scope.get("headers") or ())
        self.request_id = accept_or_make(headers.get(b"x-request-id", b"").decode("latin1"))
        # Set before strawberry starts the connection's task: that task, and each operation's
        # task it starts, run in a copy of this context.
        set_current_request_id(self.request_id)
        await super().connect()

    async def create_websocket_response(self, request, subprotocol):
        await request.accept(
            subprotocol=subprotocol, headers=[(b"x-request-id", self.request_id.encode())]
        )
        return request

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        _reclaim.closed()
        logger.info(
            "WEBSOCKET %s user=%s close_code=%s duration_ms=%.1f request_id=%s",
            self.scope.get("path"),
            self.user.pk if self.user else "-",
            code,
            (time.perf_counter() - self.connected_at) * 1000,
            self.request_id,
        )

    async def dispatch(self, message) -> None:
        # channels' own dispatch closes stale database connections before every message, a
        # thread hop each (every ping, pong and subscribe); this consumer reaches the database
        # only through database_sync_to_async, which does that in the thread it uses.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def get_context(self, request, response) -> Context:
        # One per connection; its viewer is set by `on_ws_connect`, before any operation runs.
        return Context(
            request=request,
            response=response,
            client_address=client_address_of_scope(self.scope),
            ws=self,
        )

    async def on_ws_connect(self, context: Context) -> None:
        header = str((context.connection_params or {}).get("Authorization", ""))
        user = family = None
        if header:
            try:
                bearer = await database_sync_to_async(tokens.bearer_authenticate)(header)
                user, family = bearer.user, bearer.family
            except tokens.InvalidToken:
                pass
        else:
            # No token: a same-origin page with a session (GraphiQL after signing in).
            session_user = self.scope.get("user")
            user = session_user if session_user and session_user.is_authenticated else None
        if user is None:
            raise ConnectionRejectionError(
                {"message": "Authentication required.", "code": "UNAUTHENTICATED"}
            )
        self.user = context.viewer = user
        context.token_family = family
