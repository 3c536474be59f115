"""Lifecycle of one service process: the gRPC server scaffold, background workers, health and
graceful shutdown. Each service's composition root builds a `ServiceRuntime` and calls `serve()`.

Health: the names and their meaning are in `aduan.service.health`; the runtime runs the dependency checks
every `health_interval_seconds`, keeps the heartbeat, and serves the answers on the gRPC port and
on the plaintext health port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.metrics import Observation

from aduan.core.logs import configure_logging
from aduan.core.settings import ServiceSettings, SettingsError
from aduan.core.telemetry import configure_metrics, configure_tracing, meter
from aduan.service.auth import EVENTLOG_POLICY, AuthInterceptor, Policy, ServiceAuth
from aduan.service.grpcerrors import ErrorMappingInterceptor
from aduan.service.health import (
    LIVENESS,
    PROBE_NAMES,
    STARTUP,
    CheckRunner,
    HealthCheck,
    Heartbeat,
    ProbeState,
)
from aduan.service.rpchandlers import HandlerInterceptor, with_behaviour
from aduan.service.rpctelemetry import server_interceptors
from aduan.service.tls import server_credentials

log = logging.getLogger(__name__)

Registrar = Callable[[grpc.aio.Server], None]
Hook = Callable[[], Awaitable[None]]

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Worker(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


def bootstrap(service: str) -> ServiceSettings:
    """What every composition root does first: settings, logs, traces, metrics."""
    settings = ServiceSettings.from_env(service)
    configure_logging(service, settings.log_level, settings.log_format)
    configure_tracing(service)
    configure_metrics(service, settings.metrics_port)
    return settings


def run_service(
    service: str,
    description: str,
    build_runtime: Callable[[ServiceSettings], ServiceRuntime],
    argv: Sequence[str] | None = None,
) -> None:
    """A service's `main`: `--help`, the settings, the composition root, then serve until
    SIGTERM. Invalid settings or data stop start-up with one line naming the problem (exit 1)
    instead of a traceback: the composition roots raise `SettingsError` for every such case."""
    parser = argparse.ArgumentParser(
        prog=f"aduan-{service}",
        description=f"{description} Configured by ADUAN_* environment variables.",
    )
    parser.parse_args(argv)
    settings = bootstrap(service)
    try:
        runtime = build_runtime(settings)
    except SettingsError as error:
        sys.exit(f"aduan-{service}: refusing to start: {error}")
    asyncio.run(runtime.serve())


def server_options(settings: ServiceSettings) -> list[tuple[str, Any]]:
    """Options of every service's gRPC server; the message limit is stated explicitly (it happens
    to equal gRPC's default receive limit, but the send limit would otherwise be unbounded)."""
    return [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.so_reuseport", 0),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ]


class StartupGate(HandlerInterceptor):
    """Until the start-up work is done (query's migrations), a call would meet tables that do not
    exist yet and fail as INTERNAL. It is refused as UNAVAILABLE instead, which callers and
    clients retry; health and reflection answer throughout (`startup` tells the kubelet)."""

    ALWAYS_OPEN = ("/grpc.health.v1.Health/", "/grpc.reflection.")

    def __init__(self, started: Callable[[], bool]) -> None:
        self._started = started

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if self._started() or method.startswith(self.ALWAYS_OPEN):
            return handler

        async def refuse(_request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, "the service is starting up; retry shortly"
            )

        # A coroutine serves every kind: grpc.aio awaits it for streams too, and it sends nothing.
        return with_behaviour(handler, refuse)


@dataclass
class ServiceRuntime:
    settings: ServiceSettings
    # Fully-qualified gRPC service names served (for reflection and health), e.g. "aduan.v1.Intake".
    service_names: Sequence[str]
    registrars: Sequence[Registrar]
    workers: Sequence[Worker] = ()
    # The dependencies, each saying whether it gates readiness (aduan.service.health).
    health_checks: Sequence[HealthCheck] = ()
    # Start-up work done after the ports are bound and before readiness and the workers (e.g.
    # migrations): `startup` is NOT_SERVING until every hook has succeeded; a failing hook is
    # retried with backoff until it succeeds or the process is told to stop.
    startup_hooks: Sequence[Hook] = ()
    # Run after the server stopped accepting and in-flight calls finished (flush relay, drain NATS).
    shutdown_hooks: Sequence[Hook] = ()
    interceptors: Sequence[grpc.aio.ServerInterceptor] = ()
    # Access per RPC of the services registered here (the EventLog's is always included).
    policies: Sequence[Policy] = ()
    # Token verification; built from the settings when not given (refusing to start without a key).
    auth: ServiceAuth | None = None
    health_interval_seconds: float = 2.0
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    server: grpc.aio.Server | None = None
    bound_port: int = 0
    # The plaintext health-only server (settings.health_port), when configured.
    health_server: grpc.aio.Server | None = None
    bound_health_port: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _health: ProbeHealthServicer | None = None
    _probes: ProbeState | None = None
    _ready: bool = False
    # The heartbeat and the dependency monitor: from start() to the end of shutdown().
    _health_tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def probes(self) -> ProbeState:
        if self._probes is None:
            self._probes = ProbeState(self.health_checks, self.heartbeat)
        return self._probes

    async def start(self) -> None:
        if self.auth is None:
            self.auth = ServiceAuth.from_settings(self.settings)
        authenticate = AuthInterceptor(self.auth.verifier, [EVENTLOG_POLICY, *self.policies])
        self.server = grpc.aio.server(
            interceptors=[
                *server_interceptors(),
                StartupGate(lambda: self.probes.started),
                authenticate,
                *self.interceptors,
                ErrorMappingInterceptor(),
            ],
            options=server_options(self.settings),
        )
        for register in self.registrars:
            register(self.server)
        self._health = ProbeHealthServicer(self.probes)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self.server)
        if self.settings.reflection:
            names = [
                *self.service_names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            ]
            reflection.enable_server_reflection([*names, reflection.SERVICE_NAME], self.server)
        tls = self.settings.tls
        if tls.server_enabled:
            self.bound_port = self.server.add_secure_port(
                self.settings.grpc_address, server_credentials(tls)
            )
        else:
            self.bound_port = self.server.add_insecure_port(self.settings.grpc_address)
        if self.bound_port == 0:
            raise OSError(f"cannot bind gRPC port {self.settings.grpc_address}")
        await self.server.start()
        if self.settings.health_port:
            await self._start_health_server()
        await self._publish_health()
        log.info(
            "gRPC server listening",
            extra={
                "address": f"{self.settings.grpc_host}:{self.bound_port}",
                "tls": "mutual"
                if tls.client_auth == "require"
                else str(tls.server_enabled).lower(),
            },
        )
        self._observe_dependencies()
        self.heartbeat.reset()
        self._health_tasks = [
            asyncio.create_task(self.heartbeat.run(), name="heartbeat"),
            asyncio.create_task(self._monitor_health(), name="health"),
        ]
        await self._start_up()

    async def _start_health_server(self) -> None:
        """Serve the same health status, and nothing else, on a plaintext port for probes."""
        assert self._health is not None
        self.health_server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self.health_server)
        address = f"{self.settings.grpc_host}:{self.settings.health_port}"
        self.bound_health_port = self.health_server.add_insecure_port(address)
        if self.bound_health_port == 0:
            raise OSError(f"cannot bind health port {address}")
        await self.health_server.start()
        log.info("plaintext health server listening", extra={"address": address})

    @property
    def health_names(self) -> list[str]:
        """Every name the health service answers for."""
        return ["", self.settings.service, *self.service_names, *PROBE_NAMES]

    async def _publish_health(self) -> None:
        """Store every name's answer (Watch streams them; Check answers liveness and startup
        from the probe state itself, see ProbeHealthServicer)."""
        assert self._health is not None
        if self.probes.ready != self._ready:
            self._ready = self.probes.ready
            log.info("readiness changed", extra={"serving": self._ready})
        for name in self.health_names:
            await self._health.set(name, SERVING if self.probes.serving(name) else NOT_SERVING)

    async def _start_up(self) -> None:
        delay = 0.5
        for hook in self.startup_hooks:
            while True:
                try:
                    await hook()
                    break
                except Exception as error:
                    log.warning(
                        "start-up step failed; retrying",
                        extra={"step": getattr(hook, "__name__", repr(hook)), "error": repr(error)},
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                if self._stop.is_set():
                    return
                delay = min(delay * 2, 30.0)
        self.probes.started = True
        log.info("start-up finished")
        await self._publish_health()

    async def _monitor_health(self) -> None:
        runners = [CheckRunner(check) for check in self.health_checks]
        try:
            while not self._stop.is_set():
                results = await asyncio.gather(*(runner.run() for runner in runners))
                for name, ok in self.probes.record(
                    {r.check.name: ok for r, ok in zip(runners, results, strict=True)}
                ).items():
                    log.log(
                        logging.INFO if ok else logging.WARNING,
                        "dependency %s",
                        "reachable" if ok else "unreachable",
                        extra={"dependency": name},
                    )
                await self._publish_health()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=self.health_interval_seconds)
        finally:
            for runner in runners:
                runner.cancel()

    def _observe_dependencies(self) -> None:
        """`aduan_dependency_up{service, dependency}`: 1 while the check passes."""

        def observe(_options: object) -> list[Observation]:
            return [
                Observation(
                    int(self.probes.passed(check)),
                    {"service": self.settings.service, "dependency": check.name},
                )
                for check in self.health_checks
            ]

        meter().create_observable_gauge(
            "aduan.dependency.up",
            callbacks=[observe],
            description="1 while the dependency answers its health check, else 0",
        )

    def request_stop(self) -> None:
        self._stop.set()

    async def serve(self) -> None:
        """Run until SIGTERM/SIGINT (or request_stop), then shut down gracefully."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        await self.start()
        if self._stop.is_set():  # told to stop during start-up
            await self.shutdown()
            return
        tasks = [asyncio.create_task(w.run(), name=type(w).__name__) for w in self.workers]
        stop_wait = asyncio.create_task(self._stop.wait())
        await asyncio.wait(
            [stop_wait, *tasks, *self._health_tasks], return_when=asyncio.FIRST_COMPLETED
        )
        died = [
            task
            for task in [*tasks, *self._health_tasks]
            if task.done() and not task.cancelled() and task.exception() is not None
        ]
        for task in died:
            log.error("background worker died", exc_info=task.exception())
        await self.shutdown(tasks)
        if died:
            # A non-zero exit, so that the supervisor (the kubelet, `aduan up`) sees a crash and
            # restarts the process, instead of a clean stop that looks intended.
            raise SystemExit(
                f"aduan-{self.settings.service}: background worker "
                f"{died[0].get_name()} died: {died[0].exception()!r}"
            )

    async def shutdown(self, tasks: Sequence[asyncio.Task[Any]] = ()) -> None:
        log.info("shutting down")
        self._stop.set()
        self.probes.stopping = True
        if self._health is not None:
            # Every stored name goes NOT_SERVING; liveness and startup keep their own answers
            # (the process is alive and draining; start-up stays done).
            await self._health.enter_graceful_shutdown()
        if self.server is not None:
            await self.server.stop(self.settings.shutdown_grace_seconds)
        if self.health_server is not None:
            await self.health_server.stop(0)
        for worker in self.workers:
            worker.stop()
        # Workers finish their current step; the shutdown hooks (relay flush, NATS drain) must not
        # race with them.
        _, still_running = await asyncio.wait(tasks, timeout=5.0) if tasks else (set(), set())
        for task in still_running:
            log.warning(
                "worker did not stop in time; cancelling", extra={"worker": task.get_name()}
            )
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for hook in self.shutdown_hooks:
            try:
                await hook()
            except Exception:
                log.exception("shutdown hook failed")
        # The heartbeat runs to the very end: liveness holds while the process drains.
        for task in self._health_tasks:
            task.cancel()
        await asyncio.gather(*self._health_tasks, return_exceptions=True)
        log.info("stopped")


class ProbeHealthServicer(health.aio.HealthServicer):
    """grpc.health.v1 with liveness and startup answered from the probe state at each Check:
    they must hold during graceful shutdown, when the stock servicer reports every stored name
    NOT_SERVING, and liveness must follow the heartbeat between monitor rounds."""

    def __init__(self, probes: ProbeState) -> None:
        super().__init__()
        self.probes = probes

    async def Check(  # noqa: N802 - gRPC method name
        self,
        request: health_pb2.HealthCheckRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> health_pb2.HealthCheckResponse:
        if request.service in (LIVENESS, STARTUP):
            serving = self.probes.serving(request.service)
            return health_pb2.HealthCheckResponse(status=SERVING if serving else NOT_SERVING)
        return await super().Check(request, context)
