"""Which document a request runs: its own `query`, or one it names by id, from the trusted
documents' manifest (`schema.core.trusted_documents`) or from Apollo's automatic persisted
queries.

An id is the SHA-256 hex digest of the document's text, in either of two spellings:

- Apollo's `extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}`, so that Apollo
  Client's persisted-queries link works unchanged: a manifest document, else one in the cache.
  When the hash is unknown the client is told `PersistedQueryNotFound` and sends the query
  again with the hash, which registers it for every client. Registered documents live in
  Django's cache (Redis in production), keyed by their hash; like Apollo Server, a document is
  stored only once it has parsed and validated, so a broken or refused one never occupies it.
- GraphQL over HTTP's persisted documents, a top-level `documentId` (`sha256:<hex>`, or the
  bare digest as graphql-codegen's and urql's clients send it), instead of `query`: a manifest
  document only.

`GRAPHQL_TRUSTED_DOCUMENTS`, read per request: `off`, no manifest (hashes are automatic
persisted queries alone; `documentId` is not read); `prefer`, manifest ids served from the
manifest, without a cache round trip, and everything else as with `off`; `only`, nothing runs
but the manifest's documents, by id or sent as their exact text, and nothing is registered.
Everything else is refused as `PERSISTED_QUERY_NOT_FOUND`, as safelisting servers do.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from django.core.cache import cache
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from schema.core import trusted_documents
from schema.core.errors import ErrorCode
from schema.core.trusted_documents import OFF, ONLY, sha256_of

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
NOT_TRUSTED_MESSAGE = "Only the documents of this server's manifest run here: send one's id."
MALFORMED_DOCUMENT_ID_MESSAGE = "documentId must be sha256:<hex> or a SHA-256 hex digest"
DOCUMENT_ID_ALONE_MESSAGE = "documentId is sent alone, without query or persistedQuery"

# The codes a result carries when its document never got past parsing and validation.
_UNACCEPTED_DOCUMENT_CODES = frozenset(
    {ErrorCode.GRAPHQL_PARSE_FAILED, ErrorCode.GRAPHQL_VALIDATION_FAILED}
)
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_DOCUMENT_ID = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")


class PersistedQueryError(Exception):
    """The request names no document that may run here; nothing may execute."""

    def __init__(self, message: str, code: str, field: str = "extensions") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field  # the request's parameter at fault

    def graphql_error(self) -> GraphQLError:
        extensions: dict[str, Any] = {"code": self.code}
        if self.code == ErrorCode.BAD_USER_INPUT:
            extensions["fields"] = {self.field: [self.message]}
        return GraphQLError(self.message, extensions=extensions)

    def to_result(self) -> RefusedRequest:
        return RefusedRequest(data=None, errors=[self.graphql_error()])


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


def resolve(
    query: str | None,
    extensions: dict[str, Any] | None,
    document_id: str | None = None,
    *,
    automatic: bool = True,
) -> Resolved:
    """The document to execute for a request; raises `PersistedQueryError` when there is none.

    A request that names no document by id runs its own `query` (under `only`, when it is a
    manifest document's exact text). `automatic` False (the WebSocket): no automatic persisted
    queries, manifest ids only.
    """
    mode = trusted_documents.mode()
    trusted = trusted_documents.manifest() if mode != OFF else {}
    if document_id is not None and mode != OFF:
        if query is not None or (extensions or {}).get("persistedQuery") is not None:
            raise PersistedQueryError(
                DOCUMENT_ID_ALONE_MESSAGE, ErrorCode.BAD_USER_INPUT, field="documentId"
            )
        return Resolved(query=_trusted_document(document_id, trusted))
    sha256_hash = _signature_hash(extensions)
    if sha256_hash is None:
        if mode == ONLY and query is not None and sha256_of(query) not in trusted:
            raise PersistedQueryError(NOT_TRUSTED_MESSAGE, PERSISTED_QUERY_NOT_FOUND)
        return Resolved(query=query)
    if query is None:
        if sha256_hash in trusted:
            return Resolved(query=trusted[sha256_hash])
        stored = cache.get(cache_key(sha256_hash)) if automatic and mode != ONLY else None
        if not isinstance(stored, str):
            raise PersistedQueryError(NOT_FOUND_MESSAGE, PERSISTED_QUERY_NOT_FOUND)
        return Resolved(query=stored)
    if sha256_of(query) != sha256_hash:
        raise PersistedQueryError(MISMATCH_MESSAGE, ErrorCode.BAD_USER_INPUT)
    if sha256_hash in trusted:
        return Resolved(query=query)
    if mode == ONLY:
        raise PersistedQueryError(NOT_TRUSTED_MESSAGE, PERSISTED_QUERY_NOT_FOUND)
    return Resolved(query=query, register_as=sha256_hash if automatic else None)


def resolve_payload(payload: Any) -> Any:
    """A WebSocket operation's payload (`subscribe`, or the legacy protocol's `start`) with the
    document it runs as its `query`, by the rules of `resolve` and without automatic persisted
    queries; unchanged with `off`."""
    if not isinstance(payload, dict) or trusted_documents.mode() == OFF:
        return payload
    parameters = {"query": str, "extensions": dict, "documentId": str}
    for name, kind in parameters.items():
        if not isinstance(payload.get(name), kind | None):
            message = f"`{name}` must be {'an object' if kind is dict else 'a string'}."
            raise PersistedQueryError(message, ErrorCode.BAD_USER_INPUT, field=name)
    resolved = resolve(
        payload.get("query"),
        payload.get("extensions"),
        payload.get("documentId"),
        automatic=False,
    )
    return payload if resolved.query is None else {**payload, "query": resolved.query}


def _trusted_document(document_id: str, trusted: Mapping[str, str]) -> str:
    """The manifest's document of a `documentId`, `sha256:<hex>` or the bare digest."""
    matched = _DOCUMENT_ID.fullmatch(document_id)
    if matched is None:
        raise PersistedQueryError(
            MALFORMED_DOCUMENT_ID_MESSAGE, ErrorCode.BAD_USER_INPUT, field="documentId"
        )
    body = trusted.get(matched.group(1).lower())
    if body is None:
        raise PersistedQueryError(NOT_FOUND_MESSAGE, PERSISTED_QUERY_NOT_FOUND)
    return body


def _signature_hash(extensions: dict[str, Any] | None) -> str | None:
    """The hash of Apollo's `extensions.persistedQuery`, lower case; None without one."""
    signature = (extensions or {}).get("persistedQuery")
    if signature is None:
        return None
    version = signature.get("version") if isinstance(signature, dict) else None
    if isinstance(version, bool) or version != SUPPORTED_VERSION:
        raise PersistedQueryError(UNSUPPORTED_VERSION_MESSAGE, ErrorCode.BAD_USER_INPUT)
    sha256_hash = signature.get("sha256Hash")
    if not isinstance(sha256_hash, str) or not _SHA256_HEX.fullmatch(sha256_hash):
        raise PersistedQueryError(MALFORMED_HASH_MESSAGE, ErrorCode.BAD_USER_INPUT)
    return sha256_hash.lower()


def register(resolved: Resolved, result: ExecutionResult) -> None:
    """Stores a registering request's document once its result shows it parsed and validated."""
    if resolved.register_as is None or resolved.query is None:
        return
    codes = {(error.extensions or {}).get("code") for error in result.errors or ()}
    if codes & _UNACCEPTED_DOCUMENT_CODES:
        return
    cache.set(cache_key(resolved.register_as), resolved.query, timeout=PERSISTED_QUERY_TIMEOUT)
