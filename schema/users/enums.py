"""The users domain's GraphQL enums, their values the models' own."""

import enum

import strawberry

from apps.users import models


@strawberry.enum(name="UserRole", description="What a user may see and do.")
class UserRole(enum.Enum):
    ADMIN = strawberry.enum_value(
        models.UserRole.ADMIN.value,
        description="Sees and manages every user, product and order.",
    )
    USER = strawberry.enum_value(
        models.UserRole.USER.value,
        description="Sees the active catalog, their own profile and their own orders.",
    )
