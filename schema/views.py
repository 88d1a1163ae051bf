"""The HTTP endpoint: strawberry's Django view with the project's settings."""

from cross_web import HTTPException
from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphql import GraphQLError
from strawberry.django.views import GraphQLView
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from schema.errors import ErrorCode


def _csrf_rejection(request):
    """CSRF only guards cookie-authenticated requests; API clients send no session cookie."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return None
    return CsrfViewMiddleware(lambda _: None).process_view(request, None, (), {})


@method_decorator(csrf_exempt, name="dispatch")
class ApiGraphQLView(GraphQLView):
    """GraphQL over HTTP at /graphql/; GraphiQL where settings enable it."""

    @classmethod
    def from_settings(cls, schema):
        return cls.as_view(schema=schema, graphql_ide="graphiql" if settings.GRAPHIQL else None)

    def dispatch(self, request, *args, **kwargs):
        if request.method == "POST" and (rejection := _csrf_rejection(request)):
            return rejection
        return super().dispatch(request, *args, **kwargs)

    def render_graphql_ide(self, request):
        # GraphiQL sends the csrftoken cookie back as X-CSRFToken for session users.
        get_token(request)
        return super().render_graphql_ide(request)

    def execute_single(
        self, request, request_adapter, sub_response, context, root_value, request_data
    ):
        # The request log line names the operation (RequestTimingMiddleware).
        request.graphql_operation_name = request_data.operation_name
        if getattr(request, "auth_error", None):
            # A bad token never falls back to anonymous: nothing of the operation runs.
            error = GraphQLError(request.auth_error, extensions={"code": ErrorCode.UNAUTHENTICATED})
            return ExecutionResult(data=None, errors=[error])
        try:
            return super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as error:
            if isinstance(error.__cause__, InvalidOperationTypeError):
                # A mutation over GET is a method the resource does not allow for it.
                raise HTTPException(405, error.reason) from error
            raise
