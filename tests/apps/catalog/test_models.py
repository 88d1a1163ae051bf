from decimal import Decimal

import pytest
from django.db import IntegrityError

from apps.catalog.models import Product
from tests.factories import AdminFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "fields",
    [{"price": Decimal("0")}, {"price": Decimal("-1.00")}, {"stock": -1}],
    ids=["price zero", "price negative", "stock negative"],
)
def test_database_refuses_invalid_products(fields):
    with pytest.raises(IntegrityError):
        ProductFactory(**fields)


def test_sku_is_unique():
    ProductFactory(sku="ABC-1")
    with pytest.raises(IntegrityError):
        ProductFactory(sku="ABC-1")


def test_price_keeps_two_decimals():
    product = ProductFactory(price=Decimal("10"))
    product.refresh_from_db()
    assert str(product.price) == "10.00"


def test_visible_to_hides_inactive_products_from_non_admins():
    active, inactive = ProductFactory(), ProductFactory(is_active=False)
    assert set(Product.objects.visible_to(UserFactory())) == {active}
    assert set(Product.objects.visible_to(AdminFactory())) == {active, inactive}


def test_search_and_stock_filters():
    kb = ProductFactory(sku="KB-1", name="Keyboard", stock=0)
    mouse = ProductFactory(sku="MS-1", name="Mouse", stock=3)
    assert list(Product.objects.search("kb")) == [kb]
    assert list(Product.objects.search("MOU")) == [mouse]
    assert list(Product.objects.in_stock()) == [mouse]
    assert list(Product.objects.in_stock(False)) == [kb]
