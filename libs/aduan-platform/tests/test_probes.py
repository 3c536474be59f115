"""The health names the runtime serves for probes (aduan.service.health): liveness never depends on a
dependency, readiness only on the checks that gate it, startup only on start-up work, and
`dependencies` shows every dependency. In memory (the gRPC servers listen on loopback only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aduan.core.settings import ServiceSettings
from aduan.service.health import (
    DEPENDENCIES,
    LIVENESS,
    PROBE_NAMES,
    READINESS,
    STARTUP,
    CheckRunner,
    HealthCheck,
    Heartbeat,
    ProbeState,
)
from aduan.service.runtime import ProbeHealthServicer, ServiceRuntime
from aduan_devtools.natsserver import free_port

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SECRET = "probe-tests-secret-0123456789abcdef"
# Every name meaning readiness, as the runtime below serves them.
READINESS_NAMES = (READINESS, "", "intake", "aduan.v1.Intake")


def test_the_names_are_the_ones_the_chart_uses() -> None:
    assert (LIVENESS, READINESS, STARTUP, DEPENDENCIES) == (
        "liveness",
        "readiness",
        "startup",
        "dependencies",
    )
    assert PROBE_NAMES == (LIVENESS, READINESS, STARTUP, DEPENDENCIES)


class Switch:
    """A dependency that answers as told."""

    def __init__(self, up: bool = True) -> None:
        self.up = up

    async def probe(self) -> bool:
        if not self.up:
            raise ConnectionError("unreachable")
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the rule --------------------------------------------------------------------------------------


def state(clock: Clock | None = None) -> ProbeState:
    checks = [
        HealthCheck("store", Switch().probe, gates_readiness=True),
        HealthCheck("nats", Switch().probe, gates_readiness=False),
    ]
    heartbeat = Heartbeat(interval_seconds=1.0, stall_seconds=10.0, clock=clock or Clock())
    return ProbeState(checks, heartbeat)


def answers(probes: ProbeState) -> dict[str, bool]:
    return {name: probes.serving(name) for name in (*PROBE_NAMES, "", "aduan.v1.Intake")}


def test_nothing_but_liveness_before_start_up_and_the_first_checks() -> None:
    probes = state()
    assert answers(probes) == {
        LIVENESS: True,
        READINESS: False,
        STARTUP: False,
        DEPENDENCIES: False,
        "": False,
        "aduan.v1.Intake": False,
    }


def test_a_dependency_that_does_not_gate_readiness_shows_only_in_dependencies() -> None:
    probes = state()
    probes.started = True
    probes.record({"store": True, "nats": False})

    assert answers(probes) == {
        LIVENESS: True,
        READINESS: True,
        STARTUP: True,
        DEPENDENCIES: False,
        "": True,
        "aduan.v1.Intake": True,
    }


def test_a_gating_dependency_takes_readiness_but_never_liveness_or_startup() -> None:
    probes = state()
    probes.started = True
    probes.record({"store": False, "nats": True})

    assert answers(probes) == {
        LIVENESS: True,
        READINESS: False,
        STARTUP: True,
        DEPENDENCIES: False,
        "": False,
        "aduan.v1.Intake": False,
    }


def test_shutting_down_is_not_ready_but_alive_and_started() -> None:
    probes = state()
    probes.started = True
    probes.record({"store": True, "nats": True})
    probes.stopping = True

    assert probes.serving(LIVENESS)
    assert probes.serving(STARTUP)
    assert not probes.serving(READINESS)


def test_record_returns_what_changed() -> None:
    probes = state()
    assert probes.record({"store": True, "nats": False}) == {"store": True, "nats": False}
    assert probes.record({"store": True, "nats": False}) == {}
    assert probes.record({"store": True, "nats": True}) == {"nats": True}


def test_liveness_follows_the_heartbeat() -> None:
    clock = Clock()
    probes = state(clock)
    probes.heartbeat.reset()
    clock.now += 9.5
    assert probes.serving(LIVENESS)
    clock.now += 1.0  # 10.5 s without a tick: the loop stalled (or the heartbeat died)
    assert not probes.serving(LIVENESS)
    probes.heartbeat.tick()
    assert probes.serving(LIVENESS)


def test_a_late_tick_is_logged_as_a_stall(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    heartbeat = Heartbeat(interval_seconds=1.0, clock=clock)
    clock.now += 1.2
    heartbeat.tick()
    assert "event loop stalled" not in caplog.text
    clock.now += 4.0
    heartbeat.tick()
    assert "event loop stalled" in caplog.text


# -- the runner ------------------------------------------------------------------------------------


async def test_a_probe_that_hangs_fails_and_is_not_started_again() -> None:
    started = 0
    release = asyncio.Event()

    async def hanging() -> bool:
        nonlocal started
        started += 1
        await release.wait()
        return True

    runner = CheckRunner(HealthCheck("store", hanging, gates_readiness=True, timeout_seconds=0.05))
    assert await runner.run() is False
    assert await runner.run() is False
    assert started == 1, "a second call while the first still hangs"
    release.set()
    assert await runner.run() is True
    assert started == 1
    assert await runner.run() is True
    assert started == 2


async def test_a_probe_that_raises_fails() -> None:
    runner = CheckRunner(HealthCheck("nats", Switch(up=False).probe, gates_readiness=False))
    assert await runner.run() is False


# -- the runtime over gRPC -------------------------------------------------------------------------


class Runtime:
    def __init__(self, subject: ServiceRuntime, store: Switch, nats: Switch) -> None:
        self.subject = subject
        self.store = store
        self.nats = nats

    @property
    def ports(self) -> list[int]:
        return [self.subject.bound_port, self.subject.bound_health_port]

    async def status(self, name: str, port: int) -> int:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=name), timeout=1
            )
        return int(response.status)

    async def statuses(self, port: int) -> dict[str, int]:
        names = (LIVENESS, STARTUP, DEPENDENCIES, *READINESS_NAMES)
        return {name: await self.status(name, port) for name in names}

    async def becomes(self, expected: dict[str, int]) -> None:
        """Every port answers `expected` (a subset of names) within two seconds."""
        seen: dict[int, dict[str, int]] = {}
        for _ in range(100):
            seen = {port: await self.statuses(port) for port in self.ports}
            if all(
                {name: answers[name] for name in expected} == expected for answers in seen.values()
            ):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {expected}, last seen {seen}")


def runtime_settings() -> ServiceSettings:
    return ServiceSettings.from_env(
        "intake",
        env={
            "ADUAN_GRPC_PORT": "0",
            "ADUAN_HEALTH_PORT": str(free_port()),
            "ADUAN_JWT_SECRET": SECRET,
        },
    )


def build(
    startup_hooks: list[Callable[[], Awaitable[None]]] | None = None,
    registrars: list[Callable[[grpc.aio.Server], None]] | None = None,
) -> Runtime:
    store, nats = Switch(), Switch()
    subject = ServiceRuntime(
        settings=runtime_settings(),
        service_names=["aduan.v1.Intake"],
        registrars=registrars or [],
        health_checks=[
            HealthCheck("store", store.probe, gates_readiness=True),
            HealthCheck("nats", nats.probe, gates_readiness=False),
        ],
        startup_hooks=startup_hooks or [],
        health_interval_seconds=0.02,
    )
    return Runtime(subject, store, nats)


@pytest.fixture
async def running() -> AsyncIterator[Runtime]:
    runtime = build()
    await runtime.subject.start()
    try:
        yield runtime
    finally:
        await runtime.subject.shutdown()


ALL_SERVING = {name: SERVING for name in (LIVENESS, STARTUP, DEPENDENCIES, *READINESS_NAMES)}


async def test_every_name_is_served_on_the_grpc_port_and_the_health_port(
    running: Runtime,
) -> None:
    assert running.subject.bound_health_port
    await running.becomes(ALL_SERVING)


async def test_nats_down_shows_in_dependencies_only(running: Runtime) -> None:
    await running.becomes(ALL_SERVING)
    running.nats.up = False
    await running.becomes({**ALL_SERVING, DEPENDENCIES: NOT_SERVING})
    running.nats.up = True
    await running.becomes(ALL_SERVING)


async def test_store_down_takes_readiness_and_not_liveness(running: Runtime) -> None:
    await running.becomes(ALL_SERVING)
    running.store.up = False
    await running.becomes(
        {
            LIVENESS: SERVING,
            STARTUP: SERVING,
            DEPENDENCIES: NOT_SERVING,
            **{name: NOT_SERVING for name in READINESS_NAMES},
        }
    )
    running.store.up = True
    await running.becomes(ALL_SERVING)


async def test_a_stalled_heartbeat_fails_liveness_alone(running: Runtime) -> None:
    await running.becomes(ALL_SERVING)
    heartbeat = running.subject.heartbeat
    heartbeat.last_tick -= heartbeat.stall_seconds + 5
    # The next tick (within a second) brings it back; answers in between say NOT_SERVING.
    assert await running.status(LIVENESS, running.subject.bound_health_port) == NOT_SERVING
    assert await running.status(READINESS, running.subject.bound_health_port) == SERVING
    await running.becomes(ALL_SERVING)


async def test_startup_waits_for_the_start_up_work_and_retries_it() -> None:
    release = asyncio.Event()
    attempts = 0

    async def migrate() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("database not there yet")
        await release.wait()

    runtime = build(startup_hooks=[migrate])
    starting = asyncio.create_task(runtime.subject.start())
    try:
        for _ in range(200):
            if runtime.subject.bound_health_port and attempts >= 2:
                break
            await asyncio.sleep(0.02)
        await runtime.becomes(
            {
                LIVENESS: SERVING,
                STARTUP: NOT_SERVING,
                DEPENDENCIES: SERVING,
                **{name: NOT_SERVING for name in READINESS_NAMES},
            }
        )
        release.set()
        await starting
        await runtime.becomes(ALL_SERVING)
    finally:
        release.set()
        await starting
        await runtime.subject.shutdown()


def register_echo(server: grpc.aio.Server) -> None:
    async def echo(request: bytes, _context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        return request

    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "aduan.v1.Intake", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
            )
        ]
    )


async def test_calls_before_the_start_up_work_is_done_are_unavailable_not_internal() -> None:
    """Query serves its port while its migrations run: a call then would meet no tables."""
    release = asyncio.Event()
    runtime = build(startup_hooks=[release.wait], registrars=[register_echo])
    starting = asyncio.create_task(runtime.subject.start())
    try:
        for _ in range(200):
            if runtime.subject.bound_port:
                break
            await asyncio.sleep(0.02)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{runtime.subject.bound_port}") as channel:
            echo = channel.unary_unary("/aduan.v1.Intake/Echo")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await echo(b"halo", timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "starting up" in (refused.value.details() or "")
            assert await runtime.status(STARTUP, runtime.subject.bound_port) == NOT_SERVING
            release.set()
            await starting
            # Past the gate, the call reaches authentication (this one carries no token).
            with pytest.raises(grpc.aio.AioRpcError) as checked:
                await echo(b"halo", timeout=5)
            assert checked.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        release.set()
        await starting
        await runtime.subject.shutdown()


class Context:
    async def abort(self, code: grpc.StatusCode, details: str = "") -> Any:
        raise AssertionError(f"aborted with {code}")


async def test_during_shutdown_liveness_and_startup_hold_and_readiness_drops() -> None:
    probes = state()
    probes.started = True
    probes.record({"store": True, "nats": True})
    servicer = ProbeHealthServicer(probes)
    for name in (*PROBE_NAMES, ""):
        await servicer.set(name, SERVING if probes.serving(name) else NOT_SERVING)

    probes.stopping = True
    await servicer.enter_graceful_shutdown()

    async def check(name: str) -> int:
        request = health_pb2.HealthCheckRequest(service=name)
        return int((await servicer.Check(request, Context())).status)

    assert await check(LIVENESS) == SERVING
    assert await check(STARTUP) == SERVING
    assert await check(READINESS) == NOT_SERVING
    assert await check("") == NOT_SERVING
    assert await check(DEPENDENCIES) == NOT_SERVING
