"""GraphQL over HTTP: the one place a request's method, headers, parameters and body are read
and checked, before anything runs.

Whatever a client sends leaves here as a `GraphQLRequestData` whose parts have the types
GraphQL over HTTP gives them, or as `RequestRefused`: the client's fault, answered with a 4xx
in GraphQL's error shape, `{"errors": [{"message": ..., "extensions": {"code": ...,
"fields": {...}}}]}`, and logged by nobody but the request line. `fields` names the part of
the request that is wrong: a parameter (`query`, `variables` or the variable's own name,
`operationName`, `extensions`, `documentId`), `body`, `queryString`, `method`, or a header
(`Accept`, `Content-Type`, `Content-Length`, `Host`).

The body itself is read, within `MAX_REQUEST_BODY_SIZE`, by `backend.middleware`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from schema.core.compat import GraphQLRequestData, OperationType
from schema.core.errors import ErrorCode

ALLOWED_METHODS = ("GET", "POST")
# What each method may run: mutations only over POST; subscriptions only over the WebSocket.
OPERATIONS_BY_METHOD = {
    "GET": frozenset({OperationType.QUERY}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION}),
}
PARAMETERS = ("query", "variables", "operationName", "extensions", "documentId")
# Answers are JSON; a client that accepts neither of these gets 406.
RESPONSE_TYPES = ("application/json", "application/graphql-response+json")
# Deeper than any input a client writes (filters nested with AND/OR/NOT included), and
# shallow enough that no recursive code downstream (graphql-core's coercion, the filters'
# translation to SQL, the extensions' scans) comes near Python's recursion limit.
MAX_JSON_DEPTH = 64

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_MALFORMED_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_UTF8 = ("utf-8", "utf8")


@dataclasses.dataclass
class RequestData(GraphQLRequestData):
    """strawberry's request data, and GraphQL over HTTP's `documentId` (a persisted document's
    id, sent instead of `query`; `schema.core.persisted_queries`)."""

    document_id: str | None = None


class RequestRefused(Exception):
    """A request that will not run, and the 4xx answer that says why."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        code: ErrorCode = ErrorCode.BAD_USER_INPUT,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code
        self.headers = headers

    def response(self) -> HttpResponse:
        fields = {self.field: [self.message]} if self.field else {}
        return error_response(
            self.status, self.message, code=self.code, fields=fields, headers=self.headers
        )


def error_response(
    status: int,
    message: str,
    *,
    code: ErrorCode,
    fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """A request error in GraphQL's shape: `errors` and no `data` (nothing was executed)."""
    extensions: dict[str, Any] = {"code": code.value}
    if code is ErrorCode.BAD_USER_INPUT:
        extensions["fields"] = fields or {}
    body = {"errors": [{"message": message, "extensions": extensions}]}
    return HttpResponse(
        json.dumps(body, separators=(",", ":")),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def check_method(request: HttpRequest) -> None:
    if request.method not in ALLOWED_METHODS:
        raise RequestRefused(
            405,
            "GraphQL is served over GET (queries) and POST.",
            field="method",
            headers={"Allow": ", ".join(ALLOWED_METHODS)},
        )


def query_parameters(request: HttpRequest) -> dict[str, str]:
    """A GET's GraphQL parameters, percent-decoded strictly as UTF-8, each given at most once;
    other parameters are ignored.

    Django's `request.GET` would replace undecodable bytes, keep the last of repeated
    parameters and raise (an HTML 400) past DATA_UPLOAD_MAX_NUMBER_FIELDS.
    """
    raw = request.META.get("QUERY_STRING", "")
    if not raw.isascii():
        raise RequestRefused(400, "The query string must be percent-encoded.", field="queryString")
    most = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if most is not None and raw.count("&") >= most:
        raise RequestRefused(
            400, f"The query string has more than {most} parameters.", field="queryString"
        )
    params: dict[str, str] = {}
    for pair in raw.split("&"):
        raw_name, _, raw_value = pair.partition("=")
        try:
            name = unquote_plus(raw_name, errors="strict")
        except UnicodeDecodeError:
            continue  # not one of ours
        if name not in PARAMETERS:
            continue
        if name in params:
            raise RequestRefused(400, f"`{name}` is given more than once.", field=name)
        if _MALFORMED_PERCENT.search(raw_value):
            raise RequestRefused(
                400,
                f"`{name}` is malformed: each '%' must be followed by two hexadecimal digits.",
                field=name,
            )
        try:
            params[name] = unquote_plus(raw_value, errors="strict")
        except UnicodeDecodeError:
            raise RequestRefused(
                400, f"`{name}` is not UTF-8 once percent-decoded.", field=name
            ) from None
    return params


def read(request: HttpRequest) -> RequestData:
    """The GraphQL request that `request` carries, checked; raises `RequestRefused`."""
    _check_accept(request)
    if request.method == "GET":
        params: dict[str, Any] = dict(query_parameters(request))
        for name in ("variables", "extensions"):
            if params.get(name):
                params[name] = _parse_json(params[name], name)
            else:
                params.pop(name, None)
        data = params
    else:
        data = _body_object(request)
    return _request_data(data)


def operation_refused(operation_type: OperationType, method: str) -> RequestRefused:
    """The answer to an operation its transport does not carry."""
    if operation_type is OperationType.SUBSCRIPTION:
        return RequestRefused(
            400,
            "Subscriptions are served over a WebSocket on this path (graphql-transport-ws).",
            field="query",
        )
    allowed = [m for m, types in OPERATIONS_BY_METHOD.items() if operation_type in types]
    return RequestRefused(
        405,
        f"A {operation_type.value} cannot be sent with {method}: use {' or '.join(allowed)}.",
        field="method",
        headers={"Allow": ", ".join(allowed)},
    )


# --- the parts --------------------------------------------------------------------------


def _check_accept(request: HttpRequest) -> None:
    if not request.headers.get("Accept", "").strip():
        return  # no preference: JSON it is
    try:
        acceptable = any(request.accepts(media_type) for media_type in RESPONSE_TYPES)
    except ValueError:
        raise RequestRefused(400, "The Accept header cannot be parsed.", field="Accept") from None
    if not acceptable:
        raise RequestRefused(
            406,
            "Answers are application/json: accept it (or application/graphql-response+json).",
            field="Accept",
        )


def _body_object(request: HttpRequest) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise RequestRefused(
            415, "Send the request as Content-Type: application/json.", field="Content-Type"
        )
    charset = request.content_params.get("charset")
    if charset is not None and charset.lower() not in _UTF8:
        raise RequestRefused(415, "JSON bodies are UTF-8.", field="Content-Type")
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestRefused(
            400, f"The body is not valid UTF-8 (byte {error.start}).", field="body"
        ) from None
    if not text.strip():
        raise RequestRefused(
            400, "The body is empty: send a JSON object with a `query`.", field="body"
        )
    data = _parse_json(text, "body")
    if isinstance(data, list):
        raise RequestRefused(
            400, "Batches (a JSON array) are not supported: send one JSON object.", field="body"
        )
    if not isinstance(data, dict):
        raise RequestRefused(400, "The body must be a JSON object.", field="body")
    return data


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str) -> None:
    raise _NotJson(f"{name} is not a JSON value")


def _parse_json(text: str, field: str) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:  # the decoder's own guard, far past MAX_JSON_DEPTH
        message = f"`{field}` is nested more than {MAX_JSON_DEPTH} levels deep."
    except _NotJson as error:
        message = f"`{field}` is not valid JSON: {error}."
    except json.JSONDecodeError as error:
        message = (
            f"`{field}` is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        )
    except ValueError:  # an integer past Python's limit on digits
        message = f"`{field}` holds a number with too many digits."
    raise RequestRefused(400, message, field=field)


def _request_data(data: dict[str, Any]) -> RequestData:
    query = data.get("query")
    document_id = data.get("documentId")
    for name, value in (("query", query), ("documentId", document_id)):
        if not isinstance(value, str | None):
            raise RequestRefused(400, f"`{name}` must be a string.", field=name)
        if value is not None and _LONE_SURROGATE.search(value):
            raise _lone_surrogate(name)
    operation_name = data.get("operationName")
    if operation_name == "":
        operation_name = None  # what some clients send for "no name"
    if operation_name is not None and not (
        isinstance(operation_name, str) and _GRAPHQL_NAME.fullmatch(operation_name)
    ):
        raise RequestRefused(
            400, "`operationName` must be the name of an operation.", field="operationName"
        )
    variables = data.get("variables")
    if not isinstance(variables, dict | None):
        raise RequestRefused(400, "`variables` must be an object.", field="variables")
    extensions = data.get("extensions")
    if not isinstance(extensions, dict | None):
        raise RequestRefused(400, "`extensions` must be an object.", field="extensions")
    for name, value in (variables or {}).items():
        if _LONE_SURROGATE.search(name):
            raise _lone_surrogate("variables")
        # Keyed by the variable's name, as graphql-core's own refusals of a variable are.
        _check_json_value(value, field=name)
    _check_json_value(extensions, field="extensions")
    return RequestData(
        query=query,
        variables=variables,
        operation_name=operation_name,
        extensions=extensions,
        document_id=document_id,
    )


def _check_json_value(value: Any, *, field: str) -> None:
    """Refuses lone surrogates (JSON's `\\ud800`: not Unicode text, which no database, log or
    hash can encode) and nesting past MAX_JSON_DEPTH, without recursing itself."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                raise _lone_surrogate(field)
        elif isinstance(item, dict | list) and depth > MAX_JSON_DEPTH:
            raise RequestRefused(
                400, f"`{field}` is nested more than {MAX_JSON_DEPTH} levels deep.", field=field
            )
        elif isinstance(item, dict):
            stack.extend((name, depth) for name in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _lone_surrogate(field: str) -> RequestRefused:
    return RequestRefused(
        400,
        "Text may not contain lone surrogates (\\ud800 to \\udfff): they are not Unicode text.",
        field=field,
    )
