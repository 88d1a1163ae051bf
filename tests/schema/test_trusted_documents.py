"""Trusted documents: the committed manifest, and GRAPHQL_TRUSTED_DOCUMENTS's three modes over
POST, GET and the WebSocket."""

import asyncio
import hashlib
import json
import re

import pytest
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import override_settings
from graphql import parse, validate
from strawberry.relay import to_base64

from apps.users import tokens
from backend.asgi import application
from schema.core import trusted_documents
from schema.core.operations import operation, operation_names
from schema.core.persisted_queries import cache_key
from schema.core.trusted_documents import ManifestError
from schema.schema import schema
from tests.backend.test_production_settings import PRODUCTION, manage
from tests.factories import PASSWORD, OrderFactory, ProductFactory, UserFactory
from tests.schema.ws import signed_in

MODES = ["off", "prefer", "only"]
CATALOG = operation("Catalog")
COUNT = "query Count { products { totalCount } }"  # in no manifest
TWO_OPERATIONS = "query A { me { id } } query B { me { id } }"
NOT_FOUND = {
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
}
NOT_TRUSTED = {
    "errors": [
        {
            "message": "Only the documents of this server's manifest run here: send one's id.",
            "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
        }
    ]
}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apq(sha256_hash) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hash}}


def committed() -> dict:
    return json.loads(trusted_documents.MANIFEST_PATH.read_text())


# --- the manifest -------------------------------------------------------------------------


def test_the_committed_manifest_is_what_the_operations_build():
    assert trusted_documents.MANIFEST_PATH.read_text() == trusted_documents.build(), (
        "clients/persisted-query-manifest.json is stale: " + trusted_documents.REGENERATE
    )


def test_the_manifest_holds_each_operation_once_with_the_fragments_it_uses():
    manifest = committed()
    assert (manifest["format"], manifest["version"]) == ("apollo-persisted-query-manifest", 1)
    entries = {entry["name"]: entry for entry in manifest["operations"]}
    assert len(entries) == len(manifest["operations"])
    apps = set(operation_names())
    assert apps <= set(entries)
    for name, entry in entries.items():
        if name in apps:
            assert entry["body"] == operation(name)
        assert entry["type"] == parse(entry["body"]).definitions[0].operation.value
    # The rest are the frontend builds' documents (clients/persisted-documents/), as they are.
    builds = {
        body
        for path in trusted_documents.PERSISTED_DOCUMENTS_DIR.glob("*.json")
        for body in json.loads(path.read_text()).values()
    }
    assert {entries[name]["body"] for name in set(entries) - apps} == builds
    assert "AdminUsersPage" in entries
    assert entries["WatchOrder"]["type"] == "subscription"
    assert entries["PlaceOrder"]["type"] == "mutation"
    assert "fragment ProductCard on Product" in entries["PlaceOrder"]["body"]
    assert "fragment ProductCard" not in entries["Me"]["body"]


def test_every_id_is_the_sha256_of_its_body():
    for entry in committed()["operations"]:
        assert entry["id"] == hashlib.sha256(entry["body"].encode("utf-8")).hexdigest()


def test_every_body_validates_against_the_schema():
    for entry in committed()["operations"]:
        assert validate(schema._schema, parse(entry["body"])) == [], entry["name"]


def test_the_loaded_manifest_serves_every_committed_body_by_its_id():
    loaded = trusted_documents.manifest()
    assert dict(loaded) == {e["id"]: e["body"] for e in committed()["operations"]}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m["operations"][0].update(body=m["operations"][0]["body"] + " "),
        lambda m: m["operations"][0].update(id="0" * 64),
        lambda m: m["operations"][0].update(name="Renamed"),
        lambda m: m["operations"][0].update(type="mutation"),
        lambda m: m.update(format="something-else"),
        lambda m: m.update(version=2),
    ],
)
def test_a_manifest_that_does_not_match_its_bodies_is_refused(tmp_path, tamper):
    manifest = committed()
    tamper(manifest)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match=re.escape(trusted_documents.REGENERATE)):
        trusted_documents.load(path)


def test_a_missing_manifest_names_the_command_that_writes_it(tmp_path):
    with pytest.raises(ManifestError, match=re.escape(trusted_documents.REGENERATE)):
        trusted_documents.load(tmp_path / "absent.json")


def test_frontend_builds_files_are_merged_under_the_ids_their_clients_send(tmp_path):
    operations_dir, documents_dir = tmp_path / "operations", tmp_path / "documents"
    operations_dir.mkdir()
    documents_dir.mkdir()
    (operations_dir / "a.graphql").write_text(
        "query Me { me { ...Who } }\nfragment Who on User { id email }\n"
        "fragment Unused on User { name }\n"
    )
    codegen = "query Products { products { totalCount } }"
    relay = "query Nodes($id: ID!) { node(id: $id) { id } }"
    (documents_dir / "web.json").write_text(json.dumps({sha256(codegen): codegen}))
    apollo = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": sha256(relay), "name": "Nodes", "type": "query", "body": relay}],
    }
    (documents_dir / "mobile.json").write_text(json.dumps(apollo))

    built = json.loads(trusted_documents.build(operations_dir, documents_dir))

    entries = {entry["name"]: entry for entry in built["operations"]}
    assert list(entries) == ["Me", "Nodes", "Products"]
    assert entries["Me"]["body"] == (
        "query Me {\n  me {\n    ...Who\n  }\n}\n\nfragment Who on User {\n  id\n  email\n}"
    )
    assert entries["Products"] == {
        "id": sha256(codegen),
        "name": "Products",
        "type": "query",
        "body": codegen,
    }
    assert entries["Nodes"]["id"] == sha256(relay)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(built))
    assert set(trusted_documents.load(path)) == {entry["id"] for entry in built["operations"]}


@pytest.mark.parametrize(
    "documents, message",
    [
        ({hashlib.sha1(COUNT.encode()).hexdigest(): COUNT}, "hashAlgorithm: 'sha256'"),
        ({sha256("{ me { id } }"): "{ me { id } }"}, "exactly one named operation"),
        ({sha256(TWO_OPERATIONS): TWO_OPERATIONS}, "exactly one named operation"),
        ({sha256("query {"): "query {"}, "Syntax Error"),
        ([COUNT], "neither an {id: document} map"),
    ],
)
def test_a_file_the_manifest_cannot_hold_is_refused_with_the_reason(tmp_path, documents, message):
    (tmp_path / "web.json").write_text(json.dumps(documents))
    with pytest.raises(ManifestError, match=re.escape(message)):
        trusted_documents.build(tmp_path, tmp_path)


# --- the setting ----------------------------------------------------------------------------


def trusted_documents_setting(**env: str) -> str:
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.GRAPHQL_TRUSTED_DOCUMENTS)",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_development_and_production_prefer_the_manifest_and_only_is_the_operators_choice():
    development = {"DJANGO_SETTINGS_MODULE": "backend.settings.development"}
    assert trusted_documents_setting(**development) == "prefer"
    assert trusted_documents_setting(**PRODUCTION) == "prefer"
    assert trusted_documents_setting(**PRODUCTION, GRAPHQL_TRUSTED_DOCUMENTS="only") == "only"


def test_an_unknown_mode_stops_the_process_with_the_choices_named():
    result = manage("check", **PRODUCTION, GRAPHQL_TRUSTED_DOCUMENTS="strict")
    assert result.returncode != 0
    assert "GRAPHQL_TRUSTED_DOCUMENTS must be off, prefer or only." in result.stderr


# --- over HTTP: every mode, every way of naming a document -------------------------------

CATALOG_ID = sha256(CATALOG)
DOCUMENT_ID_REFUSED = {
    "message": "documentId must be sha256:<hex> or a SHA-256 hex digest",
    "fields": "documentId",
}
# What each request gets in each mode: the catalog's data ("runs"), or a refusal.
REQUESTS = {
    "query in the manifest": {"query": CATALOG},
    "query not in the manifest": {"query": COUNT},
    "manifest id as persistedQuery.sha256Hash": {"extensions": apq(CATALOG_ID)},
    "manifest id as documentId": {"documentId": CATALOG_ID},
    "manifest id as documentId sha256:<hex>": {"documentId": f"sha256:{CATALOG_ID}"},
    "manifest id in capitals": {"documentId": CATALOG_ID.upper()},
    "unknown id as persistedQuery.sha256Hash": {"extensions": apq(sha256(COUNT))},
    "unknown id as documentId": {"documentId": sha256(COUNT)},
    "malformed persistedQuery.sha256Hash": {"extensions": apq("abc")},
    "malformed documentId": {"documentId": "md5:" + "0" * 32},
}
EXPECTED = {
    "off": {
        "query in the manifest": "runs",
        "query not in the manifest": "runs",
        # A manifest id is an automatic persisted query's hash like any other: not registered.
        "manifest id as persistedQuery.sha256Hash": "not found",
        # documentId is not read: the request has no document.
        "manifest id as documentId": "no query",
        "manifest id as documentId sha256:<hex>": "no query",
        "manifest id in capitals": "no query",
        "unknown id as persistedQuery.sha256Hash": "not found",
        "unknown id as documentId": "no query",
        "malformed persistedQuery.sha256Hash": "malformed hash",
        "malformed documentId": "no query",
    },
    "prefer": {
        "query in the manifest": "runs",
        "query not in the manifest": "runs",
        "manifest id as persistedQuery.sha256Hash": "runs",
        "manifest id as documentId": "runs",
        "manifest id as documentId sha256:<hex>": "runs",
        "manifest id in capitals": "runs",
        "unknown id as persistedQuery.sha256Hash": "not found",
        "unknown id as documentId": "not found",
        "malformed persistedQuery.sha256Hash": "malformed hash",
        "malformed documentId": "malformed documentId",
    },
    "only": {
        "query in the manifest": "runs",
        "query not in the manifest": "not trusted",
        "manifest id as persistedQuery.sha256Hash": "runs",
        "manifest id as documentId": "runs",
        "manifest id as documentId sha256:<hex>": "runs",
        "manifest id in capitals": "runs",
        "unknown id as persistedQuery.sha256Hash": "not found",
        "unknown id as documentId": "not found",
        "malformed persistedQuery.sha256Hash": "malformed hash",
        "malformed documentId": "malformed documentId",
    },
}


def send(client, method: str, parameters: dict, accept: str = "application/json"):
    if method == "GET":
        params = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in parameters.items()}
        return client.get("/graphql/", params, headers={"Accept": accept})
    return client.post("/graphql/", parameters, content_type="application/json")


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("request_name", list(REQUESTS))
@pytest.mark.parametrize("mode", MODES)
def test_what_each_mode_runs(client, django_assert_num_queries, mode, request_name, method):
    ProductFactory.create_batch(2)
    expected = EXPECTED[mode][request_name]

    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS=mode):
        if expected == "runs":
            response = send(client, method, REQUESTS[request_name])
        else:
            with django_assert_num_queries(0):  # nothing of a refused request runs
                response = send(client, method, REQUESTS[request_name])

    body = response.json()
    if expected == "runs":
        assert response.status_code == 200
        assert "errors" not in body, body
        assert body["data"]["products"]["totalCount"] == 2
    elif expected == "no query":
        assert response.status_code == 400
        assert body["errors"][0]["extensions"]["fields"] == {
            "query": ["The request has no `query`."]
        }
    else:
        assert response.status_code == 200
        assert "data" not in body
        if expected == "not found":
            assert body == NOT_FOUND
        elif expected == "not trusted":
            assert body == NOT_TRUSTED
        else:
            (error,) = body["errors"]
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            field = "documentId" if expected == "malformed documentId" else "extensions"
            assert error["extensions"]["fields"] == {field: [error["message"]]}


@pytest.mark.django_db
def test_prefer_serves_a_manifest_id_from_the_manifest_and_off_from_the_cache(client):
    # A different document stored under the manifest's id: whichever answers shows who served it.
    cache.set(cache_key(CATALOG_ID), "query Catalog { me { id } }")
    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="prefer"):
        preferred = send(client, "POST", {"extensions": apq(CATALOG_ID)})
    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="off"):
        automatic = send(client, "POST", {"extensions": apq(CATALOG_ID)})

    assert preferred.json()["data"]["products"]["totalCount"] == 0
    assert automatic.json() == {"data": {"me": None}}


@pytest.mark.django_db
def test_prefer_registers_other_documents_and_not_the_manifests(client):
    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="prefer"):
        send(client, "POST", {"query": COUNT, "extensions": apq(sha256(COUNT))})
        send(client, "POST", {"query": CATALOG, "extensions": apq(CATALOG_ID)})
        by_hash = send(client, "GET", {"extensions": apq(sha256(COUNT))})

    assert by_hash.json() == {"data": {"products": {"totalCount": 0}}}
    assert cache.get(cache_key(sha256(COUNT))) == COUNT
    assert cache.get(cache_key(CATALOG_ID)) is None


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_only_registers_nothing(client, django_assert_num_queries, method):
    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="only"):
        with django_assert_num_queries(0):
            refused = send(client, method, {"query": COUNT, "extensions": apq(sha256(COUNT))})
        accepted = send(client, method, {"query": CATALOG, "extensions": apq(CATALOG_ID)})
    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="prefer"):
        later = send(client, method, {"extensions": apq(sha256(COUNT))})

    assert refused.status_code == 200
    assert refused.json() == NOT_TRUSTED
    assert accepted.json()["data"]["products"]["totalCount"] == 0
    assert later.json() == NOT_FOUND
    assert cache.get(cache_key(sha256(COUNT))) is None


@pytest.mark.django_db
def test_only_refuses_a_manifest_document_sent_with_other_whitespace(client):
    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="only"):
        response = send(client, "POST", {"query": CATALOG + "\n"})
    assert response.json() == NOT_TRUSTED


@pytest.mark.django_db
def test_only_refuses_introspection_as_any_document_outside_the_manifest(client):
    introspection = {"query": "{ __schema { queryType { name } } }"}
    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="only", GRAPHQL_INTROSPECTION=True):
        refused = send(client, "POST", introspection)
    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="prefer"):
        answered = send(client, "POST", introspection)
    assert refused.json() == NOT_TRUSTED
    assert answered.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["prefer", "only"])
def test_a_document_id_is_sent_alone(client, mode):
    with_query = {"documentId": CATALOG_ID, "query": CATALOG}
    with_hash = {"documentId": CATALOG_ID, "extensions": apq(CATALOG_ID)}
    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS=mode):
        for parameters in (with_query, with_hash):
            (error,) = send(client, "POST", parameters).json()["errors"]
            assert error["extensions"] == {
                "code": "BAD_USER_INPUT",
                "fields": {
                    "documentId": ["documentId is sent alone, without query or persistedQuery"]
                },
            }


@pytest.mark.django_db
def test_a_get_with_a_document_id_is_an_api_call_not_graphiql(client):
    ProductFactory()
    response = send(client, "GET", {"documentId": CATALOG_ID}, accept="text/html,*/*")
    assert response["Content-Type"] == "application/json"
    assert response.json()["data"]["products"]["totalCount"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["prefer", "only"])
def test_a_manifest_mutation_by_id_over_get_is_refused_with_405(client, mode):
    user = UserFactory()
    update_profile = sha256(operation("UpdateProfile"))
    variables = json.dumps({"input": {"name": "Changed"}})
    client.force_login(user)
    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS=mode):
        response = client.get("/graphql/", {"documentId": update_profile, "variables": variables})
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    user.refresh_from_db()
    assert user.name != "Changed"


@pytest.mark.django_db
def test_a_manifest_id_runs_with_its_variables_and_operation_name(client):
    for sku in ("A-1", "A-2", "B-1"):
        ProductFactory(sku=sku)
    parameters = {
        "documentId": CATALOG_ID,
        "variables": {"search": "B-1"},
        "operationName": "Catalog",
    }
    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="only"):
        response = send(client, "POST", parameters)
    edges = response.json()["data"]["products"]["edges"]
    assert [edge["node"]["sku"] for edge in edges] == ["B-1"]
    assert response.wsgi_request.graphql_operation_name == "Catalog"


# --- over the WebSocket -------------------------------------------------------------------

WATCH_ORDER_ID = sha256(operation("WatchOrder"))
# A subscription the manifest does not hold.
WATCH_STATUS = "subscription WatchStatus($id: ID!) { orderUpdated(id: $id) { id status } }"


def bearer(user) -> str:
    return tokens.token_obtain(
        email=user.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token


async def first_answers(token: str, payloads: list[dict], protocol="graphql-transport-ws"):
    """The first message each operation gets, one operation after another on one connection
    (ids "1", "2", ...)."""
    ws = WebsocketCommunicator(application, "/graphql/", subprotocols=[protocol])
    assert (await ws.connect())[0]
    await ws.send_json_to(
        {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    )
    assert (await ws.receive_json_from())["type"] == "connection_ack"
    start = "subscribe" if protocol == "graphql-transport-ws" else "start"
    answers = []
    for number, payload in enumerate(payloads, start=1):
        await ws.send_json_to({"id": str(number), "type": start, "payload": payload})
        answer = await ws.receive_json_from(timeout=5)
        while answer.get("id") != str(number):  # the legacy protocol's keep-alive
            answer = await ws.receive_json_from(timeout=5)
        answers.append(answer)
    await ws.disconnect()
    return answers


def watched(answer: dict) -> str:
    assert answer["type"] in ("next", "data"), answer
    return answer["payload"]["data"]["orderUpdated"]["status"]


@pytest.mark.django_db(transaction=True)
def test_under_only_a_subscription_runs_by_its_manifest_id_and_nothing_else_does():
    user = UserFactory()
    order = OrderFactory(user=user)
    variables = {"id": to_base64("Order", order.pk)}
    payloads = [
        {"query": WATCH_STATUS, "variables": variables},
        {"documentId": WATCH_ORDER_ID, "variables": variables},
        {"extensions": apq(WATCH_ORDER_ID), "variables": variables},
        {"query": operation("WatchOrder"), "variables": variables},
        {"documentId": sha256(WATCH_STATUS), "variables": variables},
        {"documentId": "not-an-id", "variables": variables},
    ]

    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="only"):
        answers = asyncio.run(first_answers(bearer(user), payloads))

    refused, by_document_id, by_hash, by_text, unknown, malformed = answers
    assert refused == {
        "id": "1",
        "type": "error",
        "payload": [
            {
                "message": "Only the documents of this server's manifest run here: send one's id.",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ],
    }
    assert [watched(a) for a in (by_document_id, by_hash, by_text)] == ["CONFIRMED"] * 3
    assert unknown["type"] == "error"
    assert unknown["payload"] == NOT_FOUND["errors"]
    assert malformed["type"] == "error"
    assert malformed["payload"][0]["extensions"]["fields"] == {
        "documentId": ["documentId must be sha256:<hex> or a SHA-256 hex digest"]
    }


@pytest.mark.django_db(transaction=True)
def test_under_prefer_any_subscription_runs_and_an_id_is_the_manifests():
    user = UserFactory()
    order = OrderFactory(user=user)
    variables = {"id": to_base64("Order", order.pk)}
    payloads = [
        {"query": WATCH_STATUS, "variables": variables},
        {"documentId": f"sha256:{WATCH_ORDER_ID}", "variables": variables},
        # No automatic persisted queries over the WebSocket: an unknown hash is not found.
        {"extensions": apq(sha256(WATCH_STATUS)), "variables": variables},
    ]

    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="prefer"):
        free, by_id, unknown = asyncio.run(first_answers(bearer(user), payloads))

    assert watched(free) == watched(by_id) == "CONFIRMED"
    assert unknown["payload"] == NOT_FOUND["errors"]


@pytest.mark.django_db(transaction=True)
def test_the_legacy_protocol_is_held_to_the_manifest_too():
    user = UserFactory()
    order = OrderFactory(user=user)
    variables = {"id": to_base64("Order", order.pk)}
    payloads = [
        {"query": WATCH_STATUS, "variables": variables},
        {"documentId": WATCH_ORDER_ID, "variables": variables},
    ]

    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="only"):
        refused, by_id = asyncio.run(first_answers(bearer(user), payloads, protocol="graphql-ws"))

    assert refused == {
        "id": "1",
        "type": "error",
        "payload": {
            "message": "Only the documents of this server's manifest run here: send one's id.",
            "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
        },
    }
    assert watched(by_id) == "CONFIRMED"


@pytest.mark.django_db  # the closing connection returns the database connection
def test_an_operation_before_connection_ack_is_refused_by_the_protocol_not_the_manifest():
    async def scenario():
        ws = WebsocketCommunicator(application, "/graphql/", subprotocols=["graphql-transport-ws"])
        assert (await ws.connect())[0]
        payload = {"query": WATCH_STATUS}
        await ws.send_json_to({"id": "1", "type": "subscribe", "payload": payload})
        closed = await ws.receive_output(timeout=2)
        await ws.wait()
        return closed

    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="only"):
        closed = asyncio.run(scenario())
    assert (closed["type"], closed["code"]) == ("websocket.close", 4401)


@pytest.mark.django_db(transaction=True)
def test_off_leaves_the_websocket_as_it_was_an_id_alone_is_no_message_it_reads():
    token = bearer(UserFactory())

    async def scenario():
        ws = await signed_in(token)
        payload = {"documentId": WATCH_ORDER_ID, "variables": {}}
        await ws.send_json_to({"id": "1", "type": "subscribe", "payload": payload})
        closed = await ws.receive_output(timeout=2)
        await ws.wait()
        return closed

    with override_settings(GRAPHQL_TRUSTED_DOCUMENTS="off"):
        closed = asyncio.run(scenario())
    assert (closed["type"], closed["code"]) == ("websocket.close", 4400)
