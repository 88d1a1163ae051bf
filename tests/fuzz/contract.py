"""The contract's error model, as the fuzz tests check every response against it."""

from __future__ import annotations

import json
import re
from typing import Any

# The contract's "Errors" list, minus INTERNAL_SERVER_ERROR: a masked unexpected exception.
CONTRACT_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "CONFLICT",
        "TOO_MANY_REQUESTS",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "QUERY_TOO_COMPLEX",
    }
)
LEAK = re.compile(r"Traceback|File \"|\b(SELECT|INSERT INTO|UPDATE|DELETE FROM) |psycopg|sqlite3")


def contract_violations(status: int, body: bytes) -> list[str]:
    """What about one response breaks the contract's error model; empty when nothing does."""
    if status >= 500:
        return [f"status {status}"]
    try:
        result: Any = json.loads(body)
    except ValueError:
        return [f"status {status} with a body that is not JSON"]
    if not isinstance(result, dict) or not ({"data", "errors"} & result.keys()):
        return ["the body is neither `data` nor `errors`"]
    problems = []
    for error in result.get("errors") or []:
        extensions = error.get("extensions") or {}
        code = extensions.get("code")
        if code not in CONTRACT_CODES:
            problems.append(f"extensions.code {code!r} ({error.get('message')!r})")
        if LEAK.search(str(error.get("message", ""))):
            problems.append(f"a message shows internals: {error['message']!r}")
        if code == "BAD_USER_INPUT":
            fields = extensions.get("fields")
            if not isinstance(fields, dict) or not all(
                isinstance(messages, list) and all(isinstance(m, str) for m in messages)
                for messages in fields.values()
            ):
                problems.append(f"BAD_USER_INPUT without a map of messages: {fields!r}")
    return problems
