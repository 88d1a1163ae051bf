"""The ASGI app: HTTP through Django (middleware, views), WebSocket subscriptions on /graphql/."""

import asyncio
import os

import django
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler

from backend import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.development")
django.setup(set_prefix=False)

# Before the handler reads MIDDLEWARE. gunicorn imports this in each worker, after its fork.
telemetry.setup(telemetry.WEB)


class RequestSlotsASGIHandler(ASGIHandler):
    """Django's ASGI handler, with at most WEB_REQUEST_SLOTS requests in its middleware and
    views at once; the others wait their turn on the event loop, where waiting is cheap.

    Each request in Django's sync path holds a thread of its own. Threads beyond the cores
    only take the GIL from each other and from the event loop, which carries every WebSocket:
    under a burst of mutations the loop got a thirtieth of the interpreter, and subscription
    events waited as long as the mutations did.
    """

    def __init__(self) -> None:
        super().__init__()
        self.slots = asyncio.Semaphore(settings.WEB_REQUEST_SLOTS)

    async def get_response_async(self, request):
        async with self.slots:
            return await super().get_response_async(request)


django_application = RequestSlotsASGIHandler()

from backend.middleware import BoundedRequestBody  # noqa: E402
from schema.schema import schema  # noqa: E402
from schema.websocket import GraphQLWebSocketView  # noqa: E402

# Django reads a whole body before any middleware: bounded here (MAX_REQUEST_BODY_SIZE).
http_application = BoundedRequestBody(django_application)
websocket_application = GraphQLWebSocketView(schema)


async def application(scope, receive, send):
    if scope["type"] == "websocket":
        return await websocket_application(scope, receive, send)
    return await http_application(scope, receive, send)
