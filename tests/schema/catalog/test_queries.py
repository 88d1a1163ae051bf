"""Queries on the catalog: `products` (contract operation Catalog) and `node` of a Product."""

from decimal import Decimal

import pytest
from strawberry.relay import to_base64

from tests.conftest import error_codes
from tests.factories import AdminFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

PRODUCT_NODE = """
query ProductNode($id: ID!) {
  node(id: $id) { id ... on Product { sku isActive } }
}
"""

LAST_PRODUCTS = """
query LastProducts($last: Int) {
  products(last: $last) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    edges { node { sku } }
  }
}
"""


def skus(result: dict) -> list[str]:
    return [edge["node"]["sku"] for edge in result["data"]["products"]["edges"]]


@pytest.fixture(params=["anonymous", "user"])
def non_admin(request):
    """Each caller that must never see inactive products: None is anonymous."""
    return UserFactory() if request.param == "user" else None


# products: visibility


def test_catalog_hides_inactive_products_from_non_admins(contract, non_admin):
    ProductFactory(sku="ON-1")
    ProductFactory(sku="OFF-1", is_active=False)
    ProductFactory(sku="ON-2")

    result = contract("Catalog", user=non_admin)

    assert result["data"]["products"]["totalCount"] == 2
    assert skus(result) == ["ON-1", "ON-2"]


def test_catalog_shows_inactive_products_to_an_admin(contract):
    ProductFactory(sku="ON-1")
    ProductFactory(sku="OFF-1", is_active=False)

    result = contract("Catalog", user=AdminFactory())

    assert result["data"]["products"]["totalCount"] == 2
    assert [edge["node"]["isActive"] for edge in result["data"]["products"]["edges"]] == [
        True,
        False,
    ]


def test_catalog_renders_the_product_card(contract):
    product = ProductFactory(
        sku="MUG-1", name="Mug", description="Holds tea.", price=Decimal("7.5"), stock=3
    )

    result = contract("Catalog")

    assert result["data"]["products"]["edges"][0]["node"] == {
        "id": to_base64("Product", product.pk),
        "sku": "MUG-1",
        "name": "Mug",
        "description": "Holds tea.",
        "price": "7.50",
        "stock": 3,
        "isActive": True,
    }


@pytest.mark.parametrize(
    ("price", "shown"),
    [(Decimal("10"), "10.00"), (Decimal("19.9"), "19.90"), (Decimal("0.01"), "0.01")],
)
def test_prices_are_shown_with_exactly_two_decimals(contract, price, shown):
    ProductFactory(price=price)

    result = contract("Catalog")

    assert result["data"]["products"]["edges"][0]["node"]["price"] == shown


# products: filters


def test_catalog_search_matches_sku_or_name_ignoring_case(contract):
    ProductFactory(sku="CABLE-01", name="Charger")
    ProductFactory(sku="X-02", name="Long cable")
    ProductFactory(sku="X-03", name="Battery")

    result = contract("Catalog", {"search": "Cable"})

    assert result["data"]["products"]["totalCount"] == 2
    assert skus(result) == ["CABLE-01", "X-02"]


@pytest.mark.parametrize(("in_stock", "expected"), [(True, ["FULL"]), (False, ["EMPTY"])])
def test_catalog_in_stock_filter(contract, in_stock, expected):
    ProductFactory(sku="FULL", stock=1)
    ProductFactory(sku="EMPTY", stock=0)

    result = contract("Catalog", {"inStock": in_stock})

    assert skus(result) == expected


def test_catalog_search_does_not_reveal_inactive_products(contract):
    ProductFactory(sku="LAMP-ON")
    ProductFactory(sku="LAMP-OFF", is_active=False)

    result = contract("Catalog", {"search": "lamp"}, user=UserFactory())

    assert skus(result) == ["LAMP-ON"]


# products: ordering


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        # Each column sorts the three products differently, and no order is another reversed.
        ({"price": "ASC"}, ["SKU-A", "SKU-C", "SKU-B"]),
        ({"price": "DESC"}, ["SKU-B", "SKU-C", "SKU-A"]),
        ({"name": "ASC"}, ["SKU-B", "SKU-A", "SKU-C"]),
        ({"name": "DESC"}, ["SKU-C", "SKU-A", "SKU-B"]),
        ({"sku": "ASC"}, ["SKU-A", "SKU-B", "SKU-C"]),
        ({"sku": "DESC"}, ["SKU-C", "SKU-B", "SKU-A"]),
    ],
)
def test_catalog_ordering(contract, ordering, expected):
    ProductFactory(sku="SKU-B", name="Adapter", price=Decimal("30.00"))
    ProductFactory(sku="SKU-C", name="Cable", price=Decimal("20.00"))
    ProductFactory(sku="SKU-A", name="Battery", price=Decimal("10.00"))

    result = contract("Catalog", {"ordering": [ordering]})

    assert skus(result) == expected


# products: pagination


def test_catalog_page_defaults_to_20(contract):
    ProductFactory.create_batch(25)

    products = contract("Catalog")["data"]["products"]

    assert products["totalCount"] == 25
    assert len(products["edges"]) == 20
    assert products["pageInfo"]["hasNextPage"] is True


def test_catalog_accepts_first_100(contract):
    ProductFactory.create_batch(101)

    products = contract("Catalog", {"first": 100})["data"]["products"]

    assert len(products["edges"]) == 100
    assert products["pageInfo"]["hasNextPage"] is True


def test_catalog_refuses_first_above_100(contract):
    ProductFactory()

    result = contract("Catalog", {"first": 101})

    assert result["data"] is None
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert list(result["errors"][0]["extensions"]["fields"]) == ["first"]


def test_catalog_refuses_negative_first(contract):
    ProductFactory()

    result = contract("Catalog", {"first": -1})

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert list(result["errors"][0]["extensions"]["fields"]) == ["first"]


def test_catalog_refuses_first_of_the_wrong_type(contract):
    result = contract("Catalog", {"first": "x"})

    assert result["data"] is None
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert list(result["errors"][0]["extensions"]["fields"]) == ["first"]


def test_catalog_next_page_starts_after_the_end_cursor(contract):
    for n in range(5):
        ProductFactory(sku=f"P{n}")

    first = contract("Catalog", {"first": 2})["data"]["products"]
    second = contract("Catalog", {"first": 2, "after": first["pageInfo"]["endCursor"]})

    assert [edge["node"]["sku"] for edge in first["edges"]] == ["P0", "P1"]
    assert skus(second) == ["P2", "P3"]
    assert second["data"]["products"]["pageInfo"]["hasPreviousPage"] is True


def test_catalog_refuses_a_malformed_cursor(contract):
    ProductFactory()

    result = contract("Catalog", {"after": "zzz"})

    assert result["data"] is None
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert list(result["errors"][0]["extensions"]["fields"]) == ["after"]


def test_last_alone_gives_the_last_products(graphql):
    for n in range(8):
        ProductFactory(sku=f"P{n}")

    result = graphql(LAST_PRODUCTS, {"last": 5})

    assert skus(result) == ["P3", "P4", "P5", "P6", "P7"]
    assert result["data"]["products"]["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
    }


def test_catalog_with_null_ordering_is_bad_user_input(contract):
    ProductFactory()

    result = contract("Catalog", {"ordering": None})

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert list(result["errors"][0]["extensions"]["fields"]) == ["ordering"]


# node of a Product


def test_node_of_an_active_product_for_anonymous(graphql):
    product = ProductFactory(sku="ON")
    product_id = to_base64("Product", product.pk)

    result = graphql(PRODUCT_NODE, {"id": product_id})

    assert result == {"data": {"node": {"id": product_id, "sku": "ON", "isActive": True}}}


def test_node_of_an_inactive_product_is_null_for_non_admins(graphql, non_admin):
    product = ProductFactory(is_active=False)

    result = graphql(PRODUCT_NODE, {"id": to_base64("Product", product.pk)}, user=non_admin)

    assert result == {"data": {"node": None}}


def test_node_of_an_inactive_product_for_an_admin(graphql):
    product = ProductFactory(sku="OFF", is_active=False)
    product_id = to_base64("Product", product.pk)

    result = graphql(PRODUCT_NODE, {"id": product_id}, user=AdminFactory())

    assert result == {"data": {"node": {"id": product_id, "sku": "OFF", "isActive": False}}}
