"""deploy/nginx/default.conf in front of the two services as docker-compose.yml runs them, on
one address: WebSocket upgrades to the ASGI app, every other request to the WSGI app.

nginx runs here from the repository's file, with the services' addresses put in.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.live import PRODUCTION, ROOT, free_port, wait_for

pytestmark = pytest.mark.skipif(
    shutil.which("nginx") is None, reason="needs nginx (scripts/install-nginx.sh)"
)
TYPENAME = b'{"query": "{ __typename }"}'


def nginx_config(directory: Path, port: int, web: int, websocket: int) -> Path:
    """The repository's server block with these ports, in a main config of the test's own."""
    server = (ROOT / "deploy" / "nginx" / "default.conf").read_text()
    for found, put in (
        ("listen 8000;", f"listen 127.0.0.1:{port};"),
        ("server web:8000;", f"server 127.0.0.1:{web};"),
        ("server websocket:8000;", f"server 127.0.0.1:{websocket};"),
    ):
        assert server.count(found) == 1, found
        server = server.replace(found, put)
    temp = " ".join(
        f"{kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    path = directory / "nginx.conf"
    path.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\npid {directory / 'nginx.pid'};\nerror_log {directory / 'error.log'};\n"
        + f"events {{}}\nhttp {{\naccess_log off;\n{temp}\n{server}\n}}\n"
    )
    return path


@pytest.fixture
def proxied(start_server, tmp_path) -> Iterator[tuple[int, object, object]]:
    """nginx's port, the WSGI service and the ASGI service behind it."""
    web = start_server("gunicorn-wsgi", **PRODUCTION)
    websocket = start_server("gunicorn", **PRODUCTION)
    port = free_port()
    config = nginx_config(tmp_path, port, web.port, websocket.port)
    log = (tmp_path / "nginx.out").open("w")
    process = subprocess.Popen(
        ["nginx", "-p", str(tmp_path), "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: _answers(port), timeout=30, what="nginx")
        yield port, web, websocket
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(port: int) -> bool:
    try:
        post(port, b"{}")
        return True
    except OSError:
        return False


def post(port: int, body: bytes) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/graphql/", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.headers), json.loads(response.read())
    finally:
        connection.close()


def request_lines(server) -> list[str]:
    """The server's request lines on /graphql/ (its start was checked on /healthz)."""
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    return [
        line["message"]
        for line in lines
        if line.get("logger") == "backend.requests" and " /graphql/ " in line["message"]
    ]


def test_http_goes_to_the_wsgi_service(proxied):
    port, web, websocket = proxied
    before = len(request_lines(web))

    status, headers, body = post(port, TYPENAME)

    assert (status, body) == (200, {"data": {"__typename": "Query"}})
    assert len(headers["X-Request-ID"]) == 32
    wait_for(lambda: len(request_lines(web)) == before + 1, timeout=5, what="the request line")
    assert "POST /graphql/ " in request_lines(web)[-1]
    assert request_lines(websocket) == []


def test_a_websocket_upgrade_goes_to_the_asgi_service(proxied):
    port, _, _ = proxied
    with connect(f"ws://127.0.0.1:{port}/graphql/", subprotocols=["graphql-transport-ws"]) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        # An anonymous connection: the subscription view itself refuses it.
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4403


def test_bodies_over_the_limit_are_refused_in_json_by_the_app_or_the_proxy(proxied):
    port, _, _ = proxied
    over_the_apps = b'{"query": "{ __typename }' + b" " * 200_000 + b'"}'
    over_nginxs = b'{"query": "{ __typename }' + b" " * 2_000_000 + b'"}'

    app_status, app_headers, app_body = post(port, over_the_apps)
    proxy_status, _, proxy_body = post(port, over_nginxs)

    assert app_status == proxy_status == 413
    assert "X-Request-ID" in app_headers  # the app's answer
    for body in (app_body, proxy_body):
        (error,) = body["errors"]
        assert error["extensions"] == {
            "code": "BAD_USER_INPUT",
            "fields": {"body": [error["message"]]},
        }
