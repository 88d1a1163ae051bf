"""The ASGI app: HTTP through Django (middleware, views), WebSocket subscriptions on /graphql/."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.development")

django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from backend.middleware import BoundedRequestBody  # noqa: E402
from schema.schema import schema  # noqa: E402
from schema.websocket import OrderUpdatesConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Django reads a whole body before any middleware: bounded here (MAX_REQUEST_BODY_SIZE).
        "http": BoundedRequestBody(django_application),
        "websocket": AuthMiddlewareStack(
            URLRouter([re_path(r"^graphql/?$", OrderUpdatesConsumer.from_settings(schema))])
        ),
    }
)
