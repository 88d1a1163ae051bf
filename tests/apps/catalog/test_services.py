import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from apps.catalog import services
from apps.catalog.errors import CatalogErrorCode
from apps.catalog.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

VALID = {"sku": "MUG-1", "name": "Mug", "price": Decimal("7.50"), "stock": 3}
SKU_TAKEN = {"sku": ["A product with this SKU already exists."]}


def stored(product: Product) -> tuple:
    product.refresh_from_db()
    return (
        product.sku,
        product.name,
        product.description,
        product.price,
        product.stock,
        product.is_active,
    )


# product_create


def test_create_stores_an_active_product():
    product = services.product_create(**VALID, description="Holds tea.")

    assert stored(product) == ("MUG-1", "Mug", "Holds tea.", Decimal("7.50"), 3, True)


def test_create_trims_sku_and_name_and_defaults_the_description():
    product = services.product_create(**VALID | {"sku": " MUG-1 ", "name": " Mug "})

    assert stored(product)[:3] == ("MUG-1", "Mug", "")


@pytest.mark.parametrize(("price", "shown"), [("10", "10.00"), ("19.9", "19.90")])
def test_create_keeps_prices_with_exactly_two_decimals(price, shown):
    product = services.product_create(**VALID | {"price": Decimal(price)})

    assert str(product.price) == shown
    product.refresh_from_db()
    assert str(product.price) == shown


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"price": Decimal("0")},
            {"price": ["Ensure this value is greater than or equal to 0.01."]},
        ),
        (
            {"price": Decimal("-1.00")},
            {"price": ["Ensure this value is greater than or equal to 0.01."]},
        ),
        (
            {"price": Decimal("1.999")},
            {"price": ["Ensure that there are no more than 2 decimal places."]},
        ),
        (
            {"price": Decimal("123456789")},
            {"price": ["Ensure that there are no more than 8 digits before the decimal point."]},
        ),
        ({"stock": -1}, {"stock": ["Ensure this value is greater than or equal to 0."]}),
        ({"sku": "  "}, {"sku": ["This field cannot be blank."]}),
        ({"name": ""}, {"name": ["This field cannot be blank."]}),
    ],
    ids=[
        "price zero",
        "price negative",
        "price 3 decimals",
        "price too large",
        "stock negative",
        "sku blank",
        "name blank",
    ],
)
def test_create_refuses_invalid_fields_and_writes_nothing(fields, errors):
    with pytest.raises(ValidationError) as error:
        services.product_create(**VALID | fields)

    assert error.value.message_dict == errors
    assert not Product.objects.exists()


def test_create_refuses_a_taken_sku_and_writes_nothing():
    ProductFactory(sku="MUG-1", name="First mug")

    with pytest.raises(ValidationError) as error:
        services.product_create(**VALID)

    assert error.value.message_dict == SKU_TAKEN
    assert error.value.error_dict["sku"][0].code == CatalogErrorCode.SKU_TAKEN
    assert list(Product.objects.values_list("sku", "name")) == [("MUG-1", "First mug")]


def test_sku_is_case_sensitive():
    ProductFactory(sku="MUG-1")

    product = services.product_create(**VALID | {"sku": "mug-1"})

    assert sorted(Product.objects.values_list("sku", flat=True)) == ["MUG-1", "mug-1"]
    assert product.sku == "mug-1"


# product_update


def test_update_changes_only_the_given_fields():
    product = ProductFactory(
        sku="MUG-1", name="Mug", description="Holds tea.", price=Decimal("7.50"), stock=3
    )

    services.product_update(product=product, price=Decimal("8"), is_active=False)

    assert stored(product) == ("MUG-1", "Mug", "Holds tea.", Decimal("8.00"), 3, False)


def test_update_changes_every_field():
    product = ProductFactory(sku="MUG-1", is_active=False)

    updated = services.product_update(
        product=product, name=" Cup ", description="", price=Decimal("1.5"), stock=0, is_active=True
    )

    assert str(updated.price) == "1.50"
    assert stored(product) == ("MUG-1", "Cup", "", Decimal("1.50"), 0, True)


def test_update_writes_only_the_given_columns():
    product = ProductFactory(price=Decimal("7.50"), stock=3)
    Product.objects.filter(pk=product.pk).update(stock=1)  # an order reserved stock meanwhile

    services.product_update(product=product, price=Decimal("8"))

    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("8.00"), 1)


def test_update_with_nothing_to_change_writes_nothing():
    product = ProductFactory()
    before = Product.objects.get().updated_at

    services.product_update(product=product)

    assert Product.objects.get().updated_at == before


@pytest.mark.parametrize(
    ("fields", "error_fields"),
    [
        ({"price": Decimal("0")}, {"price"}),
        ({"price": Decimal("-5")}, {"price"}),
        ({"price": Decimal("2.001")}, {"price"}),
        ({"stock": -1}, {"stock"}),
        ({"name": ""}, {"name"}),
        ({"price": Decimal("2.001"), "stock": -1}, {"price", "stock"}),
    ],
)
def test_update_refuses_invalid_fields_and_writes_nothing(fields, error_fields):
    product = ProductFactory(name="Mug", price=Decimal("7.50"), stock=3)

    with pytest.raises(ValidationError) as error:
        services.product_update(product=product, **fields)

    assert set(error.value.message_dict) == error_fields
    assert stored(Product.objects.get())[1:] == (
        "Mug",
        "A thing worth having.",
        Decimal("7.50"),
        3,
        True,
    )


# a duplicate decided by the database


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_racing_creates_of_one_sku_exactly_one_wins():
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def create(name: str) -> None:
        start.wait()
        try:
            services.product_create(**VALID | {"name": name})
            outcomes.append("won")
        except ValidationError as error:
            outcomes.append(str(error.message_dict))
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(name,)) for name in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == sorted([str(SKU_TAKEN), "won"])
    assert Product.objects.filter(sku="MUG-1").count() == 1
