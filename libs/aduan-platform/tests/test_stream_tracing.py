"""Server spans through the runtime's interceptors: one per RPC, child of the caller's trace,
current while the handler runs; and an abandoned stream (grpcurl's reflection stream) logs no
"Failed to detach context" error."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from aduan.core import errors, telemetry
from aduan.core.settings import ServiceSettings
from aduan.service.auth import ADMIN, DevTokens, access, bearer_metadata, policy
from aduan.service.runtime import ServiceRuntime
from aduan_devtools.testing.tracing import record_spans

SECRET = "stream-tracing-tests-secret-0123456789"
TOKEN = DevTokens(SECRET).issue(ADMIN)
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
# The caller's trace: version-trace id-span id-flags (sampled).
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
CHUNK = b"x" * 65536


async def current_traceparent(_request: bytes, _context: Any) -> bytes:
    return telemetry.current_trace_headers()["traceparent"].encode()


async def traceparents(_request: bytes, _context: Any) -> AsyncIterator[bytes]:
    for _ in range(2):
        yield telemetry.current_trace_headers()["traceparent"].encode()
        await asyncio.sleep(0)


async def flood(_request: bytes, _context: Any) -> AsyncIterator[bytes]:
    # Sends until flow control stops it: the caller that stops reading and cancels leaves this
    # generator suspended at `yield`, to be closed later from another task.
    while True:
        yield CHUNK


async def broken(_request: bytes, _context: Any) -> bytes:
    raise RuntimeError("a bug")


async def missing(_request: bytes, _context: Any) -> bytes:
    raise errors.NotFoundError("no such complaint")


HANDLERS = {
    "Current": grpc.unary_unary_rpc_method_handler(current_traceparent),
    "Currents": grpc.unary_stream_rpc_method_handler(traceparents),
    "Flood": grpc.unary_stream_rpc_method_handler(flood),
    "Broken": grpc.unary_unary_rpc_method_handler(broken),
    "Missing": grpc.unary_unary_rpc_method_handler(missing),
}


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    # The runtime's interceptor takes its tracer from `telemetry.tracer`.
    return record_spans(monkeypatch)


@pytest.fixture
async def target(spans: InMemorySpanExporter) -> AsyncIterator[str]:
    settings = ServiceSettings.from_env(
        "intake",
        env={"ADUAN_GRPC_PORT": "0", "ADUAN_JWT_SECRET": SECRET, "ADUAN_REFLECTION": "true"},
    )

    def register(server: grpc.aio.Server) -> None:
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler("test.Traced", HANDLERS)]
        )

    runtime = ServiceRuntime(
        settings=settings,
        service_names=[],
        registrars=[register],
        policies=[policy("test.Traced", {name: access(ADMIN) for name in HANDLERS})],
    )
    await runtime.start()
    try:
        yield f"127.0.0.1:{runtime.bound_port}"
    finally:
        await runtime.shutdown()


def metadata() -> tuple[tuple[str, str], ...]:
    return (*bearer_metadata(TOKEN), ("traceparent", TRACEPARENT))


def finished(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = [span for span in spans.get_finished_spans() if span.name == name]
    assert len(found) == 1, [span.name for span in spans.get_finished_spans()]
    return found[0]


async def settle() -> None:
    """Let abandoned generators be collected and closed (the loop does it in a new task)."""
    for _ in range(3):
        await asyncio.sleep(0.1)
        gc.collect()


def detach_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "Failed to detach context" in r.getMessage()]


async def test_a_unary_call_has_a_server_span_child_of_the_callers_current_in_the_handler(
    target: str, spans: InMemorySpanExporter
) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        seen = await channel.unary_unary("/test.Traced/Current")(
            b"", metadata=metadata(), timeout=5
        )

    span = finished(spans, "/test.Traced/Current")
    assert span.kind.name == "SERVER"
    assert format(span.context.trace_id, "032x") == CALLER_TRACE
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == CALLER_SPAN
    attributes = dict(span.attributes or {})
    assert attributes.pop("rpc.user_agent").startswith("grpc-python-asyncio")
    assert int(attributes.pop("net.peer.port")) > 0
    assert attributes == {
        "rpc.system": "grpc",
        "rpc.service": "test.Traced",
        "rpc.method": "Current",
        "rpc.grpc.status_code": 0,
        "net.peer.ip": "127.0.0.1",
        "net.peer.name": "localhost",
    }
    # What the servicer stores with its events is the server span, not the caller's.
    assert seen.decode() == f"00-{CALLER_TRACE}-{format(span.context.span_id, '016x')}-01"


async def test_a_stream_has_one_server_span_current_at_every_step(
    target: str, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_stream("/test.Traced/Currents")(b"", metadata=metadata(), timeout=5)
        seen = [response.decode() async for response in call]
    await settle()

    span = finished(spans, "/test.Traced/Currents")
    assert format(span.context.trace_id, "032x") == CALLER_TRACE
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == CALLER_SPAN
    assert seen == [f"00-{CALLER_TRACE}-{format(span.context.span_id, '016x')}-01"] * 2
    assert detach_failures(caplog) == []


async def test_an_abandoned_stream_logs_no_detach_failure_and_ends_its_span(
    target: str, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_stream("/test.Traced/Flood")(b"", metadata=metadata(), timeout=5)
        assert await call.read() == CHUNK
        await asyncio.sleep(0.2)  # the server fills the window and waits at `yield`
        call.cancel()
        await settle()

    assert detach_failures(caplog) == []
    assert finished(spans, "/test.Traced/Flood").kind.name == "SERVER"


async def test_a_reflection_stream_is_traced_and_logs_no_detach_failure(
    target: str, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        # What grpcurl does: ask, read, and drop the stream without closing it.
        for _ in range(3):
            call = channel.stream_stream(
                REFLECTION,
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )(metadata=(("traceparent", TRACEPARENT),))
            await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
            response = await call.read()
            assert "grpc.health.v1.Health" in {
                service.name for service in response.list_services_response.service
            }
            call.cancel()
        await settle()

    assert detach_failures(caplog) == []
    traced = [span for span in spans.get_finished_spans() if span.name == REFLECTION]
    assert len(traced) == 3
    assert {format(span.context.trace_id, "032x") for span in traced} == {CALLER_TRACE}


async def test_the_status_code_is_on_the_span_and_only_server_faults_are_errors(
    target: str, spans: InMemorySpanExporter
) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        for method in ("Broken", "Missing"):
            with pytest.raises(grpc.aio.AioRpcError):
                await channel.unary_unary(f"/test.Traced/{method}")(
                    b"", metadata=metadata(), timeout=5
                )
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())

    broken = finished(spans, "/test.Traced/Broken")
    assert (broken.attributes or {})["rpc.grpc.status_code"] == grpc.StatusCode.INTERNAL.value[0]
    assert broken.status.status_code == StatusCode.ERROR
    missing = finished(spans, "/test.Traced/Missing")
    assert (missing.attributes or {})["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert missing.status.status_code == StatusCode.UNSET
    check = finished(spans, "/grpc.health.v1.Health/Check")
    assert (check.attributes or {})["rpc.grpc.status_code"] == 0
    assert check.status.status_code == StatusCode.UNSET
