"""GraphQL subscriptions over WebSocket (graphql-transport-ws, and legacy graphql-ws).

The access token travels in `connection_init`'s payload, `{"Authorization": "Bearer ..."}`,
and is checked with the same rules as HTTP; without one, Django's session (sent as a cookie
by a same-origin page such as GraphiQL) is used. Anonymous connections are refused there.

Each operation's document is resolved as over HTTP (`schema.core.persisted_queries`): a
trusted document's id alone (`documentId`, or `extensions.persistedQuery.sha256Hash`, in the
payload) runs it, and with `GRAPHQL_TRUSTED_DOCUMENTS=only` nothing else runs; automatic
persisted queries are HTTP's.

Each connection has a request id, as an HTTP request does: kept from the handshake's
`X-Request-ID` when well formed, otherwise made, answered in the handshake's `X-Request-ID`
header, and current (`apps.core.request_id`) for every operation of the connection, so that
a masked error's `extensions.requestId` finds its log lines.

Every acknowledged connection is pinged at the protocol's level (`ping`, or `ka` for the legacy
protocol) each SUBSCRIPTION_KEEPALIVE_INTERVAL seconds, by one task per process: proxies and
load balancers see traffic on idle subscriptions, and clients learn that the server is there.

The view is plain ASGI, one instance per process, reading and writing the server's own
`receive` and `send`: a connection is a small object and strawberry's protocol handler, with
no consumer, message queue or middleware frames of its own, since a process holds thousands.
"""

import asyncio
import contextvars
import ctypes
import ctypes.util
import gc
import json
import logging
import re
import sys
import time
import weakref
from importlib import import_module

from channels.db import aclose_old_connections, database_sync_to_async
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.async_base_view import AsyncBaseHTTPView, AsyncWebSocketAdapter
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.http.websocket_origin import normalize_allowed_origins
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from apps.core import metrics
from apps.core.request_id import accept_or_make, set_current_request_id
from apps.users import tokens
from apps.users.models import User
from schema.core import compat, persisted_queries, trusted_documents
from schema.core.client_address import client_address_of_scope
from schema.core.context import Context, WebSocketConnection

logger = logging.getLogger("backend.requests")

MAX_SUBSCRIPTIONS_PER_CONNECTION = 20
PATH = re.compile(r"^/graphql/?$")

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
    """Collects what closed connections leave: once none has closed for QUIET seconds (or
    MAX_DELAY after the first close, while closes keep coming), and at most every INTERVAL,
    a full collection, the tables compacted, then malloc_trim.

    A closed connection leaves reference cycles (its tasks and handler), which the serving
    thresholds (backend/gc_tuning.py) would leave for a long time; collected, their memory
    serves the next connections, and glibc returns its free pages to the system (all of them
    under the Dockerfile's PYTHONMALLOC=malloc). Hash tables keep the size of their peak
    until rebuilt: the event loop's (compat.compact_event_loop_tables), the keep-alive's, and
    the server's own (`compact_after_closes`).
    """

    QUIET = 2.0
    MAX_DELAY = 30.0
    INTERVAL = 10.0

    def __init__(self) -> None:
        self.first_closed_at = self.closed_at = 0.0
        self.reclaimed_at = -self.INTERVAL
        self.task: asyncio.Task | None = None
        self.server_tables: list[set | dict] = []
        libc = ctypes.util.find_library("c")
        self.malloc_trim = getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None

    def closed(self) -> None:
        self.closed_at = time.monotonic()
        if self.task is None or self.task.done():
            self.first_closed_at = self.closed_at
            self.task = asyncio.get_running_loop().create_task(
                self._run(), name="reclaim", context=contextvars.Context()
            )

    def due(self) -> float:
        settled = min(self.closed_at + self.QUIET, self.first_closed_at + self.MAX_DELAY)
        return max(settled, self.reclaimed_at + self.INTERVAL)

    async def _run(self) -> None:
        while (due := self.due()) > (now := time.monotonic()):
            await asyncio.sleep(due - now)
        gc.collect()
        compat.compact_event_loop_tables(asyncio.get_running_loop())
        for table in self.server_tables:
            compat.compact_in_place(table)
        _keepalive.handlers = weakref.WeakKeyDictionary(_keepalive.handlers)
        # CPython's attribute cache keeps the name strings it was last asked for (Django's
        # `"as_" + vendor` among them, one per compile): made during the burst, they would pin
        # its pages.
        sys._clear_type_cache()
        if self.malloc_trim is not None:
            self.malloc_trim(0)
        self.reclaimed_at = time.monotonic()


_reclaim = _Reclaim()


def compact_after_closes(*tables: set | dict) -> None:
    """Adds the server's own per-connection tables (backend/gunicorn_worker.py) to what is
    compacted after connections close."""
    for table in tables:
        if not any(held is table for held in _reclaim.server_tables):
            _reclaim.server_tables.append(table)


class _TransportWSHandler(BaseGraphQLTransportWSHandler):
    def on_request_accepted(self) -> None:
        super().on_request_accepted()
        _keepalive.add(self, {"type": "ping"})

    async def handle_subscribe(self, message) -> None:
        # The protocol's own refusals (before `connection_ack`, an id in use) close the
        # connection first; a document that may not run is the operation's `error`.
        if self.connection_acknowledged and message["id"] not in self.operations:
            try:
                message = _with_document(message)
            except persisted_queries.PersistedQueryError as error:
                payload = [error.graphql_error().formatted]
                await self.send_message({"id": message["id"], "type": "error", "payload": payload})
                return
        await super().handle_subscribe(message)


class _LegacyWSHandler(BaseGraphQLWSHandler):
    async def handle(self) -> None:
        _keepalive.add(self, {"type": "ka"})
        await super().handle()

    async def handle_start(self, message) -> None:
        if self.connection_acknowledged:  # otherwise the protocol closes the connection
            try:
                message = _with_document(message)
            except persisted_queries.PersistedQueryError as error:
                payload = error.graphql_error().formatted  # one error, as the protocol sends
                await self.send_message({"id": message["id"], "type": "error", "payload": payload})
                return
        await super().handle_start(message)


def _with_document(message: dict) -> dict:
    """An operation's message with the document it runs as its payload's `query`: trusted
    documents by id, and under `only` nothing else (`schema.core.persisted_queries`)."""
    return {**message, "payload": persisted_queries.resolve_payload(message["payload"])}


class _Adapter(AsyncWebSocketAdapter):
    """strawberry's handlers' view of the connection: the server's receive and send."""

    def __init__(self, view: "GraphQLWebSocketView", request, response: WebSocketConnection):
        super().__init__(view)
        self.connection = response

    async def iter_json(self, *, ignore_parsing_errors: bool = False):
        while True:
            message = await self.connection.receive()
            if message["type"] == "websocket.disconnect":
                self.connection.close_code = self.connection.close_code or message.get("code")
                return
            text = message.get("text")
            if text is None:
                raise NonTextMessageReceived
            try:
                message = self.view.decode_json(text)
            except json.JSONDecodeError as error:
                if not ignore_parsing_errors:
                    raise NonJsonMessageReceived from error
                continue
            # Every protocol message is an object; strawberry's handlers assume it.
            if isinstance(message, dict):
                yield message
            elif not ignore_parsing_errors:
                raise NonJsonMessageReceived

    async def send_json(self, message) -> None:
        if self.connection.close_code is not None:
            raise WebSocketDisconnected
        try:
            await self.connection.send(
                {"type": "websocket.send", "text": self.view.encode_json(message)}
            )
        except OSError as error:  # the server's: the client has gone
            raise WebSocketDisconnected from error

    async def close(self, code: int, reason: str) -> None:
        if self.connection.close_code is None:
            self.connection.close_code = code
            await self.connection.send({"type": "websocket.close", "code": code, "reason": reason})


class GraphQLWebSocketView(
    AsyncBaseHTTPView[
        WebSocketConnection,
        WebSocketConnection,
        WebSocketConnection,
        WebSocketConnection,
        WebSocketConnection,
        Context,
        None,
    ]
):
    """The ASGI app for WebSocket connections to /graphql/."""

    websocket_adapter_class = _Adapter
    graphql_transport_ws_handler_class = _TransportWSHandler
    graphql_ws_handler_class = _LegacyWSHandler
    graphql_ide = None
    max_subscriptions_per_connection = MAX_SUBSCRIPTIONS_PER_CONNECTION

    def __init__(self, schema) -> None:
        trusted_documents.manifest()  # read at start-up: a broken one stops the process here
        self.schema = schema
        self.allowed_origins = normalize_allowed_origins(list(settings.CORS_ALLOWED_ORIGINS))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "websocket":
            raise ValueError(f"{type(self).__name__} serves WebSocket connections only.")
        if (await receive())["type"] != "websocket.connect":
            return
        if not PATH.match(scope["path"]):
            await send({"type": "websocket.close"})  # refused before accepting: HTTP 403
            return
        headers = dict(scope.get("headers") or ())
        connection = WebSocketConnection(
            scope,
            receive,
            send,
            accept_or_make(headers.get(b"x-request-id", b"").decode("latin1")),
        )
        # Set before strawberry starts the connection's tasks: each runs in a copy of it.
        set_current_request_id(connection.request_id)
        metrics.WEBSOCKET_CONNECTIONS_OPEN.inc()
        try:
            await self.run(connection)
        finally:
            metrics.WEBSOCKET_CONNECTIONS_OPEN.dec()
            # As Django does when a request ends: a connection past CONN_MAX_AGE goes back.
            await aclose_old_connections()
            _reclaim.closed()
            logger.info(
                "WEBSOCKET %s user=%s close_code=%s duration_ms=%.1f request_id=%s",
                scope["path"],
                connection.user.pk if connection.user else "-",
                connection.close_code,
                (time.perf_counter() - connection.connected_at) * 1000,
                connection.request_id,
            )

    @property
    def allow_queries_via_get(self) -> bool:
        return False

    def is_websocket_request(self, request) -> bool:
        return True

    def get_websocket_headers(self, request: WebSocketConnection) -> dict[str, str]:
        return {
            name.decode("latin1").lower(): value.decode("latin1")
            for name, value in request.scope.get("headers") or ()
        }

    async def pick_websocket_subprotocol(self, request: WebSocketConnection) -> str | None:
        offered = request.scope.get("subprotocols") or ()
        return next((p for p in offered if p in self.protocols), None)

    async def create_websocket_response(self, request: WebSocketConnection, subprotocol):
        await request.send(
            {
                "type": "websocket.accept",
                "subprotocol": subprotocol,
                "headers": [(b"x-request-id", request.request_id.encode())],
            }
        )
        return request

    async def reject_websocket(self, request: WebSocketConnection) -> WebSocketConnection:
        await request.send({"type": "websocket.close"})  # before accepting: HTTP 403
        request.close_code = 403
        return request

    async def get_root_value(self, request) -> None:
        return None

    async def get_context(self, request: WebSocketConnection, response) -> Context:
        # One per connection; its viewer is set by `on_ws_connect`, before any operation runs.
        return Context(
            request=request,
            response=response,
            client_address=client_address_of_scope(request.scope),
            ws=request,
        )

    async def on_ws_connect(self, context: Context) -> None:
        header = str((context.connection_params or {}).get("Authorization", ""))
        user = family = None
        if header:
            try:
                bearer = await database_sync_to_async(tokens.bearer_authenticate)(
                    header, keep=False
                )
                user, family = bearer.user, bearer.family
            except tokens.InvalidToken:
                pass
        else:
            # No token: a same-origin page with a session (GraphiQL after signing in).
            user = await database_sync_to_async(_session_user)(context.ws.scope)
        if user is None:
            raise ConnectionRejectionError(
                {"message": "Authentication required.", "code": "UNAUTHENTICATED"}
            )
        context.ws.user = context.viewer = user
        context.token_family = family

    # HTTP is Django's (schema.views); this view is never asked for it.
    async def get_sub_response(self, request):
        raise NotImplementedError

    def create_response(self, response_data, sub_response):
        raise NotImplementedError

    async def render_graphql_ide(self, request):
        raise NotImplementedError


def _session_user(scope) -> User | None:
    """The signed-in user of the handshake's session cookie, by Django's own rules."""
    headers = scope.get("headers") or ()
    cookies = parse_cookie(";".join(v.decode("latin1") for k, v in headers if k == b"cookie"))
    session_key = cookies.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return None
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(request)
    return user if user.is_authenticated else None
