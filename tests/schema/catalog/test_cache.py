"""The cached product list (Catalog): a repeated request runs no SQL, a change shows at once.

These tests commit, as requests do: inside a transaction the cache is bypassed (see
`apps.catalog.selectors.product_list_cached`), so the usual rolled-back test would not see it.
"""

import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction
from strawberry.relay import to_base64

from apps.catalog import services
from apps.catalog.selectors import CATALOG_VERSION_KEY
from tests.conftest import REDIS_RETRY_INTERVAL
from tests.factories import AdminFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def skus(result: dict) -> list[str]:
    return [edge["node"]["sku"] for edge in result["data"]["products"]["edges"]]


@pytest.fixture
def catalog(contract, django_assert_num_queries):
    """Runs Catalog and asserts how many SQL queries it took: 0 when cached, else 2 (the page
    and the COUNT of `totalCount`)."""

    def run(variables: dict | None = None, *, user=None, queries: int) -> dict:
        with django_assert_num_queries(queries):
            result = contract("Catalog", variables, user=user)
        assert "errors" not in result, result
        return result

    return run


def test_a_repeated_request_is_answered_without_sql(catalog):
    ProductFactory(sku="A", price=Decimal("10"))
    ProductFactory(sku="B")

    cold = catalog({"first": 1}, queries=2)
    warm = catalog({"first": 1}, queries=0)

    assert warm == cold
    assert cold["data"]["products"]["totalCount"] == 2
    assert cold["data"]["products"]["pageInfo"]["hasNextPage"] is True
    assert cold["data"]["products"]["edges"][0]["node"]["price"] == "10.00"


def test_an_empty_page_is_cached_with_its_total(catalog):
    ProductFactory.create_batch(2)
    end = catalog({"first": 2}, queries=2)["data"]["products"]["pageInfo"]["endCursor"]

    # Past the end: the empty page and its COUNT run once, then nothing.
    cold = catalog({"first": 2, "after": end}, queries=2)
    warm = catalog({"first": 2, "after": end}, queries=0)

    assert warm == cold
    assert cold["data"]["products"]["totalCount"] == 2
    assert cold["data"]["products"]["edges"] == []


@pytest.mark.parametrize(
    "variables",
    [
        {"first": 2},
        {"search": "b"},
        {"inStock": False},
        {"ordering": [{"sku": "DESC"}]},
        {"after": "cursor of A"},
    ],
    ids=["first", "search", "inStock", "ordering", "after"],
)
def test_each_argument_has_its_own_entry(catalog, variables):
    ProductFactory(sku="A", name="Alpha")
    ProductFactory(sku="B", name="Beta", stock=0)
    ProductFactory(sku="C", name="Gamma")
    first_page = catalog(queries=2)
    assert skus(first_page) == ["A", "B", "C"]
    if "after" in variables:
        variables = {"after": first_page["data"]["products"]["edges"][0]["cursor"]}

    result = catalog(variables, queries=2)

    expected = {"first": ["A", "B"], "search": ["B"], "inStock": ["B"], "ordering": ["C", "B", "A"]}
    assert skus(result) == expected.get(next(iter(variables)), ["B", "C"])
    catalog(variables, queries=0)


def test_an_admins_list_is_never_served_to_others(catalog):
    ProductFactory(sku="ON")
    ProductFactory(sku="OFF", is_active=False)
    admin = AdminFactory()

    assert skus(catalog(user=admin, queries=2)) == ["ON", "OFF"]
    assert skus(catalog(queries=2)) == ["ON"]
    assert skus(catalog(user=UserFactory(), queries=0)) == ["ON"]
    assert skus(catalog(user=admin, queries=0)) == ["ON", "OFF"]


def test_update_product_is_visible_to_the_next_request(catalog, contract):
    product = ProductFactory(sku="MUG", price=Decimal("7.50"))
    catalog(queries=2)
    catalog(queries=0)

    result = contract(
        "UpdateProduct",
        {"input": {"id": to_base64("Product", product.pk), "price": "8", "isActive": False}},
        user=AdminFactory(),
    )
    assert result["data"]["updateProduct"]["price"] == "8.00"

    assert skus(catalog(queries=2)) == []
    admin_view = catalog(user=AdminFactory(), queries=2)["data"]["products"]["edges"]
    assert [(e["node"]["price"], e["node"]["isActive"]) for e in admin_view] == [("8.00", False)]


@pytest.mark.parametrize("change", ["create", "update", "delete"])
def test_every_change_through_the_orm_retires_the_cached_lists(catalog, change):
    product = ProductFactory(sku="MUG", stock=3)
    catalog(queries=2)

    if change == "create":
        services.product_create(sku="CUP", name="Cup", price=Decimal("2"), stock=1)
    elif change == "update":
        services.product_update(product=product, stock=0)
    else:
        product.delete()

    result = catalog(queries=2)
    expected = {"create": ["MUG", "CUP"], "update": ["MUG"], "delete": []}[change]
    assert skus(result) == expected
    assert [edge["node"]["stock"] for edge in result["data"]["products"]["edges"]] == (
        {"create": [3, 1], "update": [0], "delete": []}[change]
    )


def test_a_change_that_rolls_back_keeps_the_cached_list_right(catalog):
    ProductFactory(sku="MUG")
    catalog(queries=2)

    with pytest.raises(RuntimeError), transaction.atomic():
        ProductFactory(sku="GHOST")
        raise RuntimeError

    assert skus(catalog(queries=0)) == ["MUG"]


def test_inside_a_transaction_the_cache_is_bypassed(catalog):
    product = ProductFactory(sku="MUG")
    catalog(queries=2)

    with transaction.atomic():
        services.product_update(product=product, is_active=False)
        # The uncommitted change shows to this transaction, and nothing of it is cached.
        assert skus(catalog(queries=2)) == []
        assert skus(catalog(queries=2)) == []

    assert skus(catalog(queries=2)) == []
    assert skus(catalog(queries=0)) == []


def test_a_lost_version_number_never_brings_back_an_old_list(catalog):
    product = ProductFactory(sku="MUG", stock=3)
    catalog(queries=2)
    cache.delete(CATALOG_VERSION_KEY)  # evicted, e.g. by Redis under memory pressure

    type(product).objects.filter(pk=product.pk).update(stock=5)  # no signal: only the loss
    result = catalog(queries=2)

    assert result["data"]["products"]["edges"][0]["node"]["stock"] == 5


# Production's cache, on a Redis of the test's own that goes down.


def test_with_redis_down_every_request_reads_postgresql_and_sees_each_change(
    redis_cache, redis_server, catalog, contract
):
    product = ProductFactory(sku="MUG", price=Decimal("7.50"))
    redis_server.stop()

    assert skus(catalog(queries=2)) == ["MUG"]
    assert skus(catalog(queries=2)) == ["MUG"]  # nothing cached: PostgreSQL again
    result = contract(
        "UpdateProduct",
        {"input": {"id": to_base64("Product", product.pk), "price": "8"}},
        user=AdminFactory(),
    )
    assert result["data"]["updateProduct"]["price"] == "8.00"
    [edge] = catalog(queries=2)["data"]["products"]["edges"]
    assert edge["node"]["price"] == "8.00"


def test_a_change_made_while_redis_was_unreachable_is_not_hidden_when_it_is_back(
    redis_cache, redis_server, catalog
):
    product = ProductFactory(sku="MUG", stock=3)
    catalog(queries=2)
    catalog(queries=0)  # cached in Redis
    redis_server.pause()  # unreachable, its data intact (a partition, a stalled host)

    services.product_update(product=product, stock=0)  # retiring the version fails
    [during] = catalog(queries=2)["data"]["products"]["edges"]
    assert during["node"]["stock"] == 0

    redis_server.resume()  # the old version and the old list are there again
    time.sleep(REDIS_RETRY_INTERVAL + 0.1)
    [after] = catalog(queries=2)["data"]["products"]["edges"]
    assert after["node"]["stock"] == 0
    catalog(queries=0)  # and cached again
