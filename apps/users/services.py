"""Writes of the users domain: registration, profile changes, deactivation."""

from __future__ import annotations

import uuid

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.core.mail import email_owe
from apps.users.errors import CannotDeactivateSelf, UserErrorCode
from apps.users.models import User
from apps.users.tokens import tokens_revoke

EMAIL_TAKEN = "A user with this email already exists."


def _validate_password(password: str, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({field: error.error_list}) from error


@transaction.atomic
def user_register(*, email: str, name: str, password: str) -> User:
    """A new USER, owed a welcome email; the unique index on lower(email) settles races
    between registrations."""
    user = User(email=User.objects.normalize_email(email), name=name.strip())
    user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    _validate_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        raise ValidationError(
            {"email": [ValidationError(EMAIL_TAKEN, code=UserErrorCode.EMAIL_TAKEN)]}
        ) from error
    email_owe(
        key=f"welcome:{user.pk}",
        to=user.email,
        subject="Welcome to the shop",
        body=f"Hello {user.name},\n\nyour account {user.email} is ready.\n",
    )
    return user


@transaction.atomic
def user_update_profile(
    *,
    user: User,
    name: str | None = None,
    password: str | None = None,
    current_password: str | None = None,
    keep_token_family: uuid.UUID | None = None,
) -> User:
    """Changes name and/or password; a new password ends every other session's refresh tokens.

    Works on a fresh, locked row and writes only these columns, so a concurrent change (a
    deactivation, a role) is never overwritten by the caller's request-time copy.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    changed = []
    if name is not None:
        user.name = name.strip()
        changed.append("name")
    if password is not None:
        if not current_password:
            raise ValidationError(
                {
                    "current_password": [
                        ValidationError(
                            "Enter your current password to change it.",
                            code=UserErrorCode.CURRENT_PASSWORD_REQUIRED,
                        )
                    ]
                }
            )
        if not user.check_password(current_password):
            raise ValidationError(
                {
                    "current_password": [
                        ValidationError(
                            "The current password is wrong.", code=UserErrorCode.WRONG_PASSWORD
                        )
                    ]
                }
            )
    user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    if password is not None:
        _validate_password(password, user)
        user.set_password(password)
        changed.append("password")
        tokens_revoke(user=user, keep_family=keep_token_family)
    if changed:
        user.save(update_fields=changed)
    return user


@transaction.atomic
def user_deactivate(*, user: User, by: User | None = None) -> User:
    """Deactivates a user and ends all its tokens; access tokens stop at the next request.

    `by`, the administrator doing it, may not deactivate themselves (nobody would be left to
    undo it from the API).
    """
    if by is not None and by.pk == user.pk:
        raise CannotDeactivateSelf
    user.is_active = False
    user.save(update_fields=["is_active"])
    tokens_revoke(user=user)
    return user
