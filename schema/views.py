"""The HTTP endpoint: strawberry's Django view with the project's settings."""

from django.conf import settings
from strawberry.django.views import GraphQLView


class ApiGraphQLView(GraphQLView):
    """GraphQL over HTTP at /graphql/; GraphiQL where settings enable it."""

    @classmethod
    def from_settings(cls, schema):
        return cls.as_view(schema=schema, graphql_ide="graphiql" if settings.GRAPHIQL else None)

    def execute_single(
        self, request, request_adapter, sub_response, context, root_value, request_data
    ):
        # The request log line names the operation (RequestTimingMiddleware).
        request.graphql_operation_name = request_data.operation_name
        return super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
