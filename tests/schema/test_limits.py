"""`MaxNodesLimiter`: the node count of the contract's limits, on a tiny schema and on ours."""

import asyncio
from typing import Annotated, Any

import pytest
import strawberry
from graphql import GraphQLNamedType
from strawberry.types import ExecutionResult

from schema.core.limits import MaxNodesLimiter
from tests.conftest import error_codes
from tests.factories import AdminFactory, OrderFactory

CALLS: list[str] = []


@pytest.fixture(autouse=True)
def clear_calls():
    CALLS.clear()


@strawberry.type
class Review:
    stars: int


@strawberry.type
class ReviewEdge:
    node: Review


@strawberry.type
class ReviewConnection:
    edges: list[ReviewEdge]


@strawberry.type
class Book:
    title: str

    @strawberry.field
    def reviews(self, first: int | None = None, last: int | None = None) -> ReviewConnection:
        CALLS.append("reviews")
        return ReviewConnection(edges=[ReviewEdge(node=Review(stars=5))])


@strawberry.type
class BookEdge:
    node: Book


@strawberry.type
class BookConnection:
    edges: list[BookEdge]


@strawberry.type
class Author:
    name: str

    @strawberry.field
    def books(self, first: int | None = None, last: int | None = None) -> BookConnection:
        CALLS.append("books")
        return BookConnection(edges=[BookEdge(node=Book(title="Emma"))])


@strawberry.type
class AuthorEdge:
    node: Author


@strawberry.type
class AuthorConnection:
    edges: list[AuthorEdge]


SearchResult = Annotated[Author | Book, strawberry.union("SearchResult")]


@strawberry.type
class Query:
    @strawberry.field
    def authors(self, first: int | None = None, last: int | None = None) -> AuthorConnection:
        CALLS.append("authors")
        return AuthorConnection(edges=[AuthorEdge(node=Author(name="Jane"))])

    @strawberry.field
    def search(self) -> list[SearchResult]:
        CALLS.append("search")
        return [Author(name="Jane"), Book(title="Emma")]

    @strawberry.field
    def books_by_ids(self, ids: list[strawberry.ID]) -> list[Book]:
        CALLS.append("booksByIds")
        return [Book(title=id) for id in ids]


def run(
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    max_nodes: int = 10_000,
    operation_name: str | None = None,
    limiter: type[MaxNodesLimiter] | Any = MaxNodesLimiter,
) -> ExecutionResult:
    schema = strawberry.Schema(query=Query, extensions=[lambda: limiter(max_nodes=max_nodes)])
    return schema.execute_sync(document, variables, operation_name=operation_name)


def codes(result: ExecutionResult) -> list[str]:
    return [(error.extensions or {}).get("code") for error in result.errors or ()]


def assert_counts(document: str, expected: int, variables: dict | None = None, **kwargs) -> None:
    """`document` may return exactly `expected` nodes: allowed at that limit, refused below it."""
    allowed = run(document, variables, max_nodes=expected, **kwargs)
    assert allowed.errors is None
    assert allowed.data is not None
    CALLS.clear()
    refused = run(document, variables, max_nodes=expected - 1, **kwargs)
    assert codes(refused) == ["QUERY_TOO_COMPLEX"]
    assert refused.data is None
    assert CALLS == []


THREE_LEVELS = """
query Reviews($authors: Int, $books: Int, $reviews: Int) {
  authors(first: $authors) { edges { node { name
    books(first: $books) { edges { node { title
      reviews(first: $reviews) { edges { node { stars } } } } } } } } }
}
"""


def test_literal_first_counts_its_page_size():
    assert_counts("{ authors(first: 7) { edges { node { name } } } }", 7)


def test_literal_last_counts_like_first():
    assert_counts("{ authors(last: 7) { edges { node { name } } } }", 7)


def test_first_and_last_together_count_the_smaller_slice():
    assert_counts("{ authors(first: 10, last: 3) { edges { node { name } } } }", 3)


def test_no_page_size_counts_the_default_page():
    assert_counts("{ authors { edges { node { name } } } }", 20)
    document = """{ authors { edges { node {
      books { edges { node { reviews { edges { node { stars } } } } } } } } } }"""
    assert_counts(document, 20 + 20 * 20 + 20 * 20 * 20)


def test_variables_give_page_sizes():
    assert_counts(THREE_LEVELS, 10 + 10 * 5 + 10 * 5 * 2, {"authors": 10, "books": 5, "reviews": 2})


def test_missing_or_null_variables_count_the_default_page():
    assert_counts(THREE_LEVELS, 10 + 10 * 20 + 10 * 20 * 20, {"authors": 10})
    assert_counts(THREE_LEVELS, 10 + 10 * 20 + 10 * 20 * 20, {"authors": 10, "books": None})


def test_a_variable_default_counts_when_the_variable_is_missing():
    document = "query ($n: Int = 4) { authors(first: $n) { edges { node { name } } } }"
    assert_counts(document, 4)
    assert_counts(document, 9, {"n": 9})


def test_nested_connections_multiply():
    document = """{ authors(first: 10) { edges { node {
      books(first: 5) { edges { node {
        reviews(first: 2) { edges { node { stars } } } } } } } } } }"""
    assert_counts(document, 10 + 50 + 100)


def test_sibling_connections_add():
    document = """{ authors(first: 2) { edges { node {
      books(first: 3) { edges { node { title } } }
      older: books(last: 4) { edges { node { title } } } } } } }"""
    assert_counts(document, 2 + 2 * 3 + 2 * 4)


def test_aliases_count_separately():
    document = """{
      a: authors(first: 6) { edges { node { name } } }
      b: authors(first: 6) { edges { node { name } } }
    }"""
    assert_counts(document, 12)


def test_named_fragments_are_followed():
    document = """
    { authors(first: 4) { edges { node { ...AuthorBooks } } } }
    fragment AuthorBooks on Author { books(first: 5) { edges { node { title } } } }
    """
    assert_counts(document, 4 + 20)


def test_nested_fragments_are_followed():
    document = """
    { authors(first: 2) { ...Authors } }
    fragment Authors on AuthorConnection { edges { node { ...AuthorBooks } } }
    fragment AuthorBooks on Author { books(first: 3) { edges { node { ...BookReviews } } } }
    fragment BookReviews on Book { reviews(first: 5) { edges { node { stars } } } }
    """
    assert_counts(document, 2 + 2 * 3 + 2 * 3 * 5)


def test_a_fragment_spread_twice_counts_twice():
    document = """
    {
      a: authors(first: 2) { edges { node { ...AuthorBooks } } }
      b: authors(first: 3) { edges { node { ...AuthorBooks } } }
    }
    fragment AuthorBooks on Author { books(first: 10) { edges { node { title } } } }
    """
    assert_counts(document, 2 + 20 + 3 + 30)


def test_inline_fragments_are_followed():
    document = """{
      authors(first: 2) { edges { node {
        ... on Author { books(first: 3) { edges { node { title } } } }
        ... { older: books(last: 1) { edges { node { title } } } } } } }
      search {
        ... on Author { books(first: 4) { edges { node { title } } } }
        ... on Book { reviews(first: 5) { edges { node { stars } } } } }
    }"""
    # `search` is a plain list, not a connection: what is below it counts once per item.
    assert_counts(document, 2 + 2 * 3 + 2 * 1 + 4 + 5)


def test_skipped_selections_do_not_count():
    document = """query ($withBooks: Boolean!) { authors(first: 2) { edges { node {
      books(first: 50) @include(if: $withBooks) { edges { node { title } } }
      older: books(first: 50) @skip(if: true) { edges { node { title } } } } } } }"""
    assert_counts(document, 2, {"withBooks": False})
    assert_counts(document, 2 + 100, {"withBooks": True})


def test_only_the_executed_operation_counts():
    document = """
    query Small { authors(first: 1) { edges { node { name } } } }
    query Large { authors(first: 100) { edges { node { books(first: 100) {
      edges { node { title } } } } } } }
    """
    assert_counts(document, 1, operation_name="Small")
    assert_counts(document, 100 + 100 * 100, operation_name="Large")


def test_a_list_fetched_by_ids_counts_one_node_per_id():
    assert_counts('{ booksByIds(ids: ["a", "b", "c"]) { title } }', 3)
    assert_counts('{ booksByIds(ids: "a") { title } }', 1)  # a lone id: a list of one
    by_variable = "query ($ids: [ID!]!) { booksByIds(ids: $ids) { title } }"
    assert_counts(by_variable, 7, {"ids": list("abcdefg")})


def test_connections_below_a_list_fetched_by_ids_count_once_per_id():
    document = """{ booksByIds(ids: ["a", "b"]) {
      reviews(first: 5) { edges { node { stars } } } } }"""
    assert_counts(document, 2 + 2 * 5)


def test_negative_page_sizes_count_zero():
    document = (
        "{ authors(first: -5) { edges { node { books(first: 9) { edges { node { title } } } } } } }"
    )
    result = run(document, max_nodes=0)
    assert result.errors is None


def test_huge_page_sizes_are_counted_and_refused():
    largest = 2**31 - 1
    result = run(THREE_LEVELS, {"authors": largest, "books": largest, "reviews": largest})
    assert codes(result) == ["QUERY_TOO_COMPLEX"]
    assert CALLS == []


def test_the_refusal_names_the_count_and_the_limit():
    result = run("{ authors(first: 30) { edges { node { name } } } }", max_nodes=25)
    (error,) = result.errors
    assert error.message == "This query may return 30 nodes, more than the limit of 25."
    assert error.extensions == {"code": "QUERY_TOO_COMPLEX"}


def test_the_async_path_is_limited_too():
    schema = strawberry.Schema(query=Query, extensions=[lambda: MaxNodesLimiter(max_nodes=5)])
    refused = asyncio.run(schema.execute("{ authors(first: 6) { edges { node { name } } } }"))
    assert codes(refused) == ["QUERY_TOO_COMPLEX"]
    assert CALLS == []
    allowed = asyncio.run(schema.execute("{ authors(first: 5) { edges { node { name } } } }"))
    assert allowed.errors is None
    assert CALLS == ["authors"]


def test_invalid_documents_keep_their_validation_errors():
    result = run("{ authors(first: 100) { edges { node { nope } } } }", max_nodes=1)
    (error,) = result.errors
    assert "Cannot query field 'nope'" in error.message
    assert codes(result) == [None]


def test_variables_that_do_not_coerce_keep_their_errors():
    document = "query ($n: Int) { authors(first: $n) { edges { node { name } } } }"
    result = run(document, {"n": "many"}, max_nodes=1)
    (error,) = result.errors
    assert "$n" in error.message
    assert CALLS == []


def test_introspection_counts_nothing():
    result = run("{ __schema { types { name fields { name } } } }", max_nodes=0)
    assert result.errors is None


def test_what_counts_as_a_connection_is_configurable():
    class BooksOnly(MaxNodesLimiter):
        def __init__(self, max_nodes: int) -> None:
            def is_connection(type_: GraphQLNamedType) -> bool:
                return type_.name == "BookConnection"

            super().__init__(max_nodes, is_connection=is_connection)

    document = """{ authors(first: 10) { edges { node {
      books(first: 3) { edges { node { title } } } } } } }"""
    assert_counts(document, 3, limiter=BooksOnly)


# The project's schema, with the contract's operation.


@pytest.mark.django_db
def test_admin_users_with_orders_at_100_by_100_is_refused_without_sql(
    contract, django_assert_num_queries
):
    admin = AdminFactory()
    with django_assert_num_queries(0):
        result = contract("AdminUsersWithOrders", {"first": 100, "ordersFirst": 100}, user=admin)
    assert error_codes(result) == ["QUERY_TOO_COMPLEX"]
    assert result.get("data") is None
    assert "10,100" in result["errors"][0]["message"]
    assert "10,000" in result["errors"][0]["message"]


@pytest.mark.django_db
def test_admin_users_with_orders_at_the_limit_is_accepted(contract):
    admin = AdminFactory()
    order = OrderFactory()
    result = contract("AdminUsersWithOrders", {"first": 100, "ordersFirst": 99}, user=admin)
    assert "errors" not in result
    emails = {edge["node"]["email"] for edge in result["data"]["users"]["edges"]}
    assert emails == {admin.email, order.user.email}


# Depth and aliases, as the project's schema installs them.


# QueryDepthLimiter counts the root field as depth 0:
# me(0) orders(1) edges(2) node(3) user(4) orders(5) edges(6) node(7), then the %s part.
DEPTH_7 = (
    "{ me { orders(first: 1) { edges { node { "
    "user { orders(first: 1) { edges { node { %s } } } } } } } } }"
)


def test_depth_of_ten_is_accepted(graphql):
    # user(8) orders(9) totalCount(10)
    result = graphql(DEPTH_7 % "user { orders(first: 1) { totalCount } }")
    assert result == {"data": {"me": None}}


def test_depth_over_ten_is_refused_before_any_sql(graphql, django_assert_num_queries):
    # user(8) orders(9) edges(10) cursor(11)
    with django_assert_num_queries(0):
        result = graphql(DEPTH_7 % "user { orders(first: 1) { edges { cursor } } }")
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "exceeds maximum operation depth of 10" in result["errors"][0]["message"]


def test_introspection_is_exempt_from_the_depth_limit(graphql):
    of_types = "ofType { " * 8 + "name" + " }" * 8
    deep = f"{{ __schema {{ types {{ fields {{ type {{ {of_types} }} }} }} }} }}"
    result = graphql(deep)
    assert "errors" not in result
    assert result["data"]["__schema"]["types"]


def test_more_than_thirty_aliases_are_refused(graphql, django_assert_num_queries):
    thirty = " ".join(f"a{i}: me {{ id }}" for i in range(30))
    assert graphql(f"{{ {thirty} }}")["data"]["a0"] is None
    with django_assert_num_queries(0):
        result = graphql(f"{{ {thirty} a30: me {{ id }} }}")
    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]


def test_documents_over_the_token_limit_are_too_complex(graphql, django_assert_num_queries):
    fields = " ".join(["id"] * 5000)
    with django_assert_num_queries(0):
        result = graphql(f"{{ me {{ {fields} }} }}")
    assert error_codes(result) == ["QUERY_TOO_COMPLEX"]
    assert "tokens" in result["errors"][0]["message"]


@pytest.mark.django_db
def test_a_repeated_document_is_validated_once_with_the_limits_still_applied(graphql):
    from strawberry.extensions.validation_cache import _get_validate_cache

    validate = _get_validate_cache(1024)
    document = "query Repeated { products(first: 1) { totalCount } }"
    graphql(document)
    hits = validate.cache_info().hits

    graphql(document)
    level = "orders { edges { node { user { "
    refused = graphql("{ " + level * 3 + "id" + " } } } }" * 3 + " }")

    assert validate.cache_info().hits == hits + 1
    assert error_codes(refused) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "exceeds maximum operation depth" in refused["errors"][0]["message"]
