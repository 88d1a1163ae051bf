"""Development comfort: `extensions.sqlQueries` in every GraphQL response, the number of SQL
statements the operation ran. Installed by `schema_extensions()` only where
settings.GRAPHQL_SQL_QUERY_COUNT (development: DEBUG) is on; never in production."""

from django.conf import settings
from django.db import connection
from strawberry.extensions import SchemaExtension

from schema.core.compat import OperationType


def enabled() -> bool:
    return bool(getattr(settings, "GRAPHQL_SQL_QUERY_COUNT", False))


class SqlQueryCount(SchemaExtension):
    """Counts the statements run on the default database while the operation executes."""

    def __init__(self, *, execution_context=None):
        super().__init__(execution_context=execution_context)
        self.count: int | None = None

    def _count(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def on_execute(self):
        # A subscription's statements run in other threads, event by event: not counted.
        if self.execution_context.operation_type == OperationType.SUBSCRIPTION:
            yield
            return
        self.count = 0
        with connection.execute_wrapper(self._count):
            yield

    def get_results(self) -> dict[str, int]:
        return {} if self.count is None else {"sqlQueries": self.count}
