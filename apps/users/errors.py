"""The users domain's refusals: codes of its validation errors, and its domain errors."""

import enum

from apps.core.errors import AuthenticationFailed, Conflict, RateLimited


class UserErrorCode(enum.StrEnum):
    EMAIL_TAKEN = "email_taken"
    WRONG_PASSWORD = "wrong_password"
    CURRENT_PASSWORD_REQUIRED = "current_password_required"
    INVALID_CREDENTIALS = "invalid_credentials"
    INVALID_TOKEN = "invalid_token"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    CANNOT_DEACTIVATE_SELF = "cannot_deactivate_self"


class InvalidCredentials(AuthenticationFailed):
    """Wrong email or password, or a deactivated account."""

    message = "Wrong email or password."
    code = UserErrorCode.INVALID_CREDENTIALS


class InvalidToken(AuthenticationFailed):
    """A token that is malformed, forged, expired, revoked, spent or whose user is inactive."""

    message = "Invalid refresh token."
    code = UserErrorCode.INVALID_TOKEN


class TooManyAttempts(RateLimited):
    """Too many failed logins for this email from this address, or from this address."""

    message = "Too many failed attempts; try again later."
    code = UserErrorCode.TOO_MANY_ATTEMPTS


class CannotDeactivateSelf(Conflict):
    """An administrator deactivating their own account."""

    message = "You cannot deactivate your own account."
    code = UserErrorCode.CANNOT_DEACTIVATE_SELF
