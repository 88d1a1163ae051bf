"""Failures the endpoint fuzz found, kept as plain tests of the contract's behaviour.

Each sends the exact input the fuzz found and asserts the contract's answer.
"""

import pytest

from tests.conftest import error_codes
from tests.factories import PASSWORD, AdminFactory, ProductFactory, UserFactory, order_with_items

pytestmark = pytest.mark.django_db

# A NUL character in a string argument that reaches PostgreSQL (SQLite stores it).
NUL_DOCUMENTS = {
    "products-search": ('{ products(filters: { search: "a\\u0000b" }) { totalCount } }', None),
    "users-search": ('{ users(filters: { search: "a\\u0000b" }) { totalCount } }', None),
    "register-name": (
        "mutation Register($input: RegisterInput!) { register(input: $input) { id } }",
        {"input": {"email": "nul@example.com", "name": "a\x00b", "password": PASSWORD}},
    ),
    "obtain-token-email": (
        "mutation Login($input: ObtainTokenInput!) { obtainToken(input: $input) { accessToken } }",
        {"input": {"email": "a\x00b@example.com", "password": PASSWORD}},
    ),
    "create-product-sku": (
        "mutation Create($input: CreateProductInput!) { createProduct(input: $input) { id } }",
        {"input": {"sku": "A\x00B", "name": "n", "price": "1.00", "stock": 1}},
    ),
    "update-profile-name": (
        "mutation Update($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }",
        {"input": {"name": "a\x00b"}},
    ),
}


@pytest.mark.parametrize("name", NUL_DOCUMENTS)
def test_nul_character_in_a_string_input_is_bad_user_input_not_a_crash(graphql, name) -> None:
    document, variables = NUL_DOCUMENTS[name]
    result = graphql(document, variables, user=AdminFactory())
    assert error_codes(result) == ["BAD_USER_INPUT"], result


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("argument", ["createdAfter", "createdBefore"])
def test_naive_datetime_in_an_order_filter_is_not_a_crash(graphql, argument) -> None:
    admin = AdminFactory()
    order_with_items(user=UserFactory(), products=[ProductFactory()])
    # The fuzz's shrunk example, as the ADMIN: `orders` then reaches the filter.
    document = f'{{ orders(filters: {{ {argument}: "2000-01-01T00:00:00" }}) {{ totalCount }} }}'
    result = graphql(document, user=admin)
    assert error_codes(result) == ["BAD_USER_INPUT"], result


@pytest.mark.parametrize(
    "document", ["{}", "query Q { }", "{ me {} }", "{ me { ... on User {} } }"]
)
def test_an_empty_selection_set_is_a_parse_error_not_a_crash(graphql, document) -> None:
    # graphql-core 3.3 parses `{}` by default; strawberry's depth limiter then failed on it
    # (the transport fuzz's `query={}`).
    result = graphql(document)
    assert error_codes(result) == ["GRAPHQL_PARSE_FAILED"], result
    assert result["errors"][0]["message"] == "Syntax Error: Expected Name, found '}'."
