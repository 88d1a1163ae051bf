"""`info.context`: what a resolver may know of its caller, the same over HTTP and WebSocket."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import strawberry
from django.contrib.auth.models import AnonymousUser

from apps.users.models import User

if TYPE_CHECKING:
    from strawberry.channels import GraphQLWSConsumer


@dataclass
class Context:
    """Built by the HTTP view for each request, and by the WebSocket consumer for each
    connection (its viewer set once `connection_init` has authenticated it)."""

    # strawberry's own: the Django request (or the consumer) and the response it may amend.
    request: Any
    response: Any
    # The caller's address as the transport resolved it (schema/core/client_address.py).
    client_address: str
    viewer: User | AnonymousUser = field(default_factory=AnonymousUser)
    # The refresh-token family the caller's access token was issued in, if any.
    token_family: uuid.UUID | None = None
    # WebSocket only: the connection, and `connection_init`'s payload.
    ws: GraphQLWSConsumer | None = None
    connection_params: dict[str, Any] | None = None


class _EveryRow:
    """The viewer of a load shared by subscribers of different viewers
    (`results.load_all_for_selection`): every row, each subscriber's own rule applied after."""

    pk = None
    is_authenticated = True
    is_active = True
    is_admin = True


EVERY_ROW = _EveryRow()

Info = strawberry.Info[Context, None]
