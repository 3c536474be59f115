"""Tracing and metrics with OpenTelemetry.

Tracing: one trace follows a complaint from the inbound request through the store (the W3C
context is saved with each event), the relay's publish (continued from the stored context), every
consumer's processing and the events it stores in reaction, to the notification send. The exporter
is configured by the standard variables: `OTEL_TRACES_EXPORTER` = `otlp` (with the
`OTEL_EXPORTER_OTLP_*` variables), `console` or `none` (the default for local development).
A service that exports nothing records no spans (ids still propagate); `OTEL_TRACES_SAMPLER`
chooses otherwise. Sampling is parent-based, so export from every service or from none.

Metrics: OpenTelemetry instruments read by a Prometheus endpoint per service
(`ADUAN_METRICS_PORT`; 0 disables it).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

log = logging.getLogger(__name__)

TRACER_NAME = "aduan"
_configured_service: str | None = None


def configure_tracing(service: str, extra_processors: list[SpanProcessor] | None = None) -> None:
    """Install the process's tracer provider once (composition roots call this first)."""
    global _configured_service
    if _configured_service is not None:
        return
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    traces_file = os.environ.get("ADUAN_TRACES_FILE")
    exported = exporter_name in {"otlp", "console"} or bool(traces_file or extra_processors)
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": f"aduan-{service}", "service.namespace": "aduan"}
        ),
        sampler=None if exported else unexported_sampler(),
    )
    if exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif exporter_name == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    if traces_file:
        # One JSON line per finished span, written at once: for debugging and the e2e tests.
        provider.add_span_processor(
            SimpleSpanProcessor(JsonLinesSpanExporter(traces_file, service))
        )
    for processor in extra_processors or []:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    _configured_service = service


def unexported_sampler() -> Sampler | None:
    """With nothing to export spans to, record none: trace and span ids still propagate (logs,
    envelopes and peers keep their correlation) but no span is built, which costs a noticeable
    share of each call's CPU. OTEL_TRACES_SAMPLER, when set, still decides."""
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None  # the SDK reads it
    return ALWAYS_OFF


class JsonLinesSpanExporter(SpanExporter):
    def __init__(self, path: str, service: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.service = service
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for span in spans:
            context = span.get_span_context()
            lines.append(
                json.dumps(
                    {
                        "service": self.service,
                        "name": span.name,
                        "trace_id": format(context.trace_id, "032x") if context else "",
                        "span_id": format(context.span_id, "016x") if context else "",
                        "parent_id": format(span.parent.span_id, "016x") if span.parent else "",
                        "kind": span.kind.name,
                        "status": span.status.status_code.name,
                    }
                )
            )
        with self._lock, open(self.path, "a", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_trace_headers() -> dict[str, str]:
    """The W3C `traceparent` (and `tracestate`) of the active span, to store with an event."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier


def active_trace_context(metadata: Mapping[str, Any] | None = None) -> dict[str, str]:
    """`traceparent`/`tracestate` for a CommandContext: the active span (the gRPC server span,
    child of the caller's), else what the caller sent."""
    active = current_trace_headers()
    if "traceparent" not in active and metadata:
        active = {k: str(metadata[k]) for k in ("traceparent", "tracestate") if metadata.get(k)}
    return {
        "traceparent": active.get("traceparent", ""),
        "tracestate": active.get("tracestate", ""),
    }


@contextmanager
def continued_span(
    name: str,
    traceparent: str,
    tracestate: str = "",
    kind: SpanKind = SpanKind.INTERNAL,
    **attributes: Any,
) -> Iterator[Span]:
    """A span that continues the trace whose context was stored with an event."""
    carrier = {"traceparent": traceparent} if traceparent else {}
    if tracestate:
        carrier["tracestate"] = tracestate
    parent = extract(carrier) if carrier else otel_context.get_current()
    with tracer().start_as_current_span(
        name, context=parent, kind=kind, attributes=attributes
    ) as span:
        yield span


def start_continued_span(
    name: str,
    traceparent: str,
    tracestate: str = "",
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: dict[str, Any] | None = None,
) -> Span:
    """Like continued_span, for a span the caller ends itself (e.g. after a batch's PubAcks)."""
    carrier = {"traceparent": traceparent} if traceparent else {}
    if tracestate:
        carrier["tracestate"] = tracestate
    return tracer().start_span(
        name, context=extract(carrier) if carrier else None, kind=kind, attributes=attributes
    )


def trace_headers_of(span: Span) -> dict[str, str]:
    carrier: dict[str, str] = {}
    inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def client_interceptors() -> list[Any]:
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return list(aio_client_interceptors())  # type: ignore[no-untyped-call]


# -- metrics ------------------------------------------------------------------------------------

_meter_provider: MeterProvider | None = None


def configure_metrics(service: str, port: int) -> None:
    """Serve Prometheus metrics on `port` (0: keep instruments but serve nothing)."""
    global _meter_provider
    if _meter_provider is not None:
        return
    readers = []
    if port:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        start_http_server(port, addr=os.environ.get("ADUAN_METRICS_HOST", "127.0.0.1"))
        readers.append(PrometheusMetricReader())
    _meter_provider = MeterProvider(
        metric_readers=readers, resource=Resource.create({"service.name": f"aduan-{service}"})
    )
    metrics.set_meter_provider(_meter_provider)
    log.info("metrics configured", extra={"metrics_port": port})


def meter() -> metrics.Meter:
    return metrics.get_meter(TRACER_NAME)


def record_span_error(span: Span, error: BaseException) -> None:
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
