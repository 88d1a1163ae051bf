"""Access and refresh tokens: issue, rotate, revoke, verify.

Access tokens are short-lived JWTs naming their user and token family, checked on every
request against the user's `is_active` and the family's end, in the one query that loads the
user; a web process keeps what that query found for each session it has seen, until a change
to the user or the end of the family retires it in every process (`apps.core.invalidation`),
so a request with a known token costs no SQL. Refresh tokens are opaque random strings stored
as SHA-256 hashes, single use: a refresh spends one and issues the next of the same family;
presenting a spent one again means it was stolen or replayed, so the whole family is revoked.
A family ends when any of its refresh tokens is revoked (logout, that reuse, a password change
ending other sessions, a deactivation): its refresh tokens and its access tokens stop working
at once. Logins are limited by `login_limits`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Exists, IntegerField, QuerySet, UUIDField, Value
from django.utils import timezone

from apps.core import invalidation
from apps.users import login_limits
from apps.users.errors import InvalidCredentials, InvalidToken
from apps.users.models import RefreshToken, User


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_at: datetime


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    family: uuid.UUID | None


def _signing_key() -> str:
    return settings.JWT_SIGNING_KEY or settings.SECRET_KEY


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue(user: User, family: uuid.UUID) -> TokenPair:
    now = timezone.now()
    access_expires_at = now + timedelta(seconds=settings.ACCESS_TOKEN_LIFETIME)
    claims = {
        "sub": str(user.pk),
        "fam": str(family),
        "iat": int(now.timestamp()),
        "exp": int(access_expires_at.timestamp()),
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    access_token = jwt.encode(claims, _signing_key(), algorithm=settings.JWT_ALGORITHM)
    refresh_token = secrets.token_urlsafe(32)
    RefreshToken.objects.create(
        user=user,
        family=family,
        token_hash=_hash(refresh_token),
        expires_at=now + timedelta(seconds=settings.REFRESH_TOKEN_LIFETIME),
    )
    return TokenPair(access_token, refresh_token, access_expires_at.replace(microsecond=0))


def token_obtain(*, email: str, password: str, client_address: str) -> TokenPair:
    """A new token family for valid credentials; refused (`login_limits.TooManyAttempts`)
    while the email from this address, or this address, has failed too often."""
    attempt = login_limits.login_attempt_start(email=email, client_address=client_address)
    user = authenticate(email=User.objects.normalize_email(email), password=password)
    if user is None:
        raise InvalidCredentials  # the attempt stays counted
    login_limits.login_attempt_succeeded(attempt)
    return _issue(user, uuid.uuid4())


def token_refresh(*, refresh_token: str) -> TokenPair:
    """Spends `refresh_token` and issues the next pair of its family."""
    reused_family = None
    with transaction.atomic():
        # The row lock makes a replay wait until the winner's next token is committed, so
        # revoking the family on reuse also reaches that token.
        token = (
            RefreshToken.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(token_hash=_hash(refresh_token))
            .first()
        )
        if token is None:
            raise InvalidToken
        now = timezone.now()
        family_revoked = RefreshToken.objects.filter(
            family=token.family, revoked_at__isnull=False
        ).exists()
        if family_revoked or token.expires_at <= now or not token.user.is_active:
            raise InvalidToken
        if token.used_at is None:
            token.used_at = now
            token.save(update_fields=["used_at"])
            return _issue(token.user, token.family)
        reused_family = token.family
    # A spent token came back: whoever holds this family must not keep it.
    tokens_revoke(family=reused_family)
    raise InvalidToken


def token_revoke(*, refresh_token: str) -> bool:
    """Ends one refresh token, and so its family, at once (logout). False when it was not
    usable anyway."""
    with transaction.atomic():
        family = (
            RefreshToken.objects.usable()
            .select_for_update()
            .filter(token_hash=_hash(refresh_token))
            .values_list("family", flat=True)
            .first()
        )
        if family is None:
            return False
        RefreshToken.objects.filter(token_hash=_hash(refresh_token)).update(
            revoked_at=timezone.now()
        )
        invalidation.retire(SESSIONS, f"family:{family}")
    return True


def tokens_revoke(
    *,
    user: User | None = None,
    family: uuid.UUID | None = None,
    keep_family: uuid.UUID | None = None,
) -> int:
    """Revokes the refresh tokens of a user or of a family, optionally sparing one family."""
    tokens = RefreshToken.objects.filter(revoked_at__isnull=True)
    if user is not None:
        tokens = tokens.filter(user=user)
    if family is not None:
        tokens = tokens.filter(family=family)
    if keep_family is not None:
        tokens = tokens.exclude(family=keep_family)
    revoked = tokens.update(revoked_at=timezone.now())
    # After the update: outside a transaction, a retirement is sent at once.
    if user is not None:
        invalidation.retire(SESSIONS, f"user:{user.pk}")
    if family is not None:
        invalidation.retire(SESSIONS, f"family:{family}")
    return revoked


@dataclass(frozen=True)
class Bearer:
    """Who an access token speaks for: an active user, in one token family."""

    user: User
    family: uuid.UUID | None


def bearer_authenticate(header: str, *, keep: bool = True) -> Bearer:
    """What an `Authorization: Bearer <accessToken>` value proves; InvalidToken for anything
    else: another scheme, a bad, expired or forged token, an inactive user. `keep=False` for
    a check made once per connection (a WebSocket's): nothing to gain from keeping it."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken
    claims = access_token_verify(token.strip())
    session = (claims.user_id, claims.family)
    generation = invalidation.lease()
    known = _sessions.get(session) if generation is not None else None
    if known is not None and time.monotonic() - known[0] < SESSION_MAX_AGE:
        return Bearer(user=User.from_db("default", _USER_COLUMNS, known[1]), family=claims.family)
    user = bearer_users(family=claims.family).filter(pk=claims.user_id).first()
    if user is None:
        raise InvalidToken
    if keep and generation is not None and invalidation.lease() == generation:
        # Nothing was retired while the query ran: what it found still holds.
        if len(_sessions) >= SESSIONS_KEPT:
            _sessions.clear()
        row = tuple(getattr(user, column) for column in _USER_COLUMNS)
        _sessions[session] = (time.monotonic(), row)
    return Bearer(user=user, family=claims.family)


def bearer_users(*, family: uuid.UUID | None) -> QuerySet[User]:
    """The users an access token of `family` may still speak for: active ones, and none once
    the family has ended (a revoked refresh token in it). One query with the user lookup (the
    family's end is a subquery), so the check costs no statement of its own."""
    users = User.objects.filter(is_active=True)
    if family is not None:
        ended = RefreshToken.objects.filter(family=family, revoked_at__isnull=False)
        users = users.filter(~Exists(ended))
    return users


Session = tuple[int, uuid.UUID | None]  # a user, and the token family it signed in with

# This process's sessions known to be good: each one's user row, as `bearer_users` found it.
SESSIONS = "sessions"
SESSIONS_KEPT = 10_000
# Seconds a session is trusted without a query, should a retirement not reach this process.
SESSION_MAX_AGE = 30.0
_sessions: dict[Session, tuple[float, tuple]] = {}
_USER_COLUMNS = [field.attname for field in User._meta.concrete_fields]


def _forget_sessions(key: str | None) -> None:
    """Retires the sessions of `user:<id>` or `family:<uuid>` (None: all of them)."""
    if key is None:
        _sessions.clear()
        return
    kind, _, value = key.partition(":")
    position = 0 if kind == "user" else 1
    for session in list(_sessions):
        if str(session[position]) == value:
            _sessions.pop(session, None)


invalidation.register(SESSIONS, _forget_sessions)


def sessions_retire(user: User) -> None:
    """A change to `user` (any saved field) reaches every process's sessions of it."""
    invalidation.retire(SESSIONS, f"user:{user.pk}")


def sessions_ended(sessions: set[Session]) -> set[Session]:
    """Which of these sessions `bearer_users` would no longer let speak, for many at once (the
    live subscribers a process is about to send to), in one query: the active users among
    them, and the ended families among theirs."""
    active = User.objects.filter(pk__in={user for user, _ in sessions}, is_active=True).values_list(
        "pk", Value(None, output_field=UUIDField())
    )
    ended = RefreshToken.objects.filter(
        family__in={family for _, family in sessions if family is not None},
        revoked_at__isnull=False,
    ).values_list(Value(None, output_field=IntegerField()), "family")
    # Neither side keeps its model's ordering: SQLite allows no ORDER BY inside a UNION.
    rows = list(active.order_by().union(ended.order_by(), all=True))
    active_users = {user for user, _ in rows if user is not None}
    ended_families = {family for _, family in rows if family is not None}
    return {
        (user, family)
        for user, family in sessions
        if user not in active_users or family in ended_families
    }


def access_token_verify(token: str) -> AccessClaims:
    """The claims of a valid access token; anything else raises InvalidToken."""
    try:
        claims = jwt.decode(
            token,
            _signing_key(),
            algorithms=[settings.JWT_ALGORITHM],
            options={"require": ["sub", "exp", "iat", "typ"]},
        )
        if claims["typ"] != "access":
            raise InvalidToken
        family = uuid.UUID(claims["fam"]) if claims.get("fam") else None
        return AccessClaims(user_id=int(claims["sub"]), family=family)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
        raise InvalidToken from error
