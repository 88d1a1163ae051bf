"""Request-scoped plumbing: refusing malformed requests, the request id, one log line each."""

import asyncio
import logging
import time

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.db import connection
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.utils.http import parse_header_parameters

from apps.core.request_id import accept_or_make, set_current_request_id
from apps.users import tokens
from backend import metrics
from schema.core.transport import RequestRefused

logger = logging.getLogger("backend.requests")


class RequestGuardMiddleware:
    """Refuses, before any view, what is wrong with a request whatever its path: a Host not in
    ALLOWED_HOSTS, a malformed Content-Length, a body over `MAX_REQUEST_BODY_SIZE`.

    A body is refused with 413 from its Content-Length, unread, or, without one (chunked),
    from its bytes: at most one byte past the limit is read (Django's own bound, and under
    ASGI `BoundedRequestBody`'s). Answers are JSON in GraphQL's error shape, and nothing is
    logged but the request line: Django would answer these with an HTML 400 and log a
    traceback.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.limit = settings.MAX_REQUEST_BODY_SIZE

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request.get_host()
        except DisallowedHost:
            return RequestRefused(400, "Unknown host.", field="Host").response()
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not (declared.isascii() and declared.isdigit()):
            return RequestRefused(
                400, "Content-Length must be a number of bytes.", field="Content-Length"
            ).response()
        if int(declared) > self.limit:
            return self._too_large()
        try:
            body = request.body
        except RequestDataTooBig:
            return self._too_large()
        except UnreadablePostError:
            return RequestRefused(400, "The body could not be read.", field="body").response()
        if len(body) > self.limit:
            return self._too_large()
        return self.get_response(request)

    def _too_large(self) -> HttpResponse:
        message = f"The body is larger than {self.limit} bytes."
        return RequestRefused(413, message, field="body").response()


class BoundedRequestBody:
    """ASGI: hands Django at most `MAX_REQUEST_BODY_SIZE` + 1 bytes of a request body.

    Django's ASGI handler reads a whole body (into a temporary file that spills to disk)
    before any middleware runs. This reads none of a body whose Content-Length is over the
    limit, and stops one byte past it in a chunked one; `RequestGuardMiddleware` then answers
    413 and the server discards the rest. It also drops a Content-Type header that Django
    cannot parse (an RFC 2231 parameter in an unknown charset), which would otherwise fail
    the request's construction with a 500; the request then has no content type (415).
    """

    def __init__(self, app):
        self.app = app
        self.limit = settings.MAX_REQUEST_BODY_SIZE

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        scope = _without_unparsable_content_type(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and not (declared.isdigit() and int(declared) <= self.limit):
            # Refused from the header (malformed or too large): read none of it.
            return await self.app(scope, _replay(b"", receive, finished=False), send)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client left before its body ended: nobody to answer
            body += message.get("body", b"")
            if len(body) > self.limit:
                # Django sees the excess and RequestGuardMiddleware answers 413.
                data = bytes(body[: self.limit + 1])
                return await self.app(scope, _replay(data, receive, finished=False), send)
            if not message.get("more_body", False):
                return await self.app(scope, _replay(bytes(body), receive, finished=True), send)


def _header(scope, name: bytes) -> bytes | None:
    values = [value for key, value in scope["headers"] if key.lower() == name]
    return b",".join(values) if values else None


def _without_unparsable_content_type(scope):
    content_type = _header(scope, b"content-type")
    if content_type is None:
        return scope
    try:
        parse_header_parameters(content_type.decode("latin-1"))
    except (ValueError, LookupError):
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
        return {**scope, "headers": headers}
    return scope


def _replay(body: bytes, receive, *, finished: bool):
    """An ASGI `receive` giving `body` as the whole request; afterwards, the server's own
    (a disconnect) when the body was read to its end, else nothing: the unread rest is left
    to the server, and Django's wait for a disconnect is cancelled with the response."""
    delivered = False

    async def replayed():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        if finished:
            return await receive()
        await asyncio.get_running_loop().create_future()  # never set; cancelled by Django
        raise AssertionError("unreachable")

    return replayed


class _StatementCount:
    """A database execute wrapper counting the statements run through it."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class RequestTimingMiddleware:
    """Sets `X-Request-ID` and `X-Request-Duration`; logs method, path, operation, status, time;
    and for GraphQL requests records the request metrics (duration, SQL statements)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = accept_or_make(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        set_current_request_id(request_id)
        statements = None
        if request.path_info == metrics.API_PATH:
            # The view runs in this thread (Django's ASGI handler: one thread per request).
            statements = _StatementCount()
            with connection.execute_wrapper(statements):
                response = self.get_response(request)
        else:
            response = self.get_response(request)
        duration = time.perf_counter() - started
        if statements is not None:
            metrics.observe_graphql_request(
                request, response.status_code, duration, statements.count
            )
        duration_ms = duration * 1000
        response["X-Request-ID"] = request_id
        response["X-Request-Duration"] = f"{duration_ms:.1f}ms"
        logger.info(
            "%s %s operation=%s status=%s duration_ms=%.1f request_id=%s",
            request.method,
            request.path,
            getattr(request, "graphql_operation_name", None) or "-",
            response.status_code,
            duration_ms,
            request_id,
        )
        return response


class BearerTokenMiddleware:
    """Sets `request.user` from a Bearer access token; a bad token leaves `request.auth_error`.

    Without an Authorization header, Django's session login applies unchanged. With one,
    the token alone decides: a bad, expired or forged token, or an inactive user, makes
    the request anonymous and sets `auth_error`, which the GraphQL view turns into
    UNAUTHENTICATED for the whole operation.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.auth_error = None
        request.token_family = None
        header = request.headers.get("Authorization")
        if header is not None:
            try:
                bearer = tokens.bearer_authenticate(header)
            except tokens.InvalidToken:
                request.user = AnonymousUser()
                request.auth_error = "Invalid or expired access token."
            else:
                request.user = bearer.user
                request.token_family = bearer.family
                request._dont_enforce_csrf_checks = True
        return self.get_response(request)
