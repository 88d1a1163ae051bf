"""Request-scoped plumbing: the request id and one timing log line per request."""

import logging
import time

from django.http import HttpRequest, HttpResponse

from backend.request_id import accept_or_make, set_current_request_id

logger = logging.getLogger("backend.requests")


class RequestTimingMiddleware:
    """Sets `X-Request-ID` and `X-Request-Duration`; logs method, path, operation, status, time."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = accept_or_make(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        set_current_request_id(request_id)
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
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
