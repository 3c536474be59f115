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
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import grpc
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

from aduan.service.rpchandlers import HandlerInterceptor, behaviour_of, responses_of, with_behaviour

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


def server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    return [TracingServerInterceptor(), RpcMetricsInterceptor()]


# The statuses a server span reports as an error; every other code leaves it unset (what the
# OpenTelemetry gRPC instrumentation does, so that dashboards keep their meaning).
SERVER_ERROR_CODES = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


class TracingServerInterceptor(HandlerInterceptor):
    """One SERVER span per RPC, child of the caller's W3C trace context, current while the
    handler's code runs (servicers store it with the events they save).

    It replaces the OpenTelemetry instrumentation's aio interceptor, whose stream wrapper keeps a
    context attached across `yield`: when a caller drops a stream while the handler waits at a
    `yield` (grpcurl drops its reflection stream), the generator is closed later from another
    task, the detach fails and two "Failed to detach context" errors are logged. Here a stream's
    span is current only around each step of the handler, within one await, and is ended
    without a detach. Span name and attributes are the instrumentation's.
    """

    def __init__(self) -> None:
        self._tracer = tracer()

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        inner = behaviour_of(handler)
        start = self._start

        if not handler.response_streaming:

            async def single(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                span, current = start(method, context)
                token = otel_context.attach(current)
                try:
                    return await inner(request, context)
                except Exception as error:
                    _record_unless_abort(span, error)
                    raise
                finally:
                    otel_context.detach(token)
                    _end_server_span(span, context)

            return with_behaviour(handler, single)

        async def streamed(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            span, current = start(method, context)
            responses = responses_of(inner, request, context)
            try:
                while True:
                    token = otel_context.attach(current)
                    try:
                        response = await anext(responses)
                    except StopAsyncIteration:
                        break
                    finally:
                        otel_context.detach(token)
                    yield response
            except Exception as error:
                _record_unless_abort(span, error)
                raise
            finally:
                _end_server_span(span, context)

        return with_behaviour(handler, streamed)

    def _start(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> tuple[Span, otel_context.Context]:
        """The server span and the context to run the handler in: the caller's (trace and
        baggage, from the metadata) with the span current."""
        metadata = {
            str(key): value
            for key, value in (context.invocation_metadata() or ())
            if isinstance(value, str)
        }
        remote = extract(metadata)
        span = self._tracer.start_span(
            method,
            context=remote,
            kind=SpanKind.SERVER,
            attributes=_server_span_attributes(method, metadata, context.peer()),
        )
        return span, trace.set_span_in_context(span, remote)


def _server_span_attributes(method: str, metadata: Mapping[str, str], peer: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "rpc.system": "grpc",
        "rpc.grpc.status_code": grpc.StatusCode.OK.value[0],
    }
    if method:
        service, _, name = method.lstrip("/").partition("/")
        attributes["rpc.method"] = name
        attributes["rpc.service"] = service
    if "user-agent" in metadata:
        attributes["rpc.user_agent"] = metadata["user-agent"]
    # "ipv4:127.0.0.1:57284", "ipv6:[::1]:57284" (the first of a comma-separated list); a unix
    # socket has no address to report.
    if peer and not peer.startswith("unix:"):
        address = peer.split(",")[0].split(":", 1)[-1]
        ip, _, port = address.rpartition(":")
        if ip:
            ip = unquote(ip)
            attributes["net.peer.ip"] = ip
            attributes["net.peer.port"] = port
            if ip in ("[::1]", "127.0.0.1"):
                attributes["net.peer.name"] = "localhost"
    return attributes


def _record_unless_abort(span: Span, error: Exception) -> None:
    # An abort is the handler's answer, already in the status code; anything else is a failure
    # worth its traceback on the span.
    if not isinstance(error, grpc.aio.AbortError):
        span.record_exception(error)


def _end_server_span(span: Span, context: grpc.aio.ServicerContext[Any, Any]) -> None:
    code = context.code()
    if isinstance(code, grpc.StatusCode) and code is not grpc.StatusCode.OK:
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        if code in SERVER_ERROR_CODES:
            span.set_status(Status(StatusCode.ERROR, f"{code}:{context.details()}"))
    span.end()


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


LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]


class RpcMetricsInterceptor(HandlerInterceptor):
    """RPC rate, latency and errors: `aduan_rpc_duration_seconds{method, code}`."""

    def __init__(self) -> None:
        self.duration = meter().create_histogram(
            "aduan.rpc.duration",
            unit="s",
            description="gRPC server call duration by method and status code",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        duration = self.duration

        async def timed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started = time.perf_counter()
            code = "OK"
            try:
                return await inner(request, context)
            except Exception:
                code = context.code().name if context.code() is not None else "UNKNOWN"
                raise
            finally:
                duration.record(time.perf_counter() - started, {"method": method, "code": code})

        return with_behaviour(handler, timed)


def record_span_error(span: Span, error: BaseException) -> None:
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
