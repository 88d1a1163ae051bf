import strawberry
import strawberry_django
from strawberry_django.relay import DjangoCursorConnection

from apps.users import models
from schema.core import connections
from schema.core.context import Info
from schema.core.permissions import IsAdmin, require
from schema.users.filters import UserFilter, UserOrder
from schema.users.types import UserType


@strawberry.type
class UserQueries:
    users: DjangoCursorConnection[UserType] = connections.connection(
        filters=UserFilter,
        ordering=UserOrder,
        extensions=[require(IsAdmin())],
        description="Every user. ADMIN only: others get FORBIDDEN, anonymous callers "
        "UNAUTHENTICATED.",
    )

    @strawberry_django.field(description="The signed-in user; null for an anonymous caller.")
    def me(self, info: Info) -> UserType | None:
        viewer = info.context.viewer
        if not viewer.is_authenticated:
            return None
        return models.User.objects.filter(pk=viewer.pk)
