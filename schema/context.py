"""What resolvers may take from the request context."""

from django.contrib.auth.models import AnonymousUser
from strawberry import Info

from apps.users.models import User


def get_viewer(info: Info) -> User | AnonymousUser:
    """The caller: a `User` when authenticated, otherwise `AnonymousUser`."""
    return info.context.request.user
