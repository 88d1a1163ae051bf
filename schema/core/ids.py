"""Global ids (Relay) to primary keys, with the contract's errors."""

from typing import TypeVar

from django.db.models import Model, QuerySet
from strawberry import relay

from schema.core.errors import BadUserInput, NotFound

M = TypeVar("M", bound=Model)

MALFORMED = "Malformed global id."
MAX_KEY = 2**63 - 1


def pk_of(global_id: relay.GlobalID, type_name: str, *, field: str = "id") -> int | None:
    """The primary key `global_id` names, or None when it names another type.

    Every key of this API is an integer: anything else is malformed (BAD_USER_INPUT), not
    missing.
    """
    if not global_id.node_id.isdigit():
        raise BadUserInput(MALFORMED, fields={field: [MALFORMED]})
    pk = int(global_id.node_id)
    # Beyond a 64-bit key no row can exist: the same as another type's id.
    return pk if global_id.type_name == type_name and pk <= MAX_KEY else None


def object_of(global_id: relay.GlobalID, type_name: str, queryset: QuerySet[M]) -> M:
    """The object of `queryset` that `global_id` names; NOT_FOUND when there is none."""
    pk = pk_of(global_id, type_name)
    found = queryset.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise NotFound(f"No such {type_name.lower()}.")
    return found
