"""How many failed logins obtainToken allows, per email and client address, and per address.

A failed login counts against its pair (the email, ignoring case, and the client address)
and against its address. A pair with `LOGIN_MAX_FAILURES` failures within the last
`LOGIN_FAILURE_WINDOW` seconds is refused, right password or not, until the oldest of them
leaves the window; the same email from another address is not affected, so nobody can
lock someone else out. An address with `LOGIN_MAX_FAILURES_PER_ADDRESS` failures within the
window is refused whatever the email (credential stuffing). A successful login clears its
pair and is not a failure of its address: clients sharing an address (behind one proxy) can
log in as often as they like, only their failures add up.

The client address is the caller's to resolve (the transport knows the peer and the
proxies); here it is an opaque string.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings

from apps.core import metrics
from apps.users.attempt_log import LogFull, attempt_log
from apps.users.errors import TooManyAttempts
from apps.users.models import User

_RATE_REFUSALS = metrics.REFUSALS.labels(limit="rate")


@dataclass(frozen=True)
class LoginAttempt:
    """A counted attempt, until its password check says whether it failed."""

    pair_key: str
    address_entry: str


def _digest(*parts: str) -> str:
    # Hashed: keys of a fixed length, with no email address in the table.
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _pair_key(email: str, client_address: str) -> str:
    return "pair:" + _digest(User.objects.normalize_email(email), client_address)


def _address_key(client_address: str) -> str:
    return "address:" + _digest(client_address)


def login_attempt_start(*, email: str, client_address: str) -> LoginAttempt:
    """Counts an attempt as failed before its password is checked (so that guesses sent in
    parallel cannot all slip past the limit); raises TooManyAttempts, counting nothing."""
    window = settings.LOGIN_FAILURE_WINDOW
    pair_key = _pair_key(email, client_address)
    try:
        pair_entry = attempt_log.record(pair_key, limit=settings.LOGIN_MAX_FAILURES, window=window)
    except LogFull as full:
        _RATE_REFUSALS.inc()
        raise TooManyAttempts(full.retry_after) from None
    try:
        address_entry = attempt_log.record(
            _address_key(client_address),
            limit=settings.LOGIN_MAX_FAILURES_PER_ADDRESS,
            window=window,
        )
    except LogFull as full:
        attempt_log.forget(pair_entry)  # refused, so not a failure of the pair either
        _RATE_REFUSALS.inc()
        raise TooManyAttempts(full.retry_after) from None
    return LoginAttempt(pair_key=pair_key, address_entry=address_entry)


def login_attempt_succeeded(attempt: LoginAttempt) -> None:
    """The password was right: the pair starts afresh, and the address forgets this attempt."""
    attempt_log.clear(attempt.pair_key, limit=settings.LOGIN_MAX_FAILURES)
    attempt_log.forget(attempt.address_entry)
