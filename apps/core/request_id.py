"""The id that ties a response (`X-Request-ID`) to its log lines."""

import logging
import re
import uuid
from contextvars import ContextVar

_ACCEPTED = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
_current: ContextVar[str] = ContextVar("request_id", default="-")


def accept_or_make(incoming: str | None) -> str:
    """Keep a well-formed incoming id, otherwise make a fresh one."""
    if incoming and _ACCEPTED.match(incoming):
        return incoming
    return uuid.uuid4().hex


def set_current_request_id(request_id: str) -> None:
    _current.set(request_id)


def current_request_id() -> str:
    return _current.get()


class RequestIdLogFilter(logging.Filter):
    """Puts the current request id on every log record (`%(request_id)s`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True
