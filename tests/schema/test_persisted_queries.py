"""Automatic persisted queries in Apollo's protocol, through Django's whole HTTP stack."""

import hashlib
import json
import time

import pytest
from django.core.cache import cache
from django.test import Client

from schema.core.operations import operation
from tests.conftest import REDIS_RETRY_INTERVAL
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "query Count { products { totalCount } }"
NOT_FOUND = {
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
}
MISMATCH = {
    "errors": [
        {
            "message": "provided sha does not match query",
            "extensions": {
                "code": "BAD_USER_INPUT",
                "fields": {"extensions": ["provided sha does not match query"]},
            },
        }
    ]
}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def signature(sha256_hash: str, version=1) -> dict:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256_hash}}


def post(client, *, sha256_hash, query=None, variables=None, version=1, **headers):
    body = {"extensions": signature(sha256_hash, version), "variables": variables}
    if query is not None:
        body["query"] = query
    return client.post("/graphql/", body, content_type="application/json", headers=headers)


def get(client, *, sha256_hash, query=None, variables=None):
    # As Apollo's link sends it with useGETForHashedQueries; Accept */* is what older
    # Apollo Clients send, and must not be mistaken for a browser asking for GraphiQL.
    params = {"extensions": json.dumps(signature(sha256_hash))}
    if query is not None:
        params["query"] = query
    if variables is not None:
        params["variables"] = json.dumps(variables)
    return client.get("/graphql/", params, headers={"Accept": "*/*"})


def test_an_unknown_hash_is_not_found_and_runs_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = post(client, sha256_hash=sha256(PRODUCTS))
    assert response.status_code == 200
    assert response.json() == NOT_FOUND


def test_an_unknown_hash_over_get_is_not_found(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = get(client, sha256_hash=sha256(PRODUCTS))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_a_registered_query_runs_by_its_hash_over_post_and_get(client):
    ProductFactory()
    registered = post(client, sha256_hash=sha256(PRODUCTS), query=PRODUCTS)
    assert registered.json() == {"data": {"products": {"totalCount": 1}}}
    ProductFactory()

    by_post = post(client, sha256_hash=sha256(PRODUCTS))
    by_get = get(client, sha256_hash=sha256(PRODUCTS))

    assert by_post.json() == {"data": {"products": {"totalCount": 2}}}
    assert by_get.status_code == 200
    assert by_get.json() == {"data": {"products": {"totalCount": 2}}}


def test_a_query_registers_over_get_too(client):
    registered = get(client, sha256_hash=sha256(PRODUCTS), query=PRODUCTS)
    assert registered.json() == {"data": {"products": {"totalCount": 0}}}
    assert post(client, sha256_hash=sha256(PRODUCTS)).json() == {
        "data": {"products": {"totalCount": 0}}
    }


def test_another_client_reuses_the_stored_query(client):
    post(client, sha256_hash=sha256(PRODUCTS), query=PRODUCTS)
    response = post(Client(), sha256_hash=sha256(PRODUCTS))
    assert response.json() == {"data": {"products": {"totalCount": 0}}}


def test_a_hash_that_does_not_match_is_refused_and_not_stored(client, django_assert_num_queries):
    other_hash = sha256("{ me { email } }")
    with django_assert_num_queries(0):
        response = post(client, sha256_hash=other_hash, query=PRODUCTS)
    assert response.status_code == 200
    assert response.json() == MISMATCH
    assert post(client, sha256_hash=other_hash).json() == NOT_FOUND
    assert post(client, sha256_hash=sha256(PRODUCTS)).json() == NOT_FOUND


def test_the_hash_is_of_the_exact_text_sent(client):
    response = post(client, sha256_hash=sha256(PRODUCTS), query=PRODUCTS + " ")
    assert response.json() == MISMATCH


def test_the_catalog_operation_runs_as_a_persisted_query_with_variables(client):
    for sku in ("A-1", "A-2", "B-1"):
        ProductFactory(sku=sku, name=f"Thing {sku}")
    catalog = operation("Catalog")
    sha256_hash = sha256(catalog)

    registered = post(client, sha256_hash=sha256_hash, query=catalog, variables={"first": 1})
    by_post = post(Client(), sha256_hash=sha256_hash, variables={"first": 2})
    by_get = get(Client(), sha256_hash=sha256_hash, variables={"search": "B-1"})

    assert "errors" not in registered.json()
    assert len(registered.json()["data"]["products"]["edges"]) == 1
    assert by_post.json()["data"]["products"]["totalCount"] == 3
    assert len(by_post.json()["data"]["products"]["edges"]) == 2
    edges = by_get.json()["data"]["products"]["edges"]
    assert [edge["node"]["sku"] for edge in edges] == ["B-1"]


def test_a_persisted_mutation_over_get_is_refused_with_405(client):
    document = 'mutation Rename { updateProfile(input: {name: "Changed"}) { name } }'
    sha256_hash = sha256(document)
    # Registered by an anonymous POST: it validates (so it is stored) and is refused.
    registered = post(Client(), sha256_hash=sha256_hash, query=document)
    assert registered.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    user = UserFactory()
    client.force_login(user)

    by_hash = get(client, sha256_hash=sha256_hash)
    with_query = get(client, sha256_hash=sha256_hash, query=document)

    assert by_hash.status_code == 405
    assert with_query.status_code == 405
    user.refresh_from_db()
    assert user.name != "Changed"


def test_a_mutation_refused_over_get_is_not_stored(client):
    document = 'mutation Rename { updateProfile(input: {name: "Changed"}) { name } }'
    assert get(client, sha256_hash=sha256(document), query=document).status_code == 405
    assert post(client, sha256_hash=sha256(document)).json() == NOT_FOUND


@pytest.mark.parametrize("version", [2, 0, "1", True, None])
def test_an_unsupported_version_is_refused_and_runs_nothing(
    client, django_assert_num_queries, version
):
    with django_assert_num_queries(0):
        response = post(client, sha256_hash=sha256(PRODUCTS), query=PRODUCTS, version=version)
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "message": "Unsupported persisted query version",
                "extensions": {
                    "code": "BAD_USER_INPUT",
                    "fields": {"extensions": ["Unsupported persisted query version"]},
                },
            }
        ]
    }
    assert post(client, sha256_hash=sha256(PRODUCTS)).json() == NOT_FOUND


@pytest.mark.parametrize("sha256_hash", ["", "abc", "g" * 64, 42])
def test_a_malformed_hash_is_refused(client, sha256_hash):
    response = post(client, sha256_hash=sha256_hash)
    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in response.json()


def test_a_document_that_does_not_validate_is_not_stored(client):
    document = "{ noSuchField }"
    response = post(client, sha256_hash=sha256(document), query=document)
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert post(client, sha256_hash=sha256(document)).json() == NOT_FOUND


def test_a_bad_token_runs_and_stores_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = post(
            client,
            sha256_hash=sha256(PRODUCTS),
            query=PRODUCTS,
            Authorization="Bearer not-a-token",
        )
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert post(client, sha256_hash=sha256(PRODUCTS)).json() == NOT_FOUND


def test_the_log_line_names_a_persisted_operation(client):
    post(client, sha256_hash=sha256(PRODUCTS), query=PRODUCTS)
    body = {"extensions": signature(sha256(PRODUCTS)), "operationName": "Count"}
    response = client.post("/graphql/", body, content_type="application/json")
    assert response.wsgi_request.graphql_operation_name == "Count"
    assert response.json() == {"data": {"products": {"totalCount": 0}}}


def test_with_redis_down_a_hash_is_not_found_and_the_document_runs_unstored(
    redis_cache, redis_server, client
):
    ProductFactory.create_batch(2)
    redis_server.stop()

    assert post(client, sha256_hash=sha256(PRODUCTS)).json() == NOT_FOUND
    # The client sends the document with its hash: it runs; storing it fails silently.
    registering = post(client, sha256_hash=sha256(PRODUCTS), query=PRODUCTS)
    assert registering.json() == {"data": {"products": {"totalCount": 2}}}
    assert post(client, sha256_hash=sha256(PRODUCTS)).json() == NOT_FOUND

    redis_server.start()
    time.sleep(REDIS_RETRY_INTERVAL + 0.1)
    post(client, sha256_hash=sha256(PRODUCTS), query=PRODUCTS)  # registered for real now
    by_hash = post(client, sha256_hash=sha256(PRODUCTS))
    assert by_hash.json() == {"data": {"products": {"totalCount": 2}}}
