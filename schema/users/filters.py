import strawberry_django
from django.db.models import Q, QuerySet
from strawberry import auto

from apps.users import models
from schema.users.types import UserRole


@strawberry_django.filter_type(models.User, name="UserFilter")
class UserFilter:
    role: UserRole | None = strawberry_django.filter_field()
    is_active: bool | None = strawberry_django.filter_field()

    @strawberry_django.filter_field(description="Case-insensitive substring of email or name.")
    def search(self, queryset: QuerySet, value: str, prefix: str) -> tuple[QuerySet, Q]:
        return queryset, Q(**{f"{prefix}email__icontains": value}) | Q(
            **{f"{prefix}name__icontains": value}
        )


@strawberry_django.order_type(models.User, name="UserOrder")
class UserOrder:
    email: auto
    name: auto
    date_joined: auto
