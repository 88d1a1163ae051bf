"""What an unexpected failure outside GraphQL's own error handling answers (`handler500`).

GraphQL masks what fails inside an operation (schema/core/errors.py). What fails around it (a
middleware, such as the Bearer token's user lookup while the database is down; the view's own
reading of the request) reaches Django's handler, whose page is HTML. For the API's paths the
answer is JSON instead: on `/graphql/` GraphQL's error shape with the contract's
INTERNAL_SERVER_ERROR and the request id, on `/healthz` an "error" status. Either way the
traceback is logged once, with the request id; other paths (the admin) keep Django's page.
"""

import logging
import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from apps.core.request_id import accept_or_make, set_current_request_id
from schema.core.errors import ErrorCode

logger = logging.getLogger("backend.errors")

MESSAGE = "Internal server error."


def _request_id(request: HttpRequest) -> str:
    # Set by RequestTimingMiddleware, the outermost; made here should it have failed itself.
    request_id = getattr(request, "request_id", None)
    if request_id is None:
        request_id = accept_or_make(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        set_current_request_id(request_id)  # the log line's `request_id` (production's JSON)
    return request_id


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler500: JSON for the API's paths, logged once with the request id."""
    request_id = _request_id(request)
    if request.path.startswith("/graphql"):
        extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id}
        response: HttpResponse = JsonResponse(
            {"errors": [{"message": MESSAGE, "extensions": extensions}]}, status=500
        )
    elif request.path == "/healthz":
        response = JsonResponse({"status": "error", "requestId": request_id}, status=500)
    else:
        response = defaults.server_error(request)
    logger.error(
        "Unexpected error in %s %s (request %s)",
        request.method,
        request.path,
        request_id,
        exc_info=sys.exc_info(),
    )
    # Django's own log line would repeat the traceback, without the id.
    response._has_been_logged = True
    response["X-Request-ID"] = request_id
    return response
