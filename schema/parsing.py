"""Parsed documents cached across requests, without changing how parse errors are reported."""

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import ParserCache


class DocumentCache(ParserCache):
    """strawberry's ParserCache, except that a document that fails to parse is left to
    strawberry's own parsing step, so the failure reaches the client as GRAPHQL_PARSE_FAILED
    (ParserCache raises it from inside the hook, past every other extension)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            try:
                context.graphql_document = self.cached_parse_document(
                    context.query, **context.parse_options
                )
            except GraphQLError:
                context.graphql_document = None
        yield
