"""Traces (OpenTelemetry), exported over OTLP/HTTP where `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

Each process that serves or works calls `setup` itself, once it runs: backend/asgi.py and
wsgi.py when they are imported (gunicorn imports the app in each worker, after its fork), and
backend/celery.py in each process that runs tasks (each prefork child after its fork). The
exporter's thread and connections are then the process's own. Without the endpoint
(settings.TRACING off) `setup` does nothing: no tracer provider, no instrumentation, nothing
imported from the SDK; requests and tasks run exactly as without tracing.

With it, the libraries' own instrumentations make the spans: Django (a server span per request,
named by its route, continuing a `traceparent` the client sent), psycopg (one per SQL
statement), redis (one per command: the cache, the event notices, the broker) and Celery (a
span where a task is sent and one where it runs, the trace context carried in the task's
headers): `createOrder`, its `process_order` task and the confirmation email's task are one
trace. The GraphQL operation span is the schema's (schema/core/tracing.py). SQL and Redis
outside any request or task (health probes, a WebSocket's reads) make no traces.

The standard variables configure the rest as the SDK reads them: OTEL_SERVICE_NAME (default
here `shop-web` or `shop-worker`), OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and its
argument, OTEL_EXPORTER_OTLP_HEADERS and _TIMEOUT, OTEL_BSP_* (batching),
OTEL_PYTHON_DJANGO_EXCLUDED_URLS (default `healthz`); OTEL_SDK_DISABLED=true turns tracing off.
The protocol is http/protobuf.
"""

from __future__ import annotations

import logging
import os
import threading

from django.conf import settings
from opentelemetry import trace

WEB, WORKER = "shop-web", "shop-worker"
# Health probes make no traces unless told otherwise.
DEFAULT_EXCLUDED_URLS = "healthz"

_lock = threading.Lock()
_installed = False


def setup(service_name: str) -> bool:
    """Traces this process when settings.TRACING is on (once); returns whether it traces."""
    if not settings.TRACING:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return install(lambda: BatchSpanProcessor(OTLPSpanExporter()), service_name)


def install(make_processor, service_name: str) -> bool:
    """Sets the process's tracer provider, its spans handed to `make_processor()`'s processor,
    and instruments the libraries; the first call only (the tests keep spans in memory)."""
    global _installed
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    with _lock:
        if _installed:
            return True
        resource = Resource.create()
        if resource.attributes.get(SERVICE_NAME, "").startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: service_name}))
        provider = TracerProvider(resource=resource)  # its sampler from OTEL_TRACES_SAMPLER
        provider.sampler = _without_orphan_client_spans(provider.sampler)
        provider.add_span_processor(make_processor())
        trace.set_tracer_provider(provider)
        instrument()
        _installed = True
    return True


def _without_orphan_client_spans(configured):
    """The configured sampler, except that an SQL statement or a Redis command outside any
    request or task (a health probe, a WebSocket's reads, a connection's set-up) is dropped:
    each would be a trace of a single span."""
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
    from opentelemetry.trace import SpanKind

    class WithoutOrphanClientSpans(Sampler):
        def should_sample(self, parent_context, trace_id, name, kind=None, *args, **kwargs):
            if kind is SpanKind.CLIENT:
                parent = trace.get_current_span(parent_context).get_span_context()
                if not parent.is_valid:
                    return SamplingResult(Decision.DROP)
            return configured.should_sample(parent_context, trace_id, name, kind, *args, **kwargs)

        def get_description(self) -> str:
            return f"WithoutOrphanClientSpans{{{configured.get_description()}}}"

    return WithoutOrphanClientSpans()


def _instrumentors() -> dict:
    """Each instrumentation (one instance per class) and its options."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    excluded = os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS", DEFAULT_EXCLUDED_URLS)
    return {
        # The server span is a middleware, placed first: a Django handler made before this
        # (it reads MIDDLEWARE once) has none.
        DjangoInstrumentor(): {"excluded_urls": excluded},
        PsycopgInstrumentor(): {},
        RedisInstrumentor(): {},
        CeleryInstrumentor(): {},
    }


def instrument() -> None:
    for instrumentor, options in _instrumentors().items():
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(**options)


def uninstrument() -> None:
    """Unwraps the libraries again (the tests). Connections opened meanwhile stay traced."""
    for instrumentor in _instrumentors():
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


class TraceContextLogFilter(logging.Filter):
    """Puts the current span's `trace_id` and `span_id` (hex, as trace viewers show them) on a
    log record logged inside a span; a record logged outside any (tracing off) has neither."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True
