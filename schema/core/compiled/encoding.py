"""The bytes the HTTP view writes for a result, from orjson.

The view encodes with `json.dumps(..., cls=DjangoJSONEncoder, separators=(",", ":"))`:
compact, keys in insertion order, and `ensure_ascii`, so every character outside printable
ASCII leaves as a `\\uXXXX` escape (a surrogate pair past U+FFFF, lower-case hex). orjson
writes the same compact JSON with those characters as UTF-8; they can only stand inside
strings, where replacing each by its escape gives exactly the view's bytes. ASCII answers
(the common case) are orjson's bytes unchanged.
"""

from __future__ import annotations

import codecs
from typing import Any

import orjson

_ERROR_HANDLER = "schema.core.compiled:json-escape"
_DELETE = b"\x7f"  # ASCII, yet escaped by `ensure_ascii`


def _escape(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    escaped = []
    for char in error.object[error.start : error.end]:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            escaped.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
        else:
            escaped.append(f"\\u{code:04x}")
    return "".join(escaped), error.end


codecs.register_error(_ERROR_HANDLER, _escape)


def encode(data: Any) -> bytes:
    """`data` as the view's encoder writes it. Raises (orjson.JSONEncodeError) for what
    that encoder would write differently or refuse: lone surrogates, integers past 64 bits,
    types JSON lacks."""
    body = orjson.dumps(data)
    if body.isascii():
        return body.replace(_DELETE, b"\\u007f") if _DELETE in body else body
    text = body.decode("utf-8").replace("\x7f", "\\u007f")
    return text.encode("ascii", _ERROR_HANDLER)
