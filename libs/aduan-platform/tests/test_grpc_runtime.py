"""The gRPC scaffold: errors map to status codes in one place, health follows the dependencies,
reflection lists the services, shutdown is graceful."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from eventsourcing.persistence import IntegrityError
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from notes_service import NotesApplication, notes_translator

from aduan.contract.eventlog import EventLogServicer
from aduan.core import errors
from aduan.core.settings import ServiceSettings
from aduan.service.auth import ADMIN, DevTokens, access, bearer_interceptors, policy
from aduan.service.health import HealthCheck
from aduan.service.runtime import ServiceRuntime
from aduan.v1 import eventlog_pb2, eventlog_pb2_grpc

FAILURES: dict[str, Exception] = {
    "Invalid": errors.ValidationError(
        [
            errors.FieldViolation("description", "must be 10 to 5,000 characters"),
            errors.FieldViolation("channel", "required"),
        ]
    ),
    "Missing": errors.NotFoundError("complaint 'ADU-2026-XXXXXX' not found"),
    "Exists": errors.AlreadyExistsError("already filed"),
    "WrongState": errors.InvalidStateError("a resolved complaint cannot be withdrawn"),
    "Conflict": errors.ConcurrencyConflictError("expected version 3, found 4"),
    "StoreConflict": IntegrityError("UNIQUE constraint failed: stored_events.originator_id"),
    "Denied": errors.PermissionDeniedError("not your office"),
    "Anonymous": errors.UnauthenticatedError("missing token"),
    "Bug": RuntimeError("secret internals: password=hunter2"),
}


def failing_handlers() -> grpc.GenericRpcHandler:
    def failing(name: str) -> grpc.RpcMethodHandler:
        async def handler(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
            raise FAILURES[name]

        return grpc.unary_unary_rpc_method_handler(handler)

    return grpc.method_handlers_generic_handler(
        "test.Failures", {name: failing(name) for name in FAILURES}
    )


SECRET = "runtime-tests-secret-0123456789abcdef"
# An auditor (reads EventLogs) who is also an administrator (calls test.Failures).
TOKEN = DevTokens(SECRET).issue(["auditor", "admin"])
FAILURES_POLICY = policy("test.Failures", {name: access(ADMIN) for name in FAILURES})


def authorised_channel(target: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(target, interceptors=bearer_interceptors(lambda: TOKEN))


class Flag:
    def __init__(self, value: bool) -> None:
        self.value = value

    async def check(self) -> bool:
        return self.value


@pytest.fixture
async def runtime(notes_app: NotesApplication) -> AsyncIterator[tuple[ServiceRuntime, Flag]]:
    settings = ServiceSettings.from_env(
        "intake", env={"ADUAN_GRPC_PORT": "0", "ADUAN_JWT_SECRET": SECRET}
    )
    store_ok = Flag(True)

    def register(server: grpc.aio.Server) -> None:
        eventlog_pb2_grpc.add_EventLogServicer_to_server(
            EventLogServicer(notes_app, notes_translator()), server
        )
        server.add_generic_rpc_handlers([failing_handlers()])

    subject = ServiceRuntime(
        settings=settings,
        service_names=["aduan.v1.EventLog"],
        registrars=[register],
        health_checks=[HealthCheck("store", store_ok.check, gates_readiness=True)],
        health_interval_seconds=0.05,
        policies=[FAILURES_POLICY],
    )
    await subject.start()
    try:
        yield subject, store_ok
    finally:
        await subject.shutdown()


def address(runtime: ServiceRuntime) -> str:
    return f"127.0.0.1:{runtime.bound_port}"


async def call(runtime: ServiceRuntime, method: str) -> grpc.aio.AioRpcError:
    async with authorised_channel(address(runtime)) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await channel.unary_unary(f"/test.Failures/{method}")(b"", timeout=5)
    return raised.value


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("Missing", grpc.StatusCode.NOT_FOUND),
        ("Exists", grpc.StatusCode.ALREADY_EXISTS),
        ("WrongState", grpc.StatusCode.FAILED_PRECONDITION),
        ("Conflict", grpc.StatusCode.ABORTED),
        ("StoreConflict", grpc.StatusCode.ABORTED),
        ("Denied", grpc.StatusCode.PERMISSION_DENIED),
        ("Anonymous", grpc.StatusCode.UNAUTHENTICATED),
    ],
)
async def test_domain_errors_map_to_their_status_codes(
    runtime: tuple[ServiceRuntime, Flag], method: str, code: grpc.StatusCode
) -> None:
    error = await call(runtime[0], method)
    assert error.code() == code
    if method != "StoreConflict":
        assert error.details() == str(FAILURES[method])


async def test_validation_errors_carry_field_violations(
    runtime: tuple[ServiceRuntime, Flag],
) -> None:
    error = await call(runtime[0], "Invalid")

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("description", "must be 10 to 5,000 characters"),
        ("channel", "required"),
    ]


async def test_unexpected_errors_are_internal_without_internals(
    runtime: tuple[ServiceRuntime, Flag], caplog: pytest.LogCaptureFixture
) -> None:
    error = await call(runtime[0], "Bug")

    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == "internal error"
    assert "hunter2" not in (error.debug_error_string() or "")
    assert any(record.exc_info for record in caplog.records), "the traceback must be logged"


async def test_health_is_serving_only_while_dependencies_are_reachable(
    runtime: tuple[ServiceRuntime, Flag],
) -> None:
    subject, store_ok = runtime

    async def status(service: str) -> int:
        async with grpc.aio.insecure_channel(address(subject)) as channel:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service)
            )
            return int(response.status)

    async def becomes(expected: int) -> None:
        for _ in range(100):
            if all([await status(s) == expected for s in ("", "intake", "aduan.v1.EventLog")]):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"health never became {expected}")

    await becomes(health_pb2.HealthCheckResponse.SERVING)
    store_ok.value = False
    await becomes(health_pb2.HealthCheckResponse.NOT_SERVING)
    store_ok.value = True
    await becomes(health_pb2.HealthCheckResponse.SERVING)


async def test_eventlog_read_rejects_negative_positions(
    runtime: tuple[ServiceRuntime, Flag],
) -> None:
    async with authorised_channel(address(runtime[0])) as channel:
        stub = eventlog_pb2_grpc.EventLogStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for _ in stub.Read(eventlog_pb2.ReadEventsRequest(after_position=-1)):
                pass
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class CrashingWorker:
    async def run(self) -> None:
        raise RuntimeError("lost the plot")

    def stop(self) -> None:
        pass


async def test_a_dead_background_worker_ends_the_process_with_a_failure() -> None:
    """A worker that dies stops the service with a non-zero exit, so that its supervisor
    restarts it; a clean exit 0 would look like an intended stop."""
    settings = ServiceSettings.from_env(
        "routing", env={"ADUAN_GRPC_PORT": "0", "ADUAN_JWT_SECRET": SECRET}
    )
    subject = ServiceRuntime(
        settings=settings, service_names=[], registrars=[], workers=[CrashingWorker()]
    )
    with pytest.raises(SystemExit) as stopped:
        await subject.serve()
    assert stopped.value.code not in (0, None)
    assert "CrashingWorker died: RuntimeError('lost the plot')" in str(stopped.value.code)
