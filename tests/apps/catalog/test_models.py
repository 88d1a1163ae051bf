from decimal import Decimal

import pytest
from django.db import IntegrityError

from apps.catalog.models import Product
from apps.catalog.selectors import product_in_stock, product_search
from apps.orders.models import OrderItem
from tests.factories import AdminFactory, OrderItemFactory, ProductFactory, UserFactory

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


def test_search_and_stock_conditions():
    kb = ProductFactory(sku="KB-1", name="Keyboard", stock=0)
    mouse = ProductFactory(sku="MS-1", name="Mouse", stock=3)
    assert list(Product.objects.filter(product_search("kb"))) == [kb]
    assert list(Product.objects.filter(product_search("MOU"))) == [mouse]
    assert list(Product.objects.filter(product_in_stock(True))) == [mouse]
    assert list(Product.objects.filter(product_in_stock(False))) == [kb]
    item = OrderItemFactory(product=mouse)
    items = OrderItem.objects.filter(product_search("mouse", prefix="product__"))
    assert list(items) == [item]
