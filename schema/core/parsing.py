"""Parsing: GraphQL's grammar as the clients are written to it, documents cached across requests,
parse errors reported as such."""

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import ParserCache

from schema.core import compat


class DocumentCache(ParserCache):
    """strawberry's ParserCache, except that a document that fails to parse is left to
    strawberry's own parsing step, so the failure reaches the client as GRAPHQL_PARSE_FAILED
    (ParserCache raises it from inside the hook, past every other extension).

    Selection sets need a selection (`SelectionSet : { Selection+ }`, as the published spec
    has it): graphql-core 3.3 also parses `{}` and `{ me {} }` by default, which strawberry's
    depth limiter cannot measure (it fails on them: a masked error for a malformed query).
    The option reaches strawberry's own parsing step too (`parse_options`)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options.update(compat.STRICT_PARSE_OPTIONS)
        if context.query:
            try:
                context.graphql_document = self.cached_parse_document(
                    context.query, **context.parse_options
                )
            except GraphQLError:
                context.graphql_document = None
        yield
