"""Mutations on the catalog: contract operations CreateProduct and UpdateProduct (ADMIN only)."""

from decimal import Decimal

import pytest
from strawberry.relay import to_base64

from apps.catalog.models import Product
from tests.conftest import error_codes
from tests.factories import AdminFactory, OrderFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PRODUCT = {"sku": "MUG-1", "name": "Mug", "price": "7.5", "stock": 3}


def fields_of(result: dict) -> dict:
    return result["errors"][0]["extensions"]["fields"]


@pytest.fixture
def admin():
    return AdminFactory()


# createProduct


def test_create_product_returns_the_stored_product(contract, admin):
    result = contract(
        "CreateProduct", {"input": NEW_PRODUCT | {"description": "Holds tea."}}, user=admin
    )

    product = Product.objects.get()
    assert result == {
        "data": {
            "createProduct": {
                "id": to_base64("Product", product.pk),
                "sku": "MUG-1",
                "name": "Mug",
                "price": "7.50",
                "stock": 3,
                "isActive": True,
                "description": "Holds tea.",
            }
        }
    }


@pytest.mark.parametrize("description", [None, "absent"])
def test_create_product_without_a_description_stores_an_empty_one(contract, admin, description):
    variables = NEW_PRODUCT if description == "absent" else NEW_PRODUCT | {"description": None}

    result = contract("CreateProduct", {"input": variables}, user=admin)

    assert result["data"]["createProduct"]["description"] == ""
    assert Product.objects.get().description == ""


def test_create_product_shows_a_whole_price_with_two_decimals(contract, admin):
    result = contract("CreateProduct", {"input": NEW_PRODUCT | {"price": "10"}}, user=admin)

    assert result["data"]["createProduct"]["price"] == "10.00"
    assert Product.objects.get().price == Decimal("10.00")


def test_create_product_refuses_three_decimals(contract, admin):
    result = contract("CreateProduct", {"input": NEW_PRODUCT | {"price": "1.999"}}, user=admin)

    assert result["data"] is None
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert fields_of(result) == {"price": ["Use at most two decimal places."]}
    assert not Product.objects.exists()


def test_a_three_decimal_price_literal_names_the_price_too(graphql, admin):
    document = """mutation {
      createProduct(input: {sku: "S", name: "N", price: "1.999", stock: 1}) { id }
    }"""
    result = graphql(document, user=admin)

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert fields_of(result) == {"price": ["Use at most two decimal places."]}
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price", "0", "Ensure this value is greater than or equal to 0.01."),
        ("price", "-1", "Ensure this value is greater than or equal to 0.01."),
        ("stock", -1, "Ensure this value is greater than or equal to 0."),
        ("name", "", "This field cannot be blank."),
    ],
)
def test_create_product_refuses_invalid_fields(contract, admin, field, value, message):
    result = contract("CreateProduct", {"input": NEW_PRODUCT | {field: value}}, user=admin)

    assert result["data"] is None
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert fields_of(result) == {field: [message]}
    assert not Product.objects.exists()


def test_create_product_refuses_a_taken_sku(contract, admin):
    ProductFactory(sku="MUG-1", name="First mug")

    result = contract("CreateProduct", {"input": NEW_PRODUCT}, user=admin)

    assert result["data"] is None
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert fields_of(result) == {"sku": ["A product with this SKU already exists."]}
    assert list(Product.objects.values_list("name", flat=True)) == ["First mug"]


@pytest.mark.parametrize(
    ("caller", "code"), [("anonymous", "UNAUTHENTICATED"), ("user", "FORBIDDEN")]
)
def test_create_product_is_for_admins_only(contract, caller, code):
    user = UserFactory() if caller == "user" else None

    result = contract("CreateProduct", {"input": NEW_PRODUCT}, user=user)

    assert result["data"] is None
    assert error_codes(result) == [code]
    assert not Product.objects.exists()


# updateProduct


def test_update_product_changes_the_given_fields_only(contract, admin):
    product = ProductFactory(
        sku="MUG-1", name="Mug", description="Holds tea.", price=Decimal("7.50"), stock=3
    )
    product_id = to_base64("Product", product.pk)

    result = contract(
        "UpdateProduct", {"input": {"id": product_id, "price": "10", "stock": 0}}, user=admin
    )

    assert result == {
        "data": {
            "updateProduct": {
                "id": product_id,
                "sku": "MUG-1",
                "name": "Mug",
                "price": "10.00",
                "stock": 0,
                "isActive": True,
                "description": "Holds tea.",
            }
        }
    }
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("10.00"), 0)


def test_update_product_with_only_an_id_changes_nothing(contract, admin):
    product = ProductFactory(sku="MUG-1", name="Mug", price=Decimal("7.50"), stock=3)

    result = contract(
        "UpdateProduct", {"input": {"id": to_base64("Product", product.pk)}}, user=admin
    )

    node = result["data"]["updateProduct"]
    assert (node["name"], node["price"], node["stock"], node["isActive"]) == (
        "Mug",
        "7.50",
        3,
        True,
    )


def test_update_product_refuses_three_decimals(contract, admin):
    product = ProductFactory(price=Decimal("7.50"))

    result = contract(
        "UpdateProduct",
        {"input": {"id": to_base64("Product", product.pk), "price": "1.999"}},
        user=admin,
    )

    assert result["data"] is None
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert fields_of(result) == {"price": ["Use at most two decimal places."]}
    product.refresh_from_db()
    assert product.price == Decimal("7.50")


def test_update_product_refuses_negative_stock(contract, admin):
    product = ProductFactory(stock=3)

    result = contract(
        "UpdateProduct",
        {"input": {"id": to_base64("Product", product.pk), "stock": -1}},
        user=admin,
    )

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert fields_of(result) == {"stock": ["Ensure this value is greater than or equal to 0."]}
    product.refresh_from_db()
    assert product.stock == 3


@pytest.mark.parametrize(
    "product_id",
    [
        pytest.param(lambda: to_base64("Product", 999_999), id="no such product"),
        pytest.param(lambda: to_base64("Order", OrderFactory().pk), id="an order's id"),
    ],
)
def test_update_product_of_something_else_is_not_found(contract, admin, product_id):
    result = contract("UpdateProduct", {"input": {"id": product_id(), "stock": 1}}, user=admin)

    assert result["data"] is None
    assert error_codes(result) == ["NOT_FOUND"]


@pytest.mark.parametrize(
    "product_id",
    [to_base64("Product", "abc"), "not-a-global-id"],
    ids=["non-integer key", "garbage"],
)
def test_update_product_with_a_malformed_id_is_bad_user_input(contract, admin, product_id):
    result = contract("UpdateProduct", {"input": {"id": product_id, "stock": 1}}, user=admin)

    assert result["data"] is None
    assert error_codes(result) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("caller", "code"), [("anonymous", "UNAUTHENTICATED"), ("user", "FORBIDDEN")]
)
def test_update_product_is_for_admins_only(contract, caller, code):
    product = ProductFactory(stock=3)
    user = UserFactory() if caller == "user" else None

    result = contract(
        "UpdateProduct", {"input": {"id": to_base64("Product", product.pk), "stock": 0}}, user=user
    )

    assert result["data"] is None
    assert error_codes(result) == [code]
    product.refresh_from_db()
    assert product.stock == 3


def test_deactivating_a_product_hides_it_from_anonymous_callers(contract, admin):
    kept, hidden = ProductFactory(sku="KEPT"), ProductFactory(sku="HIDDEN")
    assert len(contract("Catalog")["data"]["products"]["edges"]) == 2

    result = contract(
        "UpdateProduct",
        {"input": {"id": to_base64("Product", hidden.pk), "isActive": False}},
        user=admin,
    )

    assert result["data"]["updateProduct"]["isActive"] is False
    catalog = contract("Catalog")["data"]["products"]
    assert catalog["totalCount"] == 1
    assert [edge["node"]["sku"] for edge in catalog["edges"]] == [kept.sku]
    assert contract("Catalog", user=admin)["data"]["products"]["totalCount"] == 2
