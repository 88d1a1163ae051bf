"""Typed factory_boy factories, one per model."""

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from apps.catalog.models import Product
from apps.orders.models import Order, OrderItem, OrderStatus
from apps.users.models import User, UserRole

PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    role = UserRole.USER
    password = factory.django.Password(PASSWORD)


class AdminFactory(UserFactory):
    role = UserRole.ADMIN
    is_staff = True


class ProductFactory(DjangoModelFactory[Product]):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    description = "A thing worth having."
    price = Decimal("10.00")
    stock = 10


class OrderFactory(DjangoModelFactory[Order]):
    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    status = OrderStatus.PENDING
    total = Decimal("0.00")


class OrderItemFactory(DjangoModelFactory[OrderItem]):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price = factory.LazyAttribute(lambda item: item.product.price)


def order_with_items(*, user: User, products: list[Product], quantity: int = 1, **fields) -> Order:
    """An order whose total matches its items, as the order service would store it."""
    total = sum((p.price * quantity for p in products), Decimal("0.00"))
    order = OrderFactory(user=user, total=total, **fields)
    for product in products:
        OrderItemFactory(order=order, product=product, quantity=quantity, unit_price=product.price)
    return order
