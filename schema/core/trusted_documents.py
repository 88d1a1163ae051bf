"""Trusted documents: the operations the apps send, compiled into a manifest in Apollo's
persisted-query-manifest format, served by id and, with `GRAPHQL_TRUSTED_DOCUMENTS=only`, the
only documents that run (`schema.core.persisted_queries` decides per request).

`clients/persisted-query-manifest.json` is built by `scripts/persisted_query_manifest.py`
from `clients/operations/*.graphql` (one entry per operation, its body the operation with the
fragments it reaches, as `operations.operation` prints it) and from the files that frontend
builds write, kept in `clients/persisted-documents/*.json`: graphql-codegen's and
relay-compiler's `{id: body}` maps, or Apollo manifests. Every id is the SHA-256 hex digest of
its body. It is committed; a test fails when it is stale.

The manifest is read once per process, when the views start; the mode is read per request.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from django.conf import settings
from graphql import GraphQLSyntaxError, OperationDefinitionNode, parse

from schema.core import operations

CLIENTS_DIR = operations.OPERATIONS_DIR.parent
MANIFEST_PATH = CLIENTS_DIR / "persisted-query-manifest.json"
PERSISTED_DOCUMENTS_DIR = CLIENTS_DIR / "persisted-documents"
FORMAT = "apollo-persisted-query-manifest"
VERSION = 1
REGENERATE = (
    "run `.venv/bin/python scripts/persisted_query_manifest.py` and commit "
    "clients/persisted-query-manifest.json"
)

# GRAPHQL_TRUSTED_DOCUMENTS: no manifest; manifest ids served from it, anything else as
# before; only the manifest's documents run.
OFF, PREFER, ONLY = "off", "prefer", "only"


class ManifestError(ValueError):
    """A manifest, or a file it is built from, that cannot be used as it is."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One operation of the manifest, with the fields Apollo's format gives it."""

    id: str
    name: str
    type: str
    body: str


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def mode() -> str:
    return settings.GRAPHQL_TRUSTED_DOCUMENTS


@functools.cache
def manifest() -> Mapping[str, str]:
    """The committed manifest's documents by id."""
    return load(MANIFEST_PATH)


@functools.cache
def entries() -> tuple[Entry, ...]:
    """The committed manifest's entries."""
    return tuple(entry(body, document_id) for document_id, body in manifest().items())


@functools.cache
def operation_names() -> frozenset[str]:
    """The names of the manifest's operations: the apps' own (the request metrics' labels)."""
    return frozenset(found.name for found in entries())


def entry(body: str, origin: str) -> Entry:
    """The manifest entry of a document that holds one named operation (and its fragments)."""
    try:
        document = parse(body)
    except GraphQLSyntaxError as error:
        raise ManifestError(f"{origin}: {error.message}") from None
    found = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(found) != 1 or found[0].name is None:
        raise ManifestError(f"{origin}: a persisted document holds exactly one named operation")
    (operation,) = found
    return Entry(sha256_of(body), operation.name.value, operation.operation.value, body)


def build(
    operations_dir: Path = operations.OPERATIONS_DIR,
    documents_dir: Path = PERSISTED_DOCUMENTS_DIR,
) -> str:
    """The manifest's text: every operation of the `.graphql` files in `operations_dir` and
    of the persisted-document files in `documents_dir`, each once, ordered by name."""
    entries: dict[str, Entry] = {}
    for origin, body in _graphql_operations(operations_dir):
        found = entry(body, origin)
        entries[found.id] = found
    for path in sorted(documents_dir.glob("*.json")):
        for origin, body in _persisted_documents(path):
            found = entry(body, origin)
            entries[found.id] = found
    ordered = sorted(entries.values(), key=lambda e: (e.name, e.id))
    manifest_ = {
        "format": FORMAT,
        "version": VERSION,
        "operations": [dataclasses.asdict(e) for e in ordered],
    }
    return json.dumps(manifest_, indent=2, ensure_ascii=False) + "\n"


def load(path: Path) -> Mapping[str, str]:
    """A manifest's documents by id; raises ManifestError unless every entry's id is its body's
    SHA-256 and its name and type are those of the body's one operation."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ManifestError(f"{path}: {error}: {REGENERATE}") from None
    if not isinstance(data, dict) or (data.get("format"), data.get("version")) != (
        FORMAT,
        VERSION,
    ):
        raise ManifestError(f"{path}: not an {FORMAT} of version {VERSION}: {REGENERATE}")
    documents: dict[str, str] = {}
    for index, item in enumerate(data.get("operations") or ()):
        origin = f"{path.name}: operations[{index}]"
        body = item.get("body") if isinstance(item, dict) else None
        if not isinstance(body, str):
            raise ManifestError(f"{origin} has no body")
        expected = dataclasses.asdict(entry(body, origin))
        if item != expected:
            raise ManifestError(f"{origin} does not match its body: {REGENERATE}")
        documents[expected["id"]] = body
    return MappingProxyType(documents)


def _graphql_operations(directory: Path) -> Iterator[tuple[str, str]]:
    files = sorted(directory.glob("*.graphql"))
    if not files:
        return
    document = parse("\n".join(path.read_text(encoding="utf-8") for path in files))
    for name, body in operations.persisted_operations(document).items():
        yield f"{directory.name}/*.graphql: {name}", body


def _persisted_documents(path: Path) -> Iterator[tuple[str, str]]:
    """The documents of a frontend build's file, each under the id its client sends."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and data.get("format") == FORMAT:
        pairs = [(item.get("id"), item.get("body")) for item in data.get("operations") or ()]
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise ManifestError(f"{path}: neither an {{id: document}} map nor an {FORMAT}")
    for document_id, body in pairs:
        if not isinstance(body, str) or document_id != sha256_of(body):
            raise ManifestError(
                f"{path}: {document_id!r} is not the SHA-256 hex digest of its document "
                "(graphql-codegen: `persistedDocuments: { hashAlgorithm: 'sha256' }`; "
                'relay-compiler: `persistConfig: { algorithm: "SHA256" }`)'
            )
        yield f"{path.name}: {document_id}", body
