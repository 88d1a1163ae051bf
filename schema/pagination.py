"""Page sizes as the contract fixes them: `first`/`last` default 20, at most 100.

strawberry computes every list-connection slice, top-level or prefetched by the
optimizer for a nested connection, in `SliceMetadata.from_arguments`, whose default page
is the maximum and whose errors carry no code. Wrapping that one function keeps the rule
in one place for both paths.
"""

from typing import Any

from strawberry.relay.utils import SliceMetadata

from schema.errors import BadUserInput

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

_library_from_arguments = SliceMetadata.from_arguments.__func__


def validate_page_size(*, first: int | None, last: int | None) -> None:
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            message = f"`{name}` must be between 0 and {MAX_PAGE_SIZE}."
            raise BadUserInput(message, fields={name: [message]})


def _from_arguments(cls: type[SliceMetadata], info: Any, **kwargs: Any) -> SliceMetadata:
    first, last = kwargs.get("first"), kwargs.get("last")
    validate_page_size(first=first, last=last)
    if first is None and last is None:
        kwargs["first"] = DEFAULT_PAGE_SIZE
    try:
        return _library_from_arguments(cls, info, **kwargs)
    except (ValueError, TypeError) as error:
        fields = {name: ["Malformed cursor."] for name in ("after", "before") if kwargs.get(name)}
        raise BadUserInput("Malformed cursor.", fields=fields) from error


def install() -> None:
    SliceMetadata.from_arguments = classmethod(_from_arguments)
