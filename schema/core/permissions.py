"""Who may call which field: field extensions that fail loudly with the contract's codes."""

from typing import Any

from strawberry.permission import BasePermission, PermissionExtension

from schema.core.context import Info
from schema.core.errors import Forbidden, Unauthenticated


class IsAuthenticated(BasePermission):
    """Any signed-in user; anonymous callers get UNAUTHENTICATED."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if not info.context.viewer.is_authenticated:
            raise Unauthenticated("Authentication required.")
        return True


class IsAdmin(BasePermission):
    """ADMIN only; other users get FORBIDDEN, anonymous callers UNAUTHENTICATED."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = info.context.viewer
        if not viewer.is_authenticated:
            raise Unauthenticated("Authentication required.")
        if not viewer.is_admin:
            raise Forbidden("Only administrators may do this.")
        return True


def require(*permissions: BasePermission) -> PermissionExtension:
    """A permission extension that keeps the SDL free of permission directives."""
    return PermissionExtension(permissions=list(permissions), use_directives=False)
