"""The GraphQL layer's spans (OpenTelemetry): one per operation; one per resolved field only
where settings.GRAPHQL_TRACE_FIELDS asks. Installed by `schema_extensions()` only where tracing
is on (settings.TRACING, backend/telemetry.py); without it the schema has no such extension.

The operation span follows OpenTelemetry's GraphQL conventions: named by the operation's type
(`query`, `mutation`, `subscription`), with `graphql.operation.name` and
`graphql.operation.type`. In place of `graphql.document` (the whole text, large and possibly
holding inline values) it carries `graphql.document.id`, the SHA-256 hex digest of the text run:
a trusted document's id in the manifest, an automatic persisted query's hash. Errors are told
by their contract codes only (`graphql.error.codes`), never by messages, which may hold SQL or
user input; an INTERNAL_SERVER_ERROR also sets the span's status to error. The request's own
span (HTTP) gets the operation's name and type too.

strawberry's own OpenTelemetryExtension is not used: it makes a span per field on every
operation and records the whole document.

A subscription's span covers its start (parsing, validation, the subscription's first
resolver), not its life: the events it sends later are not traced as part of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from inspect import isawaitable

from django.conf import settings
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from strawberry.extensions import SchemaExtension

from schema.core.compat import OperationType
from schema.core.errors import ErrorCode
from schema.core.trusted_documents import sha256_of

OPERATION_NAME = "graphql.operation.name"
OPERATION_TYPE = "graphql.operation.type"
DOCUMENT_ID = "graphql.document.id"
ERROR_CODES = "graphql.error.codes"
FIELD_PATH = "graphql.field.path"
COMPILED = "graphql.compiled"

tracer = trace.get_tracer(__name__)


def enabled() -> bool:
    return bool(getattr(settings, "TRACING", False))


def fields_enabled() -> bool:
    return enabled() and bool(getattr(settings, "GRAPHQL_TRACE_FIELDS", False))


def _current(span: Span):
    """`span` made current (its children are the SQL, cache and task spans); exceptions are
    neither recorded nor turned into a status: their messages stay out of traces."""
    return trace.use_span(span, record_exception=False, set_status_on_exception=False)


class OperationTracing(SchemaExtension):
    """A span per operation, current while it executes. First of the extensions: it holds the
    others' work and sees the errors with their final codes."""

    def on_operation(self) -> Iterator[None]:
        self.request_span = trace.get_current_span()
        self.span = tracer.start_span("GraphQL Operation")
        self.described = False
        try:
            yield
        finally:
            if self.span.is_recording():  # not yet ended (a subscription's is, once started)
                self._describe()
                self._record_errors()
                self.span.end()

    def on_execute(self) -> Iterator[None]:
        self._describe()
        subscription = self.execution_context.operation_type == OperationType.SUBSCRIPTION
        with _current(self.span):
            yield
        if subscription:
            self.span.end()

    def _describe(self) -> None:
        """Names the span once the document has parsed (when it did)."""
        if self.described or not self.span.is_recording():
            return
        self.described = True
        context = self.execution_context
        attributes: dict[str, str] = {}
        if context.query is not None:
            attributes[DOCUMENT_ID] = sha256_of(context.query)
        if context.operation_name:
            attributes[OPERATION_NAME] = context.operation_name
        if context.graphql_document is not None:
            with suppress(RuntimeError):  # no operation of that name: refused, unnamed
                attributes[OPERATION_TYPE] = context.operation_type.value
        if OPERATION_TYPE in attributes:
            self.span.update_name(attributes[OPERATION_TYPE])
        self.span.set_attributes(attributes)
        if self.request_span.is_recording():
            self.request_span.set_attributes(
                {k: v for k, v in attributes.items() if k != DOCUMENT_ID}
            )

    def _record_errors(self) -> None:
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        # An error without a code is masked as INTERNAL_SERVER_ERROR on its way out.
        codes = sorted(
            {
                str((error.extensions or {}).get("code", ErrorCode.INTERNAL_SERVER_ERROR))
                for error in result.errors
            }
        )
        self.span.set_attribute(ERROR_CODES, codes)
        if ErrorCode.INTERNAL_SERVER_ERROR in codes:
            self.span.set_attribute("error.type", ErrorCode.INTERNAL_SERVER_ERROR.value)
            self.span.set_status(Status(StatusCode.ERROR, ErrorCode.INTERNAL_SERVER_ERROR.value))


class FieldTracing(SchemaExtension):
    """A span per field resolved by a resolver (settings.GRAPHQL_TRACE_FIELDS), named
    `Type.field`, with its path. Fields the planned executor reads off loaded rows
    (schema/core/execution.py) run no resolver and do no I/O: they have none."""

    def resolve(self, _next, root, info, *args, **kwargs):
        span = tracer.start_span(
            f"{info.parent_type.name}.{info.field_name}",
            attributes={FIELD_PATH: ".".join(str(key) for key in info.path.as_list())},
        )
        try:
            with _current(span):
                result = _next(root, info, *args, **kwargs)
        except BaseException:
            span.end()
            raise
        if isawaitable(result):
            return _ending(span, result)
        span.end()
        return result


async def _ending(span: Span, result):
    with _current(span):
        try:
            return await result
        finally:
            span.end()


@contextmanager
def compiled_operation(operation_name: str | None, query: str | None) -> Iterator[Span | None]:
    """The operation span of a request its compiled plan answers (schema/core/compiled/), as
    OperationTracing's, with `graphql.compiled`: true; the plan's SQL spans are its children.
    When the plan leaves the request to execution, the span says so (false) and execution's
    own span follows. None where tracing is off or no plan is named (`operation_name`)."""
    if not enabled() or operation_name is None or query is None:
        yield None
        return
    attributes = {OPERATION_NAME: operation_name, OPERATION_TYPE: OperationType.QUERY.value}
    request_span = trace.get_current_span()
    if request_span.is_recording():
        request_span.set_attributes(attributes)
    span = tracer.start_span(
        OperationType.QUERY.value,
        attributes={**attributes, DOCUMENT_ID: sha256_of(query), COMPILED: True},
    )
    try:
        with _current(span):
            yield span
    finally:
        span.end()
