"""The schema: every domain's queries merged, with the extensions the contract relies on."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import strawberry
from django.conf import settings
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry_django.optimizer import DjangoOptimizerExtension

from schema.catalog.mutations import CatalogMutations
from schema.catalog.queries import CatalogQueries
from schema.core import connections, pagination
from schema.core.compat import StrawberryGraphQLCoreExecutionContext
from schema.core.errors import ErrorCodes
from schema.core.execution import PlannedExecutor
from schema.core.inputs import RefuseNulCharacters
from schema.core.limits import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_NODES,
    MAX_TOKENS,
    MaxNodesLimiter,
    is_introspection,
)
from schema.core.nodes import NodeLoading, NodeQueries
from schema.core.parsing import DocumentCache
from schema.core.results import OPTIMIZER_CONFIG
from schema.core.scalars import DATETIME_SCALAR, MONEY_SCALAR
from schema.orders.mutations import OrderMutations
from schema.orders.queries import OrderQueries
from schema.orders.subscriptions import OrderSubscriptions
from schema.users.mutations import UserMutations
from schema.users.queries import UserQueries

pagination.install()
connections.describe_library_types()


def _keeping_rules(limiter: AddValidationRules) -> Callable[[], AddValidationRules]:
    """A per-request extension adding the same rule classes every time.

    The limiters build a new rule class on each instantiation, and `ValidationCache` keys
    on the rules as well as the document: with new classes per request it would never hit.
    """
    rules = limiter.validation_rules
    return lambda: AddValidationRules(rules)


def schema_extensions() -> list:
    """Outermost first: error codes see every error, limits run before any resolver."""
    from schema.core import sql_queries, tracing

    extensions = [
        ErrorCodes,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: DocumentCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
        _keeping_rules(QueryDepthLimiter(max_depth=MAX_DEPTH, should_ignore=is_introspection)),
        _keeping_rules(MaxAliasesLimiter(max_alias_count=MAX_ALIASES)),
        lambda: MaxNodesLimiter(max_nodes=MAX_NODES),
        RefuseNulCharacters,
        NodeLoading,
        lambda: DjangoOptimizerExtension(
            prefetch_custom_queryset=OPTIMIZER_CONFIG.prefetch_custom_queryset
        ),
    ]
    if not settings.GRAPHQL_INTROSPECTION:
        extensions.append(DisableIntrospection)
    if sql_queries.enabled():
        # Development only: `extensions.sqlQueries` in every response.
        extensions.insert(0, sql_queries.SqlQueryCount)
    if tracing.enabled():
        # Outermost: the operation's span holds the others' work and sees the final codes.
        extensions.insert(0, tracing.OperationTracing)
        if tracing.fields_enabled():
            extensions.append(tracing.FieldTracing)
    return extensions


@strawberry.type(description="Reads: the catalog, orders, users, and any object by its global id.")
class Query(NodeQueries, UserQueries, CatalogQueries, OrderQueries):
    pass


@strawberry.type(
    description="Writes, over POST only. Errors carry `extensions.code`; BAD_USER_INPUT also "
    "`extensions.fields`, from input field name to messages."
)
class Mutation(UserMutations, OrderMutations, CatalogMutations):
    pass


@strawberry.type(
    description="Live updates over a WebSocket on /graphql/ (graphql-transport-ws), the access "
    "token in connection_init's payload; anonymous connections are refused."
)
class Subscription(OrderSubscriptions):
    pass


def execution_context_class() -> type[StrawberryGraphQLCoreExecutionContext]:
    """The planned executor, unless settings turn it off (GRAPHQL_PLANNED_EXECUTOR): then
    strawberry's own, field by field through graphql-core."""
    if settings.GRAPHQL_PLANNED_EXECUTOR:
        return PlannedExecutor
    return StrawberryGraphQLCoreExecutionContext


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=schema_extensions(),
    execution_context_class=execution_context_class(),
    config=StrawberryConfig(
        relay_max_results=pagination.MAX_PAGE_SIZE,
        name_converter=pagination.ConnectionNames(),
        scalar_map={Decimal: MONEY_SCALAR, datetime: DATETIME_SCALAR},
    ),
)
