"""Request-scoped plumbing: the request id and one timing log line per request."""

import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from apps.core.request_id import accept_or_make, set_current_request_id

logger = logging.getLogger("backend.requests")


class RequestSizeLimitMiddleware:
    """Refuses a body larger than `MAX_REQUEST_BODY_SIZE` with 413, before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.limit = settings.MAX_REQUEST_BODY_SIZE

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponseBadRequest("Invalid Content-Length.")
        if length > self.limit:
            return HttpResponse(
                f"Request body larger than {self.limit} bytes.",
                status=413,
                content_type="text/plain",
            )
        return self.get_response(request)


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
