"""`extensions.sqlQueries`: development only (GRAPHQL_SQL_QUERY_COUNT), the statements an
operation ran."""

import asyncio
import json
from collections.abc import AsyncGenerator

import strawberry
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext, override_settings

from apps.users.models import User
from schema import schema as schema_module
from schema.core.sql_queries import SqlQueryCount
from schema.views import ApiGraphQLView
from tests.factories import ProductFactory, UserFactory


@strawberry.type
class Query:
    @strawberry.field
    def users_counted_twice(self) -> int:
        User.objects.count()
        return User.objects.count()

    @strawberry.field
    def no_sql(self) -> int:
        return 1


@strawberry.type
class Mutation:
    @strawberry.mutation
    def add_user(self, email: str) -> int:
        return UserFactory(email=email).pk


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[int, None]:
        yield 1


small_schema = strawberry.Schema(
    query=Query, mutation=Mutation, subscription=Subscription, extensions=[SqlQueryCount]
)


def test_counts_the_statements_an_operation_runs(db):
    result = small_schema.execute_sync("{ usersCountedTwice }")
    assert result.errors is None
    assert result.extensions == {"sqlQueries": 2}


def test_an_operation_without_sql_counts_zero(db):
    assert small_schema.execute_sync("{ noSql }").extensions == {"sqlQueries": 0}


def test_each_operation_counts_its_own(db):
    with CaptureQueriesContext(connection) as captured:
        result = small_schema.execute_sync('mutation { addUser(email: "a@example.com") }')
    assert result.errors is None
    assert result.extensions == {"sqlQueries": len(captured)}
    assert len(captured) > 0
    assert small_schema.execute_sync("{ noSql }").extensions == {"sqlQueries": 0}


def test_subscriptions_are_not_counted():
    async def first_event():
        events = await small_schema.subscribe("subscription { ticks }")
        async for event in events:
            return event

    event = asyncio.run(first_event())
    assert event.data == {"ticks": 1}
    assert "sqlQueries" not in (event.extensions or {})


def test_installed_only_where_the_setting_is_on():
    assert SqlQueryCount not in schema_module.schema_extensions()  # test settings: off
    assert SqlQueryCount not in schema_module.schema.extensions
    with override_settings(GRAPHQL_SQL_QUERY_COUNT=True):
        assert schema_module.schema_extensions()[0] is SqlQueryCount  # outermost


def test_the_api_schema_with_it_answers_sql_queries_over_http(db):
    ProductFactory.create_batch(3)
    with override_settings(GRAPHQL_SQL_QUERY_COUNT=True):
        api_schema = strawberry.Schema(
            query=schema_module.Query,
            mutation=schema_module.Mutation,
            extensions=schema_module.schema_extensions(),
            config=schema_module.schema.config,
        )
    request = RequestFactory().post(
        "/graphql/",
        data=json.dumps({"query": "{ products(first: 5) { totalCount edges { node { sku } } } }"}),
        content_type="application/json",
    )
    request.user = AnonymousUser()
    request._dont_enforce_csrf_checks = True
    with CaptureQueriesContext(connection) as captured:
        response = ApiGraphQLView.as_view(schema=api_schema)(request)
    body = json.loads(response.content)
    assert body["data"]["products"]["totalCount"] == 3
    assert body["extensions"] == {"sqlQueries": len(captured)}
    assert body["extensions"]["sqlQueries"] > 0


def test_the_test_and_production_endpoint_has_no_extensions_key(graphql):
    ProductFactory()
    assert "extensions" not in graphql("{ products(first: 1) { totalCount } }")
