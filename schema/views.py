"""The HTTP endpoint: strawberry's Django view with the project's settings."""

import logging

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphql import GraphQLError
from strawberry.django.views import GraphQLView
from strawberry.exceptions import MissingQueryError
from strawberry.types import ExecutionResult

from apps.core.request_id import current_request_id
from schema import graphiql
from schema.core import compiled, persisted_queries, tracing, transport, trusted_documents
from schema.core.client_address import client_address_of_request
from schema.core.compat import CannotGetOperationTypeError, HTTPException, InvalidOperationTypeError
from schema.core.context import Context
from schema.core.errors import ErrorCode
from schema.core.transport import RequestRefused


def _check_csrf(request) -> None:
    """CSRF only guards cookie-authenticated requests; API clients send no session cookie."""
    if request.method != "POST" or settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return
    if CsrfViewMiddleware(lambda _: None).process_view(request, None, (), {}) is not None:
        raise RequestRefused(
            403,
            "CSRF verification failed: a request with a session cookie must send X-CSRFToken.",
            code=ErrorCode.FORBIDDEN,
        )


logger = logging.getLogger("schema.core.errors")


def _retry_after(response_data: dict | list[dict] | bytes) -> int | None:
    """The longest `extensions.retryAfter` among the errors of a response (a batch too)."""
    if isinstance(response_data, bytes):
        return None  # a compiled operation's answer: data, no errors
    results = response_data if isinstance(response_data, list) else [response_data]
    waits = [
        error["extensions"]["retryAfter"]
        for result in results
        for error in result.get("errors") or ()
        if "retryAfter" in (error.get("extensions") or {})
    ]
    return max(waits, default=None)


@method_decorator(csrf_exempt, name="dispatch")
class ApiGraphQLView(GraphQLView):
    """GraphQL over HTTP at /graphql/; GraphiQL where settings enable it; trusted documents and
    Apollo's automatic persisted queries (`schema.core.persisted_queries`) over POST and GET;
    the manifest's queries answered by their compiled plans (`schema.core.compiled`)."""

    compiled_operations: compiled.CompiledOperations | None = None

    @classmethod
    def from_settings(cls, schema):
        trusted_documents.manifest()  # read at start-up: a broken one stops the process here
        trusted_documents.operation_names()
        return cls.as_view(
            schema=schema,
            graphql_ide="graphiql" if settings.GRAPHIQL else None,
            compiled_operations=compiled.CompiledOperations(schema),
        )

    def dispatch(self, request, *args, **kwargs):
        # strawberry answers its own refusals in plain text; every answer here is JSON.
        try:
            transport.check_method(request)
            return self.run(request=request)
        except RequestRefused as refused:
            request.graphql_result_code = refused.code.value
            return refused.response()
        except HTTPException as error:  # one strawberry raised that `transport` did not foresee
            return RequestRefused(error.status_code, error.reason).response()

    def parse_http_body(self, request_adapter):
        # The one reading of the request (method, headers, parameters, body): schema.core.transport.
        return transport.read(request_adapter.request)

    def get_context(self, request, response) -> Context:
        # The one place an HTTP request's client address is resolved; resolvers read it here.
        return Context(
            request=request,
            response=response,
            client_address=client_address_of_request(request),
            viewer=request.user,
            token_family=getattr(request, "token_family", None),
        )

    def create_response(self, response_data, sub_response):
        response = super().create_response(response_data, sub_response)
        # A refusal that says when to come back (TOO_MANY_REQUESTS) says it in HTTP too.
        if (retry_after := _retry_after(response_data)) is not None:
            response["Retry-After"] = str(retry_after)
        return response

    def encode_json(self, data):
        if isinstance(data, bytes):  # a compiled operation's answer, encoded as this would
            return data
        return super().encode_json(data)

    def render_graphql_ide(self, request):
        return graphiql.page(request)

    def should_render_graphql_ide(self, request_adapter):
        if not self.graphql_ide or request_adapter.method != "GET":
            return False  # without GraphiQL, a GET without a query is refused as such
        params = transport.query_parameters(request_adapter.request)
        # A GET carrying `extensions` or `documentId` is an API call (a hashed query from Apollo's
        # link, whose Accept may be */*), never a browser asking for GraphiQL.
        accept = request_adapter.headers.get("Accept", "")
        return (
            "query" not in params
            and "extensions" not in params
            and "documentId" not in params
            and any(media_type in accept for media_type in ("text/html", "*/*"))
        )

    def process_result(self, request, result):
        if isinstance(result, compiled.CompiledResult):
            request.graphql_result_code = "OK"
            return result.body
        response = super().process_result(request, result)
        errors = response.get("errors") or []
        for index, error in enumerate(errors):
            if "code" not in (error.get("extensions") or {}):
                # Raised outside ErrorCodes' reach (inside another extension): masked all the same.
                logger.error("Unexpected error (request %s): %s", current_request_id(), error)
                response["errors"][index] = {
                    "message": "Internal server error.",
                    "extensions": {
                        "code": ErrorCode.INTERNAL_SERVER_ERROR,
                        "requestId": current_request_id(),
                    },
                }
        if isinstance(result, persisted_queries.RefusedRequest):
            response.pop("data", None)
        # The request metrics' result code: the first error's (every error has one by now).
        request.graphql_result_code = errors[0]["extensions"]["code"] if errors else "OK"
        return response

    def execute_single(
        self, request, request_adapter, sub_response, context, root_value, request_data
    ):
        _check_csrf(request)  # after reading the request, which runs nothing
        # The request log line and metrics name the operation (RequestTimingMiddleware): as
        # asked for, and once it has run, as its document names it, with its type.
        request.graphql_operation_name = request_data.operation_name
        try:
            # Which document to run is part of reading the request: a persisted-query miss is
            # answered as such (the client re-sends the query), whoever the caller is.
            resolved = persisted_queries.resolve(
                request_data.query, request_data.extensions, request_data.document_id
            )
        except persisted_queries.PersistedQueryError as error:
            return error.to_result()
        if getattr(request, "auth_error", None):
            # A bad token never falls back to anonymous: nothing of the operation runs.
            error = GraphQLError(request.auth_error, extensions={"code": ErrorCode.UNAUTHENTICATED})
            return ExecutionResult(data=None, errors=[error])
        # A trusted query's compiled plan answers, unless it leaves the request to execution.
        if (
            self.compiled_operations is not None
            and resolved.register_as is None
            and compiled.enabled()
        ):
            name = self.compiled_operations.name_of(resolved.query)
            with tracing.compiled_operation(name, resolved.query) as span:
                answer = self.compiled_operations.answer(
                    resolved.query, request_data.variables, request_data.operation_name, context
                )
                if answer is None and span is not None:
                    span.set_attribute(tracing.COMPILED, False)
            if answer is not None:
                request.graphql_operation_name = answer.operation_name
                request.graphql_operation_type = "query"
                return answer
        try:
            # strawberry's execute_single, with our operation types per method (its own also
            # let subscriptions through over GET and POST) and our refusals.
            result = self.schema.execute_sync(
                resolved.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=transport.OPERATIONS_BY_METHOD[request.method],
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            raise transport.operation_refused(error.operation_type, request.method) from None
        except CannotGetOperationTypeError as error:
            if error.operation_name is None:
                raise RequestRefused(400, "The document has no operation.", field="query") from None
            raise RequestRefused(
                400, "The document has no operation of that name.", field="operationName"
            ) from None
        except MissingQueryError:
            raise RequestRefused(400, "The request has no `query`.", field="query") from None
        persisted_queries.register(resolved, result)
        if context.operation_type is not None:
            request.graphql_operation_name = context.operation_name
            request.graphql_operation_type = context.operation_type
        return result
