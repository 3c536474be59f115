"""The gRPC server's telemetry: one SERVER span per RPC (`TracingServerInterceptor`) and the
RPC duration histogram (`RpcMetricsInterceptor`). Tracing and metrics themselves are configured by
`aduan.core.telemetry`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import unquote

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from aduan.core import telemetry
from aduan.core.telemetry import meter
from aduan.service.rpchandlers import HandlerInterceptor, behaviour_of, responses_of, with_behaviour


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
        self._tracer = telemetry.tracer()

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
