"""Reads of users."""

from django.db.models import Q


def user_search(term: str, *, prefix: str = "") -> Q:
    """Users whose email or name contains `term`, ignoring case (`prefix` reaches them through
    a relation, `"user__"`)."""
    return Q(**{f"{prefix}email__icontains": term}) | Q(**{f"{prefix}name__icontains": term})
