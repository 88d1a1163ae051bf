"""Writes clients/persisted-query-manifest.json, the trusted documents, in Apollo's
persisted-query-manifest format: one entry per operation of clients/operations/*.graphql (the
operation with the fragments it reaches) and of the frontend builds' files in
clients/persisted-documents/*.json (graphql-codegen's or relay-compiler's `{id: document}`
maps, or Apollo manifests). Each id is the SHA-256 hex digest of its body.

Usage: persisted_query_manifest.py (from anywhere; commit the file it writes)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schema.core import trusted_documents  # noqa: E402


def main() -> int:
    try:
        text = trusted_documents.build()
    except trusted_documents.ManifestError as error:
        print(error, file=sys.stderr)
        return 1
    path = trusted_documents.MANIFEST_PATH
    unchanged = path.exists() and path.read_text(encoding="utf-8") == text
    path.write_text(text, encoding="utf-8")
    count = len(json.loads(text)["operations"])
    state = "unchanged" if unchanged else "written"
    print(f"{path.relative_to(ROOT)}: {count} operations, {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
