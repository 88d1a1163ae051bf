"""The generated Python client against a live server: typed results, typed errors."""

import asyncio
from decimal import Decimal

import pytest

from apps.catalog.models import Product
from apps.orders.models import Order
from apps.users.tokens import token_obtain
from tests.factories import PASSWORD, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(shop_client, live_server, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return shop_client.ShopClient(url=f"{live_server.url}/graphql/", headers=headers)


def test_catalog_query_returns_typed_products_with_string_prices(shop_client, live_server):
    ProductFactory(sku="CHEAP-1", name="Cable", price=Decimal("10"), stock=5)
    ProductFactory(sku="DEAR-2", name="Dock", price=Decimal("149.50"), stock=0)
    ProductFactory(sku="GONE-3", name="Retired", price=Decimal("1.00"), is_active=False)
    ProductOrder, Ordering = shop_client.ProductOrder, shop_client.Ordering

    async def run():
        async with client_for(shop_client, live_server) as client:
            everything = await client.catalog(first=10, ordering=[ProductOrder(price=Ordering.ASC)])
            in_stock = await client.catalog(first=10, in_stock=True)
            return everything, in_stock

    everything, in_stock = asyncio.run(run())

    assert isinstance(everything, shop_client.Catalog)
    products = everything.products
    assert products.total_count == 2  # the inactive product is not in an anonymous catalog
    assert products.page_info.has_next_page is False
    nodes = [edge.node for edge in products.edges]
    assert [(n.sku, n.name, n.price, n.stock) for n in nodes] == [
        ("CHEAP-1", "Cable", "10.00", 5),
        ("DEAR-2", "Dock", "149.50", 0),
    ]
    assert all(isinstance(n.price, str) and n.is_active for n in nodes)
    assert nodes[0].description == "A thing worth having."
    assert [edge.node.sku for edge in in_stock.products.edges] == ["CHEAP-1"]


def test_place_order_mutation_with_a_bearer_token(shop_client, live_server):
    user = UserFactory()
    cable = ProductFactory(sku="CABLE", price=Decimal("10.00"), stock=10)
    dock = ProductFactory(sku="DOCK", price=Decimal("149.50"), stock=10)
    token = token_obtain(
        email=user.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token

    async def run():
        async with client_for(shop_client, live_server, token) as client:
            catalog = await client.catalog(first=10, ordering=[shop_client.ProductOrder(sku="ASC")])
            ids = {edge.node.sku: edge.node.id for edge in catalog.products.edges}
            items = [
                shop_client.OrderItemInput(product_id=ids["CABLE"], quantity=3),
                shop_client.OrderItemInput(product_id=ids["DOCK"], quantity=1),
            ]
            return await client.place_order(items=items)

    placed = asyncio.run(run())

    assert isinstance(placed, shop_client.PlaceOrder)
    order = placed.create_order
    assert order.status == shop_client.OrderStatus.PENDING
    assert order.total == "179.50"
    assert order.item_count == 4
    assert order.failure_reason is None
    lines = sorted((i.product.sku, i.quantity, i.unit_price, i.subtotal) for i in order.items)
    assert lines == [("CABLE", 3, "10.00", "30.00"), ("DOCK", 1, "149.50", "149.50")]
    stored = Order.objects.get()
    assert stored.user == user
    assert stored.total == Decimal("179.50")
    # The order was processed after commit: its stock is reserved.
    assert Product.objects.get(pk=cable.pk).stock == 7
    assert Product.objects.get(pk=dock.pk).stock == 9


def test_place_order_without_a_token_raises_a_typed_unauthenticated_error(shop_client, live_server):
    product = ProductFactory()

    async def run():
        async with client_for(shop_client, live_server) as client:
            node_id = (await client.catalog(first=1)).products.edges[0].node.id
            item = shop_client.OrderItemInput(product_id=node_id, quantity=1)
            await client.place_order(items=[item])

    with pytest.raises(shop_client.GraphQLClientGraphQLMultiError) as raised:
        asyncio.run(run())

    assert [error.extensions["code"] for error in raised.value.errors] == ["UNAUTHENTICATED"]
    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 10
