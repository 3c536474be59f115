"""Streaming handlers of either kind pass the runtime's interceptors (tracing, metrics, start-up
gate, auth, error mapping): async generators that yield, and coroutines that `context.write`
(grpc_health's Watch is one)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aduan.core import errors
from aduan.core.settings import ServiceSettings
from aduan.service.auth import ADMIN, DevTokens, access, bearer_metadata, policy
from aduan.service.rpchandlers import behaviour_of, responses_of, with_behaviour
from aduan.service.runtime import ServiceRuntime

SECRET = "stream-handler-tests-secret-0123456789"
TOKEN = DevTokens(SECRET).issue(ADMIN)


async def written(_request: bytes, context: Any) -> None:
    await context.write(b"one")
    await context.write(b"two")


async def written_then_missing(_request: bytes, context: Any) -> None:
    await context.write(b"one")
    raise errors.NotFoundError("complaint 'ADU-1' not found")


async def echoed(requests: AsyncIterator[bytes], _context: Any) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request.upper()


async def echoed_then_missing(
    requests: AsyncIterator[bytes], _context: Any
) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request
    raise errors.NotFoundError("nothing more")


HANDLERS = {
    "Written": grpc.unary_stream_rpc_method_handler(written),
    "WrittenThenMissing": grpc.unary_stream_rpc_method_handler(written_then_missing),
    "Echoed": grpc.stream_stream_rpc_method_handler(echoed),
    "EchoedThenMissing": grpc.stream_stream_rpc_method_handler(echoed_then_missing),
}


@pytest.fixture
async def target() -> AsyncIterator[str]:
    settings = ServiceSettings.from_env(
        "intake", env={"ADUAN_GRPC_PORT": "0", "ADUAN_JWT_SECRET": SECRET}
    )

    def register(server: grpc.aio.Server) -> None:
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler("test.Streams", HANDLERS)]
        )

    runtime = ServiceRuntime(
        settings=settings,
        service_names=[],
        registrars=[register],
        policies=[policy("test.Streams", {name: access(ADMIN) for name in HANDLERS})],
    )
    await runtime.start()
    try:
        yield f"127.0.0.1:{runtime.bound_port}"
    finally:
        await runtime.shutdown()


async def test_health_watch_streams_the_status(target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        call = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service="liveness"), timeout=5
        )
        first = await call.read()
        call.cancel()

    assert first.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_writing_stream_passes_auth_and_reaches_the_caller(target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_stream("/test.Streams/Written")(
            b"", metadata=bearer_metadata(TOKEN), timeout=5
        )
        assert [response async for response in call] == [b"one", b"two"]

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in channel.unary_stream("/test.Streams/Written")(b"", timeout=5):
                pass
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_writing_streams_domain_error_maps_to_its_code(target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_stream("/test.Streams/WrittenThenMissing")(
            b"", metadata=bearer_metadata(TOKEN), timeout=5
        )
        assert await call.read() == b"one"
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call.read()
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert raised.value.details() == "complaint 'ADU-1' not found"


async def test_a_bidirectional_stream_passes_auth_and_maps_its_errors(target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.stream_stream("/test.Streams/Echoed")(
            iter([b"a", b"b"]), metadata=bearer_metadata(TOKEN), timeout=5
        )
        assert [response async for response in call] == [b"A", b"B"]

        failing = channel.stream_stream("/test.Streams/EchoedThenMissing")(
            iter([b"a"]), metadata=bearer_metadata(TOKEN), timeout=5
        )
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for _ in failing:
                pass
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


# -- aduan.service.rpchandlers -------------------------------------------------------------------------


class Writes:
    """A stand-in for a servicer context that records what is written."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    async def write(self, message: bytes) -> None:
        self.written.append(message)


async def collected(behaviour: Any, context: Any) -> list[Any]:
    return [response async for response in responses_of(behaviour, b"", context)]


async def test_responses_of_yields_what_a_generator_yields() -> None:
    async def generator(_request: bytes, _context: Any) -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    def plain(_request: bytes, _context: Any) -> Iterator[bytes]:
        yield b"c"

    assert await collected(generator, Writes()) == [b"a", b"b"]
    assert await collected(plain, Writes()) == [b"c"]


async def test_responses_of_runs_a_writing_coroutine_and_yields_nothing() -> None:
    context = Writes()
    assert await collected(written, context) == []
    assert context.written == [b"one", b"two"]


@pytest.mark.parametrize(
    "make",
    [
        grpc.unary_unary_rpc_method_handler,
        grpc.unary_stream_rpc_method_handler,
        grpc.stream_unary_rpc_method_handler,
        grpc.stream_stream_rpc_method_handler,
    ],
)
def test_with_behaviour_keeps_the_kind_and_the_serializers(make: Any) -> None:
    def original(_request: Any, _context: Any) -> None: ...

    def replacement(_request: Any, _context: Any) -> None: ...

    handler = make(original, request_deserializer=bytes.upper, response_serializer=bytes.lower)
    rebuilt = with_behaviour(handler, replacement)

    assert behaviour_of(handler) is original
    assert behaviour_of(rebuilt) is replacement
    assert (rebuilt.request_streaming, rebuilt.response_streaming) == (
        handler.request_streaming,
        handler.response_streaming,
    )
    assert rebuilt.request_deserializer is bytes.upper
    assert rebuilt.response_serializer is bytes.lower
