"""Global ids (Relay) to primary keys, with the contract's errors."""

from strawberry import relay

from schema.errors import BadUserInput

MALFORMED = "Malformed global id."


def pk_of(global_id: relay.GlobalID, type_name: str, *, field: str = "id") -> int | None:
    """The primary key `global_id` names, or None when it names another type.

    Every key of this API is an integer: anything else is malformed (BAD_USER_INPUT), not
    missing.
    """
    if not global_id.node_id.isdigit():
        raise BadUserInput(MALFORMED, fields={field: [MALFORMED]})
    return int(global_id.node_id) if global_id.type_name == type_name else None
