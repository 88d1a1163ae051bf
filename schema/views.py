"""The HTTP endpoint: strawberry's Django view with the project's settings."""

from django.conf import settings
from strawberry.django.views import GraphQLView


class ApiGraphQLView(GraphQLView):
    """GraphQL over HTTP at /graphql/; GraphiQL where settings enable it."""

    @classmethod
    def from_settings(cls, schema):
        return cls.as_view(schema=schema, graphql_ide="graphiql" if settings.GRAPHIQL else None)
