from typing import Self

import strawberry_django
from django.db.models import Q, QuerySet
from strawberry import auto

from apps.users import models, selectors
from schema.core.connections import FILTER_OPERATORS
from schema.users.enums import UserRole


@strawberry_django.filter_type(
    models.User,
    name="UserFilter",
    description="Narrows a list of users: every field given must hold.",
)
class UserFilter:
    role: UserRole | None = strawberry_django.filter_field(description="Users of this role.")
    is_active: bool | None = strawberry_django.filter_field(
        description="true: active users; false: deactivated ones."
    )
    AND: Self | None = strawberry_django.filter_field(description=FILTER_OPERATORS["AND"])
    OR: Self | None = strawberry_django.filter_field(description=FILTER_OPERATORS["OR"])
    NOT: Self | None = strawberry_django.filter_field(description=FILTER_OPERATORS["NOT"])
    DISTINCT: bool | None = strawberry_django.filter_field(description=FILTER_OPERATORS["DISTINCT"])

    @strawberry_django.filter_field(description="Case-insensitive substring of email or name.")
    def search(self, queryset: QuerySet, value: str, prefix: str) -> tuple[QuerySet, Q]:
        return queryset, selectors.user_search(value, prefix=prefix)


@strawberry_django.order_type(
    models.User, name="UserOrder", description="One sort key of a list of users: set one field."
)
class UserOrder:
    email: auto = strawberry_django.order_field(description="By email address.")
    name: auto = strawberry_django.order_field(description="By display name.")
    date_joined: auto = strawberry_django.order_field(description="By registration time.")
