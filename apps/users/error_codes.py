"""Codes of the users domain's validation errors (Django `ValidationError.code`)."""

import enum


class UserErrorCode(enum.StrEnum):
    EMAIL_TAKEN = "email_taken"
    WRONG_PASSWORD = "wrong_password"
    CURRENT_PASSWORD_REQUIRED = "current_password_required"
