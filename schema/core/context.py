"""What resolvers may take from the request context."""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from strawberry import Info
from strawberry.django.context import StrawberryDjangoContext

from apps.users.models import User


@dataclass
class Context(StrawberryDjangoContext):
    """`info.context` over HTTP: strawberry's request and response, plus the client address
    the view resolved once for the request (schema/core/client_address.py)."""

    client_address: str


def get_viewer(info: Info) -> User | AnonymousUser:
    """The caller: a `User` when authenticated, otherwise `AnonymousUser`."""
    return info.context.request.user


def get_client_address(info: Info) -> str:
    """The caller's address as its transport resolved it (HTTP view or WebSocket consumer)."""
    return info.context.client_address
