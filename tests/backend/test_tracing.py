"""Traces: the span tree of an operation, recorded in memory; and nothing at all without an
OTLP endpoint."""

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.db import connection
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pythonjsonlogger.json import JsonFormatter

from apps.catalog.models import Product
from apps.core.request_id import RequestIdLogFilter
from apps.orders import selectors as order_selectors
from backend import telemetry
from schema.core import tracing
from schema.core.operations import operation
from schema.core.trusted_documents import sha256_of
from tests.factories import OrderFactory, ProductFactory
from tests.live import ROOT

# Closing the connection (so that it reconnects traced) needs no test transaction around it.
pytestmark = pytest.mark.django_db(transaction=True)

_exporter = InMemorySpanExporter()

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"


@pytest.fixture
def spans(settings, monkeypatch) -> Iterator[InMemorySpanExporter]:
    """Tracing on, as an OTLP endpoint turns it on, with spans kept in memory; the schema's
    extensions as they are then. Off again afterwards."""
    from schema.schema import schema, schema_extensions

    settings.TRACING = True
    telemetry.install(lambda: SimpleSpanProcessor(_exporter), telemetry.WEB)  # once a process
    telemetry.instrument()
    monkeypatch.setattr(schema, "extensions", tuple(schema_extensions()))
    connection.close()  # the next query connects through the instrumented driver
    _exporter.clear()
    yield _exporter
    telemetry.uninstrument()
    connection.close()
    _exporter.clear()


def post(client, document: str, variables: dict | None = None, **headers):
    return client.post(
        "/graphql/",
        {"query": document, "variables": variables or {}},
        content_type="application/json",
        headers=headers,
    )


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def only(spans: list[ReadableSpan], **match) -> ReadableSpan:
    (found,) = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    return found


@pytest.mark.postgres
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled plan", "executed"])
def test_a_query_is_a_server_span_over_its_operation_span_over_its_sql(
    client, spans, settings, compiled
):
    settings.GRAPHQL_COMPILED_OPERATIONS = compiled
    product = ProductFactory(name="Lamp")
    spans.clear()  # the factory's own SQL
    document = operation("Catalog")
    response = post(client, document, {"first": 5})
    assert response.status_code == 200
    assert response.json()["data"]["products"]["edges"][0]["node"]["name"] == product.name

    finished = spans.get_finished_spans()
    server = only(finished, kind=SpanKind.SERVER)
    assert server.parent is None
    assert server.name == "POST graphql/"
    assert server.attributes["http.route"] == "graphql/"
    assert server.attributes[tracing.OPERATION_NAME] == "Catalog"

    (operation_span,) = children(finished, server)
    assert operation_span.name == "query"
    assert operation_span.kind == SpanKind.INTERNAL
    assert dict(operation_span.attributes) == {
        tracing.OPERATION_NAME: "Catalog",
        tracing.OPERATION_TYPE: "query",
        tracing.DOCUMENT_ID: sha256_of(document),
        **({tracing.COMPILED: True} if compiled else {}),
    }
    sql = children(finished, operation_span)
    assert sql, "the operation's SQL is traced under it"
    assert {s.attributes["db.system"] for s in sql} == {"postgresql"}
    assert any("catalog_product" in s.attributes["db.statement"] for s in sql)
    # One trace; no span per field unless asked for.
    assert {s.context.trace_id for s in finished} == {server.context.trace_id}
    assert not [s for s in finished if "." in s.name and s.kind == SpanKind.INTERNAL]


@pytest.mark.postgres
def test_sql_outside_any_request_or_task_makes_no_trace(client, spans):
    """A health probe's, a WebSocket's reads: each statement would be a trace of its own."""
    assert Product.objects.count() == 0
    assert spans.get_finished_spans() == ()
    client.get("/healthz")  # no server span either (OTEL_PYTHON_DJANGO_EXCLUDED_URLS)
    assert spans.get_finished_spans() == ()


def test_a_trace_context_sent_by_the_client_is_continued(client, spans):
    response = post(
        client, "{ products { totalCount } }", traceparent=f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
    )
    assert response.status_code == 200
    server = only(spans.get_finished_spans(), kind=SpanKind.SERVER)
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert format(server.parent.span_id, "016x") == PARENT_SPAN_ID
    operation_span = only(spans.get_finished_spans(), name="query")
    assert tracing.OPERATION_NAME not in operation_span.attributes  # an anonymous operation


def test_errors_are_told_by_their_codes_and_only_unexpected_ones_fail_the_span(
    client, spans, monkeypatch
):
    post(client, '{ node(id: "not-a-global-id") { id } }')
    refused = only(spans.get_finished_spans(), name="query")
    assert refused.attributes[tracing.ERROR_CODES] == ("BAD_USER_INPUT",)
    assert refused.status.status_code == StatusCode.UNSET

    spans.clear()
    post(client, "{ products { ")
    (unparsed,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.INTERNAL]
    assert unparsed.name == "GraphQL Operation"
    assert unparsed.attributes[tracing.ERROR_CODES] == ("GRAPHQL_PARSE_FAILED",)

    spans.clear()
    order = OrderFactory()
    client.force_login(order.user)
    spans.clear()

    def broken():
        raise RuntimeError('relation "orders_order" does not exist: SELECT secret FROM x')

    monkeypatch.setattr(order_selectors, "item_count_by_order", broken)
    response = post(client, "{ orders { edges { node { itemCount } } } }")
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    failed = only(spans.get_finished_spans(), name="query")
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.status.description == "INTERNAL_SERVER_ERROR"
    assert failed.attributes["error.type"] == "INTERNAL_SERVER_ERROR"
    recorded = json.dumps([s.to_json() for s in spans.get_finished_spans()])
    assert "SELECT secret" not in recorded
    assert "does not exist" not in recorded


def test_fields_have_spans_only_where_settings_ask(client, spans, settings, monkeypatch):
    from schema.schema import schema, schema_extensions

    settings.GRAPHQL_TRACE_FIELDS = True
    monkeypatch.setattr(schema, "extensions", tuple(schema_extensions()))
    post(client, "query Count { products { totalCount } }")
    finished = spans.get_finished_spans()
    operation_span = only(finished, name="query")
    field = only(finished, name="Query.products")
    assert field.parent.span_id == operation_span.context.span_id
    assert field.attributes[tracing.FIELD_PATH] == "products"


def test_log_lines_carry_the_trace_and_span_ids_beside_the_request_id(client, spans, caplog):
    """Production's JSON lines: the request's line is logged inside its server span."""
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(handler.format(record))
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s"))
    handler.addFilter(RequestIdLogFilter())
    handler.addFilter(telemetry.TraceContextLogFilter())
    logger = logging.getLogger("backend.requests")
    logger.addHandler(handler)
    try:
        with caplog.at_level(logging.INFO, logger="backend.requests"):
            response = post(client, "{ products { totalCount } }")
            logger.info("outside any request")
    finally:
        logger.removeHandler(handler)
    request_line, outside = (json.loads(line) for line in lines)
    server = only(spans.get_finished_spans(), kind=SpanKind.SERVER)
    assert request_line["request_id"] == response["X-Request-ID"]
    assert request_line["trace_id"] == format(server.context.trace_id, "032x")
    assert request_line["span_id"] == format(server.context.span_id, "016x")
    assert "trace_id" not in outside and "span_id" not in outside


def test_browsers_may_send_a_trace_context_and_read_the_request_id(client):
    preflight = client.options(
        "/graphql/",
        headers={
            "Origin": "http://allowed.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,traceparent,tracestate",
        },
    )
    assert preflight.status_code == 200
    allowed = {h.strip() for h in preflight["Access-Control-Allow-Headers"].split(",")}
    assert {"traceparent", "tracestate", "content-type", "authorization"} <= allowed

    response = post(client, "{ products { totalCount } }", Origin="http://allowed.example")
    assert response["Access-Control-Expose-Headers"] == "X-Request-ID"


PROBE = """
import json, psycopg, weakref
from opentelemetry import trace
from django.conf import settings
import backend.asgi
from backend.celery import app
from celery import signals
from schema.schema import schema
print(json.dumps({
    "provider": type(trace.get_tracer_provider()).__name__,
    "sampler": getattr(trace.get_tracer_provider(), "sampler", None)
    and trace.get_tracer_provider().sampler.get_description(),
    "middleware": [m for m in settings.MIDDLEWARE if "opentelemetry" in m],
    "psycopg_wrapped": hasattr(psycopg.connect, "__wrapped__"),
    "celery_receivers": [
        (r() if isinstance(r, weakref.ReferenceType) else r).__qualname__
        for _, r in signals.before_task_publish.receivers
    ],
    "extensions": [getattr(e, "__name__", "") for e in schema.extensions],
}))
"""


def probe(**environment: str) -> dict:
    """What importing the ASGI app installs, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {"DJANGO_SETTINGS_MODULE": "backend.settings.test"} | environment
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_without_an_endpoint_nothing_is_traced_or_wrapped():
    found = probe()
    assert found["provider"] == "ProxyTracerProvider"
    assert found["middleware"] == []
    assert found["psycopg_wrapped"] is False
    assert found["celery_receivers"] == []
    assert "OperationTracing" not in found["extensions"]


def test_an_endpoint_turns_every_part_on():
    found = probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert found["provider"] == "TracerProvider"
    assert found["sampler"].startswith("WithoutOrphanClientSpans{ParentBased{root:AlwaysOnSampler,")
    assert found["middleware"] == [
        "opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware"
    ]
    assert found["psycopg_wrapped"] is True
    assert found["celery_receivers"] == ["CeleryInstrumentor._trace_before_publish"]
    assert found["extensions"][0] == "OperationTracing"
    assert "FieldTracing" not in found["extensions"]
    assert (
        probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_SDK_DISABLED="true")[
            "provider"
        ]
        == "ProxyTracerProvider"
    )


@pytest.mark.postgres
def test_a_compiled_plan_that_leaves_the_request_to_execution_says_so(client, spans):
    document = operation("Catalog")
    response = post(client, document, {"first": 101})  # past the page size: refused
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    finished = spans.get_finished_spans()
    server = only(finished, kind=SpanKind.SERVER)
    declined, executed = sorted(
        (s for s in children(finished, server) if s.name == "query"), key=lambda s: s.start_time
    )
    assert declined.attributes[tracing.COMPILED] is False
    assert tracing.COMPILED not in executed.attributes
    assert executed.attributes[tracing.ERROR_CODES] == ("BAD_USER_INPUT",)
