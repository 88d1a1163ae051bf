import json
import pytest
from django.test.utils import CaptureQueriesContext
from django.db import connection
from strawberry.relay import to_base64
from tests.factories import *
from tests.contract import operation

pytestmark = pytest.mark.django_db

def show(label, r):
    print("=====", label); print(json.dumps(r)[:1500])

def test_explore(graphql, contract):
    a = AdminFactory()
    u = UserFactory()
    products = ProductFactory.create_batch(6)
    o = order_with_items(user=u, products=products[:3])
    show("order abc", contract("OrderById", {"id": to_base64("Order", "abc")}, user=u))
    show("Nope:1", contract("OrderById", {"id": to_base64("Nope", 1)}, user=u))
    show("Product id in OrderById", contract("OrderById", {"id": to_base64("Product", products[0].pk)}, user=u))
    show("ordering null", contract("Catalog", {"first": 2, "ordering": None}, user=u))
    show("before zzz", graphql("{ products(before: \"zzz\") { totalCount } }"))
    show("first 0", contract("Catalog", {"first": 0}))
    show("last 101", graphql("{ products(last: 101) { totalCount } }"))
    show("nested 101", graphql("{ users(first: 2) { edges { node { orders(first: 101) { totalCount } } } } }", user=a))
    show("created after +02", contract("AdminOrders", {"createdAfter": "2000-01-01T02:00:00+02:00"}, user=a))
    show("status", contract("AdminOrders", {"status": "PENDING"}, user=a))
    show("role", contract("AdminUsers", {"role": "ADMIN"}, user=a))
    show("last5", graphql("{ products(last: 5) { totalCount pageInfo { hasNextPage hasPreviousPage } edges { node { sku } } } }"))
    show("nested after", graphql("{ users(first: 2) { edges { node { orders(first: 1, after: \"zzz\") { totalCount } } } } }", user=a))
    show("ordering multiple keys", graphql("{ products(ordering: [{price: ASC, name: DESC}]) { totalCount } }"))
    show("products first 100", contract("Catalog", {"first": 100}))
    show("products after end", contract("Catalog", {"first": 3, "after": "YXJyYXljb25uZWN0aW9uOjU="}))
