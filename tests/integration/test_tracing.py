"""One trace across processes: the web process's createOrder, the worker's processing of the
order and its confirmation email, exported over OTLP/HTTP to a collector the test runs."""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from strawberry.relay import from_base64, to_base64
from websockets.sync.client import connect

from apps.users import tokens
from schema.core.operations import operation
from schema.core.trusted_documents import sha256_of
from tests.factories import PASSWORD, OrderFactory, ProductFactory
from tests.integration.conftest import sent_mail
from tests.live import PRODUCTION, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# The trace context a client (a browser app with its own tracing) sends with createOrder.
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN_ID = "b7ad6b7169203331"


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    service: str
    attributes: dict


class Collector:
    """Receives OTLP/HTTP (protobuf) trace exports, as an OpenTelemetry Collector would."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.lock = threading.Lock()
        received = self._received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received(self.path, ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _received(self, path: str, request: ExportTraceServiceRequest) -> None:
        assert path == "/v1/traces"
        spans = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: _value(a.value) for a in span.attributes}
                    spans.append(
                        Span(
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                            span.name,
                            resource["service.name"],
                            attributes,
                        )
                    )
        with self.lock:
            self.spans += spans

    def trace(self, trace_id: str) -> list[Span]:
        with self.lock:
            return [span for span in self.spans if span.trace_id == trace_id]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(value):
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()
    yield collector
    collector.stop()


def call(server, name: str, variables: dict, **headers: str) -> tuple[dict, httpx.Headers]:
    response = httpx.post(
        server.http_url,
        json={"query": operation(name), "operationName": name, "variables": variables},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response.json()["data"], response.headers


@pytest.mark.parametrize("pool", ["prefork", "threads"])
def test_an_order_its_processing_and_its_email_are_one_trace(
    start_server, start_worker, collector, mail_dir, pool
):
    """Each process of the worker traces: prefork's children (set up after their fork) and the
    worker's own process (threads)."""
    tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    worker = start_worker(pool=pool, wait=False, **tracing)
    server = start_server(**PRODUCTION, **tracing)
    worker.wait_ready()
    product = ProductFactory(stock=5)
    account = {"email": "tia@example.com", "password": PASSWORD}
    call(server, "Register", {"input": account | {"name": "Tia"}})
    token = call(server, "ObtainToken", account)[0]["obtainToken"]["accessToken"]

    items = [{"productId": to_base64("Product", product.pk), "quantity": 1}]
    placed, headers = call(
        server,
        "PlaceOrder",
        {"items": items},
        Authorization=f"Bearer {token}",
        traceparent=f"00-{TRACE_ID}-{CLIENT_SPAN_ID}-01",
    )
    order_id = int(from_base64(placed["createOrder"]["id"])[1])
    wait_for(lambda: sent_mail(mail_dir, f"Order {order_id} confirmed"), what="the email")
    # Each process exports on its own schedule: the web's request span may come after the
    # worker's last one.
    wait_for(
        lambda: (
            {"run/apps.core.tasks.send_email", "POST graphql/"}
            <= {s.name for s in collector.trace(TRACE_ID)}
        ),
        what="the email task's span and the request's",
    )

    spans = collector.trace(TRACE_ID)
    by_name = {span.name: span for span in spans}

    def parent(span: Span) -> Span:
        (found,) = [s for s in spans if s.span_id == span.parent_id]
        return found

    request = by_name["POST graphql/"]
    assert (request.service, request.parent_id) == ("shop-web", CLIENT_SPAN_ID)
    assert request.attributes["graphql.operation.name"] == "PlaceOrder"
    mutation = by_name["mutation"]
    assert parent(mutation) == request
    # Sent after commit, from inside the mutation.
    sent = by_name["apply_async/apps.orders.tasks.process_order"]
    assert (sent.service, parent(sent)) == ("shop-web", mutation)
    processed = by_name["run/apps.orders.tasks.process_order"]
    assert (processed.service, parent(processed)) == ("shop-worker", sent)
    owed = by_name["apply_async/apps.core.tasks.send_email"]
    assert parent(owed) == processed
    emailed = by_name["run/apps.core.tasks.send_email"]
    assert (emailed.service, parent(emailed)) == ("shop-worker", owed)
    # The worker's SQL is in the trace too: the email marked sent, under its task.
    assert any(
        s.parent_id == emailed.span_id and "UPDATE" in s.attributes.get("db.statement", "")
        for s in spans
    )

    # The request's JSON log line names the trace beside the request id.
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    (logged,) = [line for line in lines if line.get("request_id") == headers["X-Request-ID"]]
    assert (logged["trace_id"], logged["span_id"]) == (TRACE_ID, request.span_id)


def test_a_subscription_has_a_span_for_its_start_and_goes_on_as_before(start_server, collector):
    server = start_server(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_BSP_SCHEDULE_DELAY="100")
    order = OrderFactory()
    token = tokens.token_obtain(
        email=order.user.email, password=PASSWORD, client_address="127.0.0.1"
    ).access_token
    order_id = to_base64("Order", order.pk)
    with connect(server.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        subscribe = {"query": operation("WatchOrder"), "variables": {"id": order_id}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        first = json.loads(ws.recv(timeout=15))
        assert first["payload"]["data"]["orderUpdated"]["status"] == "PENDING"
        # Exported while the subscription goes on: the span is its start, not its life.
        wait_for(
            lambda: any(s.name == "subscription" for s in collector.spans),
            what="the subscription's span",
        )
        call(server, "CancelOrder", {"id": order_id}, Authorization=f"Bearer {token}")
        changed = json.loads(ws.recv(timeout=15))
        assert changed["payload"]["data"]["orderUpdated"]["status"] == "CANCELLED"
    (started,) = [s for s in collector.spans if s.name == "subscription"]
    assert started.service == "shop-web"
    assert started.attributes["graphql.operation.name"] == "WatchOrder"
    assert started.attributes["graphql.document.id"] == sha256_of(operation("WatchOrder"))
