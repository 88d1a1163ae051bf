"""GraphiQL's page: our template, its assets (local, else the pinned versions from a CDN), and
the preloaded operations: the apps' own documents (clients/operations/)."""

import json
import re

from graphql import parse, print_ast, validate

from schema import graphiql
from schema.core import operations
from schema.schema import schema

LOCK = graphiql.GRAPHIQL_FRONTEND / "package-lock.json"


def definitions(document: str) -> dict[str, str]:
    return {d.name.value: print_ast(d) for d in parse(document).definitions}


def test_graphiql_preloads_every_operation_the_apps_send_catalog_first():
    files = operations.operation_files()
    apps_send = definitions("\n".join(path.read_text() for path in files))
    preloaded = definitions(operations.graphiql_document())
    assert preloaded == apps_send
    # The subscription demo needs an order to watch and a change to see.
    assert {"Catalog", "PlaceOrder", "WatchOrder", "CancelOrder", "ObtainToken"} <= set(preloaded)
    first = parse(operations.graphiql_document()).definitions[0]
    assert first.name.value == "Catalog"


def test_preloaded_document_is_valid_against_the_schema():
    assert validate(schema._schema, parse(operations.graphiql_document())) == []


def graphiql_page(client) -> str:
    response = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def asset_urls(html: str) -> list[str]:
    return re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', html)


def test_page_preloads_the_operations_and_serves_local_assets(client, monkeypatch):
    monkeypatch.setattr(graphiql.finders, "find", lambda path: f"/built/{path}")
    html = graphiql_page(client)
    document = re.search(
        r'<script id="graphiql-default-document" type="application/json">(.*?)</script>',
        html,
        re.S,
    )
    assert json.loads(document.group(1)) == operations.graphiql_document()
    urls = asset_urls(html)
    assert "/static/graphiql/graphiql/graphiql.min.js" in urls
    assert "/static/graphiql/graphql-ws/umd/graphql-ws.min.js" in urls
    assert len(urls) == 8
    assert all(url.startswith("/static/graphiql/") for url in urls)
    assert "https://" not in html


def test_page_falls_back_to_the_pinned_versions_on_a_cdn_when_assets_are_not_built(
    client, monkeypatch
):
    monkeypatch.setattr(graphiql.finders, "find", lambda path: None)
    urls = asset_urls(graphiql_page(client))
    assert "https://cdn.jsdelivr.net/npm/graphiql@3.8.3/graphiql.min.js" in urls
    assert "https://cdn.jsdelivr.net/npm/@graphiql/plugin-explorer@3.2.5/dist/index.umd.js" in urls
    assert len(urls) == 8
    assert all(url.startswith("https://cdn.jsdelivr.net/npm/") for url in urls)


def test_cdn_versions_are_the_locked_ones():
    locked = json.loads(LOCK.read_text())["packages"]
    for package, version in graphiql._pinned_versions().items():
        assert locked[f"node_modules/{package}"]["version"] == version, package
