"""The body limit and hostile requests through real servers (production settings), each way
HTTP is served: the ASGI app under uvicorn, where Django's ASGI handler would read a whole body
before any middleware (`backend.middleware.BoundedRequestBody` reads at most one byte past the
limit), and the WSGI app under gunicorn, where Django would read a chunked body as empty
(`backend.middleware.BoundedRequestBodyWSGI` reads it, at most one byte past the limit).

Each refusal is a 4xx JSON in GraphQL's shape, and the server's log has the request line and
nothing else: no traceback, no warning (tests/app_server.py reads the log).
"""

import json
import socket

import pytest

LIMIT = 100 * 1024
JSON = {"Content-Type": "application/json"}
TYPENAME = b'{"query": "{ __typename }"}'
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def padded(size: int) -> bytes:
    """A valid request body of `size` bytes (the padding is inside the document)."""
    head, tail = b'{"query": "{ __typename }', b'"}'
    return head + b" " * (size - len(head) - len(tail)) + tail


def assert_refused(server, offset, response, status: int, field: str) -> None:
    assert response.status == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "fields": {field: [error["message"]]}}
    assert len(response.headers["X-Request-ID"]) == 32
    assert server.log_problems(offset, requests=1) == []


def exchange(server, request: bytes) -> bytes:
    """Sends raw bytes; returns the answer the server gives before the request's body is
    complete: its head and its body (by Content-Length, or to the last chunk)."""
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while not _complete(received):
            chunk = sock.recv(65536)
            assert chunk, f"closed after {received!r}"
            received += chunk
        return received


def _complete(received: bytes) -> bool:
    head, separator, body = received.removeprefix(CONTINUE).partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.partition(b":")[2])
    return body.endswith(b"\r\n0\r\n\r\n")  # chunked: the last chunk


# --- the body limit ---------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_at_the_limit_is_served(app_server, chunked):
    offset = app_server.log_offset()
    response = app_server.request("POST", body=padded(LIMIT), headers=JSON, chunked=chunked)
    assert response.status == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    assert app_server.log_problems(offset, requests=1) == []


@pytest.mark.parametrize("size", [LIMIT + 1, 5 * 1024 * 1024])
def test_a_chunked_body_over_the_limit_is_413(app_server, size):
    offset = app_server.log_offset()
    try:
        response = app_server.request("POST", body=padded(size), headers=JSON, chunked=True)
    except (BrokenPipeError, ConnectionResetError):
        # gunicorn answers once it has the limit + 1 bytes, discards at most 64 KB more and
        # closes: a client that sends on regardless sees the connection closed.
        assert app_server.kind == "wsgi"
        assert size > LIMIT + 64 * 1024
        assert app_server.log_problems(offset, requests=1) == []
        (line,) = app_server.log_since(offset)
        assert " status=413 " in json.loads(line)["message"]
        return
    assert_refused(app_server, offset, response, 413, "body")


def test_a_body_over_its_declared_length_limit_is_413(app_server):
    offset = app_server.log_offset()
    response = app_server.request("POST", body=padded(LIMIT + 1), headers=JSON)
    assert_refused(app_server, offset, response, 413, "body")


def test_the_413_comes_before_an_endless_chunked_body_ends(app_server):
    # One chunk past the limit and no last chunk: only a server that stops reading answers.
    chunk = b" " * (LIMIT + 1)
    request = (
        b"POST /graphql/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    )
    offset = app_server.log_offset()
    answer = exchange(app_server, request)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"code":"BAD_USER_INPUT"' in answer
    assert app_server.log_problems(offset, requests=1) == []


def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(app_server):
    # Expect: 100-continue: a server about to read the body would first say "100 Continue".
    request = (
        b"POST /graphql/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n"
    )
    offset = app_server.log_offset()
    answer = exchange(app_server, request)
    # The answer came although the body was never sent. (gunicorn says "100 Continue" as it
    # parses the headers, before the app sees the request; uvicorn only when the app reads.)
    assert answer.removeprefix(CONTINUE).startswith(b"HTTP/1.1 413 ")
    if app_server.kind == "asgi":
        assert not answer.startswith(CONTINUE)
    assert app_server.log_problems(offset, requests=1) == []


# --- hostile requests, as production serves them --------------------------------------------


def test_a_content_type_django_cannot_parse_is_415(app_server):
    # An RFC 2231 parameter in an unknown charset fails Django's request construction (a 500).
    headers = {"Content-Type": "application/json; charset*=bogus''x"}
    offset = app_server.log_offset()
    response = app_server.request("POST", body=TYPENAME, headers=headers)
    assert_refused(app_server, offset, response, 415, "Content-Type")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"query": "{ __typename }\xff"}', "body"),
        (b"[" * 10_000 + b"]" * 10_000, "body"),
        (b'{"query": "query Q($s: String) { __typename }", "variables": {"s": "\\ud800"}}', "s"),
        (b'{"query": "{ __typename }", "operationName": "A\\ud800"}', "operationName"),
        (b'{"query": "{ __typename }", "variables": {"n": ' + b"9" * 5000 + b"}}", "body"),
        (b"null", "body"),
    ],
    ids=["not utf-8", "deep", "surrogate", "surrogate name", "huge number", "null"],
)
def test_a_malformed_body_is_400(app_server, body, field):
    offset = app_server.log_offset()
    response = app_server.request("POST", body=body, headers=JSON)
    assert_refused(app_server, offset, response, 400, field)


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "field"),
    [
        ("PUT", "/graphql/", JSON, 405, "method"),
        ("POST", "/graphql/", {"Content-Type": "text/plain"}, 415, "Content-Type"),
        ("POST", "/graphql/", JSON | {"Accept": "text/html"}, 406, "Accept"),
        ("GET", "/graphql/?query=%ED%A0%80", {}, 400, "query"),
        ("GET", "/graphql/?query=%7B__typename%7D&query=x", {}, 400, "query"),
        ("POST", "/graphql/", JSON | {"Host": "evil.example"}, 400, "Host"),
    ],
    ids=["method", "content type", "accept", "not utf-8", "repeated", "host"],
)
def test_a_malformed_request_is_a_4xx(app_server, method, path, headers, status, field):
    offset = app_server.log_offset()
    body = TYPENAME if method != "GET" else None
    response = app_server.request(method, path, body=body, headers=headers)
    assert_refused(app_server, offset, response, status, field)


def test_a_query_is_served_with_one_log_line(app_server):
    offset = app_server.log_offset()
    response = app_server.request("GET", "/graphql/?query=%7B__typename%7D")
    assert response.json() == {"data": {"__typename": "Query"}}
    (line,) = app_server.log_since(offset)
    assert " status=200 " in json.loads(line)["message"]


# --- what the rest of the request path gives, either way it is served -----------------------


def test_a_cors_preflight_from_an_allowed_origin_is_answered(app_server):
    origin = "http://allowed.example"  # CORS_ALLOWED_ORIGINS of tests/app_server.py
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    response = app_server.request("OPTIONS", headers=headers)
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    other = app_server.request("OPTIONS", headers=headers | {"Origin": "http://other.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_health_check_answers_json_with_a_request_id(app_server):
    response = app_server.request("GET", "/healthz", headers={"X-Request-ID": "probe-1"})
    assert set(response.json()) == {"status", "database", "cache", "broker"}
    assert response.headers["X-Request-ID"] == "probe-1"
