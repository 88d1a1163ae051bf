"""Automatic persisted queries in Apollo's protocol, so Apollo Client's persisted-queries link
works unchanged.

A client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}` and no
`query`; when the hash is unknown it is told `PersistedQueryNotFound` and sends the query
again with the hash, which registers it for every client. Documents live in Django's cache
(Redis in production), keyed by their hash. Like Apollo Server, a document is stored only
once it has parsed and validated, so a broken or refused one never occupies the cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any

from django.core.cache import cache
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from schema.core.errors import ErrorCode

# Long, not forever: an expiring key stays evictable under Redis's `volatile-*` policies,
# and a client whose document expired re-registers it in one extra round trip.
PERSISTED_QUERY_TIMEOUT = 30 * 24 * 60 * 60
CACHE_KEY_PREFIX = "persisted-query:sha256:"
SUPPORTED_VERSION = 1

# Apollo's protocol codes, outside the contract's list: the client's link acts on them.
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"
MISMATCH_MESSAGE = "provided sha does not match query"
UNSUPPORTED_VERSION_MESSAGE = "Unsupported persisted query version"
MALFORMED_HASH_MESSAGE = "persistedQuery.sha256Hash must be a SHA-256 hex digest"

# The codes a result carries when its document never got past parsing and validation.
_UNACCEPTED_DOCUMENT_CODES = frozenset(
    {ErrorCode.GRAPHQL_PARSE_FAILED, ErrorCode.GRAPHQL_VALIDATION_FAILED}
)
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class PersistedQueryError(Exception):
    """The request's persisted-query signature cannot be served; nothing may execute."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def to_result(self) -> RefusedRequest:
        extensions: dict[str, Any] = {"code": self.code}
        if self.code == ErrorCode.BAD_USER_INPUT:
            extensions["fields"] = {"extensions": [self.message]}  # the request's parameter
        error = GraphQLError(self.message, extensions=extensions)
        return RefusedRequest(data=None, errors=[error])


@dataclasses.dataclass
class RefusedRequest(ExecutionResult):
    """Refused before any document was known: the response has `errors` and no `data` key,
    as the GraphQL spec asks for errors raised before execution, and as Apollo Server sends."""


@dataclasses.dataclass(frozen=True)
class Resolved:
    """The document a request runs, and the hash to store it under once it has validated."""

    query: str | None
    register_as: str | None = None


def cache_key(sha256_hash: str) -> str:
    return CACHE_KEY_PREFIX + sha256_hash


def sha256_of(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


def resolve(query: str | None, extensions: dict[str, Any] | None) -> Resolved:
    """The document to execute for a request; raises `PersistedQueryError` when there is none.

    Without a persisted-query signature the request's own `query` is used unchanged.
    """
    signature = (extensions or {}).get("persistedQuery")
    if signature is None:
        return Resolved(query=query)
    version = signature.get("version") if isinstance(signature, dict) else None
    if isinstance(version, bool) or version != SUPPORTED_VERSION:
        raise PersistedQueryError(UNSUPPORTED_VERSION_MESSAGE, ErrorCode.BAD_USER_INPUT)
    sha256_hash = signature.get("sha256Hash")
    if not isinstance(sha256_hash, str) or not _SHA256_HEX.fullmatch(sha256_hash):
        raise PersistedQueryError(MALFORMED_HASH_MESSAGE, ErrorCode.BAD_USER_INPUT)
    sha256_hash = sha256_hash.lower()
    if query is None:
        stored = cache.get(cache_key(sha256_hash))
        if not isinstance(stored, str):
            raise PersistedQueryError(NOT_FOUND_MESSAGE, PERSISTED_QUERY_NOT_FOUND)
        return Resolved(query=stored)
    if sha256_of(query) != sha256_hash:
        raise PersistedQueryError(MISMATCH_MESSAGE, ErrorCode.BAD_USER_INPUT)
    return Resolved(query=query, register_as=sha256_hash)


def register(resolved: Resolved, result: ExecutionResult) -> None:
    """Stores a registering request's document once its result shows it parsed and validated."""
    if resolved.register_as is None or resolved.query is None:
        return
    codes = {(error.extensions or {}).get("code") for error in result.errors or ()}
    if codes & _UNACCEPTED_DOCUMENT_CODES:
        return
    cache.set(cache_key(resolved.register_as), resolved.query, timeout=PERSISTED_QUERY_TIMEOUT)
