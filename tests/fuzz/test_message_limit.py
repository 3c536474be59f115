"""The gRPC message limit is the configured one (ADUAN_MAX_MESSAGE_BYTES), not a library default:
a server started with a small limit refuses a request just over it with RESOURCE_EXHAUSTED and
answers one under it."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aduan.core.settings import ServiceSettings
from aduan.service.runtime import ServiceRuntime

pytestmark = pytest.mark.integration

LIMIT = 64 * 1024


def test_the_default_limit_is_four_mebibytes() -> None:
    assert ServiceSettings.from_env("intake", {}).max_message_bytes == 4 * 1024 * 1024


async def test_the_configured_limit_is_enforced_by_the_server() -> None:
    settings = ServiceSettings.from_env(
        "routing",
        {
            "ADUAN_GRPC_PORT": "0",
            "ADUAN_METRICS_PORT": "0",
            "ADUAN_JWT_SECRET": "message-limit-secret-0123456789abcdef",
            "ADUAN_MAX_MESSAGE_BYTES": str(LIMIT),
        },
    )
    runtime = ServiceRuntime(settings=settings, service_names=[], registrars=[])
    await runtime.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{runtime.bound_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            # The service name is free text: the size of the request is ours to choose. Under
            # the limit the health servicer answers (it knows no such service).
            with pytest.raises(grpc.aio.AioRpcError) as answered:
                await health.Check(health_pb2.HealthCheckRequest(service="x" * (LIMIT - 100)))
            assert answered.value.code() == grpc.StatusCode.NOT_FOUND
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await health.Check(health_pb2.HealthCheckRequest(service="x" * (LIMIT + 1)))
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            # And it keeps serving.
            await health.Check(health_pb2.HealthCheckRequest(service=""))
    finally:
        await runtime.shutdown()
