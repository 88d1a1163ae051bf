"""The contract's error model: every GraphQL error leaves with an `extensions.code`.

Resolvers and services raise plain exceptions (`ApiError` subclasses, Django's
`ValidationError`, `ObjectDoesNotExist`); `ErrorCodes` turns each into the contract's
shape once, after the operation. Anything unexpected is masked and logged with the
request id.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Iterator

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ObjectFieldNode,
    VariableDefinitionNode,
    Visitor,
    visit,
)
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import SchemaExtension

from apps.core import errors as domain
from apps.core import metrics
from apps.core.request_id import current_request_id
from schema.core import compat
from schema.core.compat import GlobalIDValueError, to_camel_case

logger = logging.getLogger("schema.core.errors")


class ErrorCode(enum.StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class ApiError(Exception):
    """An error meant for the client: its message is shown, its code set."""

    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    @property
    def extensions(self) -> dict[str, object]:
        extensions: dict[str, object] = {"code": self.code.value}
        if self.fields is not None:
            extensions["fields"] = self.fields
        return extensions


class Unauthenticated(ApiError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(ApiError):
    code = ErrorCode.FORBIDDEN


class NotFound(ApiError):
    code = ErrorCode.NOT_FOUND


class BadUserInput(ApiError):
    code = ErrorCode.BAD_USER_INPUT


class Conflict(ApiError):
    code = ErrorCode.CONFLICT


class TooManyRequests(ApiError):
    """Refused for now; `extensions.retryAfter` (whole seconds) says when to try again, and
    the HTTP response's `Retry-After` header too (schema/views.py)."""

    code = ErrorCode.TOO_MANY_REQUESTS

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def extensions(self) -> dict[str, object]:
        return {**super().extensions, "retryAfter": self.retry_after}


def fields_from_validation_error(error: DjangoValidationError) -> dict[str, list[str]]:
    """Django's per-field messages keyed by the GraphQL (camelCase) input field names."""
    if hasattr(error, "error_dict"):
        return {
            ("input" if name == NON_FIELD_ERRORS else to_camel_case(name)): [
                message for item in items for message in item.messages
            ]
            for name, items in error.error_dict.items()
        }
    return {"input": list(error.messages)}


# Each kind of domain refusal (apps.core.errors) and its code.
_DOMAIN_ERRORS: dict[type[domain.DomainError], type[ApiError]] = {
    domain.NotFound: NotFound,
    domain.Conflict: Conflict,
    domain.AuthenticationFailed: Unauthenticated,
}


def to_api_error(error: BaseException | None) -> ApiError | None:
    """The client-facing form of a known exception, or None for an unexpected one."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, domain.RateLimited):
        return TooManyRequests(error.message, retry_after=error.retry_after)
    if isinstance(error, domain.DomainError):
        for kind, api_error in _DOMAIN_ERRORS.items():
            if isinstance(error, kind):
                return api_error(error.message)
    if isinstance(error, DjangoValidationError):
        fields = fields_from_validation_error(error)
        first = next(iter(fields.values()), ["Invalid input."])
        return BadUserInput(first[0] if first else "Invalid input.", fields=fields)
    if isinstance(error, ObjectDoesNotExist):
        return NotFound("Not found.")
    if isinstance(error, PermissionDenied):
        return Forbidden("You are not allowed to do this.")
    if isinstance(error, GlobalIDValueError):
        return BadUserInput("Malformed global id.", fields={"id": ["Malformed global id."]})
    return None


_NAME = re.compile(r"[A-Za-z_]\w*")


def _reason(error: GraphQLError) -> str:
    """The scalar's own message when one refused the value, else graphql-core's."""
    original = error.original_error
    while isinstance(original, GraphQLError):  # graphql-core wraps it once per layer
        original = original.original_error
    if isinstance(original, ValueError | StrawberryInputCoercionError) and str(original):
        return str(original)
    return error.message


def _variable_names(error: GraphQLError) -> list[str]:
    return [
        node.variable.name.value
        for node in error.nodes or ()
        if isinstance(node, VariableDefinitionNode)
    ]


def _variable_fields(error: GraphQLError) -> dict[str, list[str]]:
    """The input field a variable's value failed at (`price` of `$input`), else the variable."""
    at = compat.INVALID_VARIABLE_AT.search(error.message)
    missing = compat.MISSING_INPUT_FIELD.search(error.message)
    names = [missing.group(1)] if missing else _NAME.findall(at.group(1))[-1:] if at else []
    return {name: [_reason(error)] for name in names or _variable_names(error)}


def _literal_fields(error: GraphQLError, document: DocumentNode | None) -> dict[str, list[str]]:
    """The input field or argument whose literal value a scalar refused."""
    refused = {id(node) for node in error.nodes or ()}
    names: list[str] = []

    class FindOwner(Visitor):
        def enter_object_field(self, node: ObjectFieldNode, *_) -> None:
            if id(node.value) in refused:
                names.append(node.name.value)

        def enter_argument(self, node: ArgumentNode, *_) -> None:
            if id(node.value) in refused:
                names.append(node.name.value)

    if document is not None:
        visit(document, FindOwner())
    return {name: [_reason(error)] for name in names or ["input"]}


def _is_variable_error(error: GraphQLError) -> bool:
    """graphql-core refused the variables, before any resolver ran.

    Not merely "an error without a path": an exception raised outside any field (in a
    subscription's event stream, an extension) reaches us path-less too, as strawberry's
    `GraphQLError(str(exc), original_error=exc)`, and is the server's fault, not the input's.
    """
    if _variable_names(error):
        return True
    return error.original_error is None and error.message.startswith(compat.VARIABLES_REFUSED)


def _with_code(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**(error.extensions or {}), **extensions},
    )


# The refusals by strawberry's limiters, told by their messages (schema/core/compat.py).
_REFUSED = {
    "depth": metrics.REFUSALS.labels(limit="depth"),
    "aliases": metrics.REFUSALS.labels(limit="aliases"),
    "tokens": metrics.REFUSALS.labels(limit="tokens"),
}


def _count_validation_refusal(error: GraphQLError) -> None:
    if compat.DEPTH_EXCEEDED.match(error.message):
        _REFUSED["depth"].inc()
    elif compat.TOO_MANY_ALIASES.match(error.message):
        _REFUSED["aliases"].inc()


class ErrorCodes(SchemaExtension):
    """Gives every error of a result the contract's `extensions.code`; masks the unexpected.
    Once the operation is over, notes on the context what ran (name and type), for the
    request metrics, and counts the refusals of the depth, alias and token limits."""

    def on_validate(self) -> Iterator[None]:
        yield
        self._validation_errors = {id(e) for e in self.execution_context.pre_execution_errors or ()}

    def on_operation(self) -> Iterator[None]:
        self._validation_errors: set[int] = set()
        yield
        self._note_operation()
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        parsed = self.execution_context.graphql_document is not None
        result.errors = [self._classify(error, parsed) for error in result.errors]

    def on_stream_result(self, result) -> Iterator[None]:
        """The same for every result of a subscription (WebSocket)."""
        if result.errors:
            parsed = self.execution_context.graphql_document is not None
            result.errors = [self._classify(error, parsed) for error in result.errors]
        yield

    def _note_operation(self) -> None:
        execution_context = self.execution_context
        context = execution_context.context
        if execution_context.graphql_document is None or not hasattr(context, "operation_type"):
            return
        try:
            context.operation_type = execution_context.operation_type.value
        except Exception:  # no operation of the name asked for: refused as such, typeless
            return
        context.operation_name = execution_context.operation_name

    def _classify(self, error: GraphQLError, parsed: bool) -> GraphQLError:
        if error.extensions and "code" in error.extensions:
            return error
        original = error.original_error
        api_error = to_api_error(original)
        if api_error is not None:
            return _with_code(error, api_error.message, api_error.extensions)
        if not parsed:
            code = ErrorCode.GRAPHQL_PARSE_FAILED
            if error.message.startswith(compat.TOO_MANY_TOKENS):
                code = ErrorCode.QUERY_TOO_COMPLEX
                _REFUSED["tokens"].inc()
            return _with_code(error, error.message, {"code": code})
        if id(error) in self._validation_errors:
            if isinstance(original, ValueError | StrawberryInputCoercionError):
                # A scalar refused a literal value (a malformed id, a price with 3 decimals).
                fields = _literal_fields(error, self.execution_context.graphql_document)
                return _with_code(
                    error, error.message, {"code": ErrorCode.BAD_USER_INPUT, "fields": fields}
                )
            _count_validation_refusal(error)
            return _with_code(error, error.message, {"code": ErrorCode.GRAPHQL_VALIDATION_FAILED})
        if error.path is None and _is_variable_error(error):
            # Raised by graphql-core before any resolver: variables of the wrong type or missing.
            fields = _variable_fields(error)
            return _with_code(
                error, error.message, {"code": ErrorCode.BAD_USER_INPUT, "fields": fields}
            )
        if (
            error.path is not None
            and isinstance(original, GraphQLError | None)
            and error.message.startswith(compat.ARGUMENT_ERRORS)
        ):
            # graphql-core refused an argument value (e.g. an explicit null for a non-null one).
            fields = {name: [error.message] for name in compat.ARGUMENT_NAME.findall(error.message)}
            return _with_code(
                error, error.message, {"code": ErrorCode.BAD_USER_INPUT, "fields": fields}
            )
        request_id = current_request_id()
        logger.error(
            "Unexpected error in %s (request %s)",
            ".".join(str(p) for p in error.path or ())
            or f"operation {self.execution_context.operation_name or '-'}",
            request_id,
            exc_info=original or error,
        )
        return _with_code(
            error,
            "Internal server error.",
            {"code": ErrorCode.INTERNAL_SERVER_ERROR, "requestId": request_id},
        )
