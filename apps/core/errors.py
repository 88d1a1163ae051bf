"""The kinds of refusal a domain rule can give, one class each; an app's own errors subclass
them with its message and code. Invalid input is Django's `ValidationError`, keyed by field.

The API layer maps each kind to its code once (`schema.core.errors`), so services raise and
resolvers do not translate.
"""

from __future__ import annotations

import enum


class DomainError(Exception):
    """A rule of the domain refused the request. `message` is meant for the caller."""

    message: str = "The request was refused."
    code: enum.StrEnum | str | None = None

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class NotFound(DomainError):
    """No such object, or none the caller may see: the two are not told apart."""

    message = "Not found."


class Conflict(DomainError):
    """The object's current state does not allow it."""

    message = "This conflicts with the object's current state."


class AuthenticationFailed(DomainError):
    """Credentials or a token that prove nothing: wrong, expired, revoked or forged."""

    message = "Authentication failed."


class RateLimited(DomainError):
    """Too many attempts; the caller may try again after `retry_after` seconds."""

    message = "Too many attempts; try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
