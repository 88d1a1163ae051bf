"""Compiled operations: the trusted query operations answered without executing GraphQL.

At start-up each query operation of the trusted documents' manifest
(`schema.core.trusted_documents`) is compiled (`planner`) into reads (`reads`): for each
selection, the same querysets as the normal path (the types' visibility rules, filters,
orderings, keyset pages), read with `values_list` and shaped straight into the answer, which
orjson encodes as the view would (`encoding`). A request that names such a document, by id
or by its exact text, is answered from its plan when the normal path would answer it with data
and no errors; anything else (variables that do not coerce, a limit, a refusal, an error, a
case no read covers) falls back to the normal path, so errors stay exactly what they were.
`GRAPHQL_COMPILED_OPERATIONS` turns it off; `tests/schema/test_compiled.py` proves both
paths answer the same bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from graphql import GraphQLError, get_variable_values
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types import ExecutionResult

from schema.core import sql_queries, trusted_documents
from schema.core.compiled.encoding import encode
from schema.core.compiled.planner import NotCompilable, OperationPlan, compile_operation
from schema.core.compiled.reads import NotCovered, Run, ViewerInfo, convert_with
from schema.core.context import Context
from schema.core.errors import ApiError
from schema.core.inputs import contains_nul
from schema.core.limits import MAX_NODES, NodeCounter, is_relay_connection
from schema.core.pagination import DEFAULT_PAGE_SIZE

logger = logging.getLogger(__name__)

# What the normal path answers as a refusal or an error: falling back for these is the design.
_REFUSALS = (
    NotCovered,
    ApiError,
    GraphQLError,
    StrawberryInputCoercionError,
    ValueError,
    DatabaseError,
)


class CompiledResult(ExecutionResult):
    """A compiled operation's answer, already encoded: the view writes `body` as it is."""

    def __init__(self, body: bytes, operation_name: str) -> None:
        super().__init__(data=None, errors=None)
        self.body = body
        self.operation_name = operation_name


def enabled() -> bool:
    """GRAPHQL_COMPILED_OPERATIONS, unless every answer must count its SQL (development's
    `extensions.sqlQueries`, which only execution adds)."""
    return settings.GRAPHQL_COMPILED_OPERATIONS and not sql_queries.enabled()


def compile_manifest(schema: Any) -> dict[str, OperationPlan]:
    """The plan of every query operation of the manifest that compiles, by its text."""
    plans = {}
    for body in trusted_documents.manifest().values():
        try:
            plans[body] = compile_operation(schema, body)
        except NotCompilable as reason:
            logger.debug("Not compiled: %s", reason)
    return plans


class CompiledOperations:
    """The compiled plans of one schema, made once, and the answers they give."""

    def __init__(self, schema: Any) -> None:
        self.graphql_schema = schema._schema
        self.convert = convert_with(schema)
        self.plans: Mapping[str, OperationPlan] = compile_manifest(schema)

    def name_of(self, query: str | None) -> str | None:
        """The operation a compiled plan answers for this document, if there is one."""
        plan = self.plans.get(query) if query is not None else None
        return None if plan is None else plan.name

    def answer(
        self,
        query: str | None,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Context,
    ) -> CompiledResult | None:
        """The encoded answer to a compiled document; None when the normal path answers."""
        plan = self.plans.get(query) if query is not None else None
        if plan is None or operation_name not in (None, plan.name):
            return None
        try:
            return CompiledResult(self.run(plan, variables or {}, context), plan.name)
        except _REFUSALS as refusal:
            logger.debug("%s: the normal path answers (%r)", plan.name, refusal)
        except Exception:
            logger.warning(
                "%s: the compiled plan failed; the normal path answers", plan.name, exc_info=True
            )
        return None

    def run(self, plan: OperationPlan, variables: dict[str, Any], context: Context) -> bytes:
        coerced = get_variable_values(
            self.graphql_schema, plan.operation.variable_definitions or (), variables
        )
        if isinstance(coerced, list):
            raise NotCovered("variables that do not coerce")
        if contains_nul(variables):
            raise NotCovered("NUL in the variables")
        if plan.counts_nodes and self.count_nodes(plan, coerced) > MAX_NODES:
            raise NotCovered("past the node limit")
        run = Run(info=ViewerInfo(context), variables=coerced, convert=self.convert)
        data = {key: read.resolve(run) for key, read in plan.fields}
        return encode({"data": data})

    def count_nodes(self, plan: OperationPlan, variables: Any) -> int:
        """The node limit's count (`schema.core.limits.MaxNodesLimiter`)."""
        fragments = {name: details.node for name, details in plan.fragments.items()}
        counter = NodeCounter(
            self.graphql_schema,
            fragments,
            variables,
            is_connection=is_relay_connection,
            default_page_size=DEFAULT_PAGE_SIZE,
        )
        return counter.count(plan.operation.selection_set, self.graphql_schema.query_type)
