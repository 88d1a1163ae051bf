"""Input text no database column accepts is refused before anything runs."""

from collections.abc import Iterator
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from schema.core.errors import ErrorCode

NUL = "\x00"
MESSAGE = "Text may not contain NUL (\\u0000) characters."


def contains_nul(value: object) -> bool:
    """Whether a (JSON) value holds NUL in any of its strings."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_nul(v) for v in value)
    return False


class _FindNul(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_) -> None:
        if NUL in node.value:
            self.found = True


@lru_cache(maxsize=1024)
def has_nul_literal(document: DocumentNode) -> bool:
    """Once per parsed document (documents are cached), not once per request."""
    finder = _FindNul()
    visit(document, finder)
    return finder.found


class RefuseNulCharacters(SchemaExtension):
    """PostgreSQL text cannot hold NUL: such input is BAD_USER_INPUT, in literals or variables."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if (document is not None and has_nul_literal(document)) or contains_nul(context.variables):
            error = GraphQLError(
                MESSAGE, extensions={"code": ErrorCode.BAD_USER_INPUT.value, "fields": {}}
            )
            context.result = ExecutionResult(data=None, errors=[error])
        yield
