"""The whole system as local processes: an embedded nats-server, the four services and, when
asked for (`make up`, the desk's browser tests), the desk.

`make up` (`aduan up`) and the end-to-end tests start the stack through this one code path.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aduan.core.settings import ALL_SERVICES, DEFAULT_GRPC_PORTS, DEFAULT_METRICS_PORTS
from aduan.service.auth import DevTokens
from aduan_devtools.natsserver import EmbeddedNats, free_port

DEFAULT_NATS_PORT = 4222
DEFAULT_WEBHOOK_PORT = 8081
DESK = "desk"
# The local stack's HS256 secret, generated per run (`aduan token` reads it from here).
SECRET_FILE = "dev-jwt-secret"


@dataclass
class ServiceProcess:
    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class LocalStack:
    data_dir: Path = Path("var")
    # Use this NATS instead of starting one (e.g. NATS_URL from the environment).
    nats_url: str | None = None
    nats_port: int = 0
    ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_GRPC_PORTS))
    metrics_ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_METRICS_PORTS))
    # intake's WhatsApp webhook (HTTP).
    webhook_port: int = DEFAULT_WEBHOOK_PORT
    # Extra environment for every service (e.g. ADUAN_STORE_URL overrides for PostgreSQL).
    env: Mapping[str, str] = field(default_factory=dict)
    # Per-service environment.
    service_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    log_format: str = "json"
    # The desk (web workplace, HTTP) on this port after the services; 0: no desk.
    desk_port: int = 0
    nats: EmbeddedNats | None = None
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    jwt_secret: str = ""

    @classmethod
    def on_free_ports(cls, data_dir: Path, **kwargs: Any) -> LocalStack:
        return cls(
            data_dir=data_dir,
            ports={s: free_port() for s in ALL_SERVICES},
            metrics_ports={s: free_port() for s in ALL_SERVICES},
            webhook_port=free_port(),
            **kwargs,
        )

    @property
    def desk_url(self) -> str:
        return f"http://127.0.0.1:{self.desk_port}"

    @property
    def secret(self) -> str:
        """This run's token secret: generated on first use and written to
        `<data_dir>/dev-jwt-secret` (owner-only) for `aduan token`."""
        if not self.jwt_secret:
            self.jwt_secret = secrets.token_urlsafe(32)
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path = self.data_dir / SECRET_FILE
            path.touch(mode=0o600)
            path.write_text(self.jwt_secret + "\n")
        return self.jwt_secret

    def token(self, role: str | list[str], office: str = "", sub: str = "") -> str:
        """A development token for this stack (tests, `make up`)."""
        return DevTokens(self.secret).issue(role, office, sub)

    @property
    def resolved_nats_url(self) -> str:
        if self.nats_url:
            return self.nats_url
        assert self.nats is not None, "NATS not started"
        return self.nats.url

    def start_nats(self) -> None:
        if self.nats_url:
            return
        self.nats = EmbeddedNats(
            self.data_dir / "nats",
            port=self.nats_port,
            log_file=self.data_dir / "logs" / "nats.log",
        )
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.nats.start()

    def service_environment(self, name: str) -> dict[str, str]:
        # One store per service: a store URL inherited from the shell would make them share one.
        env = {k: v for k, v in os.environ.items() if k != "ADUAN_STORE_URL"}
        env.update(
            {
                "ADUAN_GRPC_HOST": "127.0.0.1",
                "ADUAN_GRPC_PORT": str(self.ports.get(name, 0)),
                "ADUAN_METRICS_PORT": str(self.metrics_ports.get(name, 0)),
                "ADUAN_WEBHOOK_PORT": str(self.webhook_port),
                "ADUAN_NATS_URL": self.resolved_nats_url,
                "ADUAN_DATA_DIR": str(self.data_dir),
                "ADUAN_LOG_FORMAT": self.log_format,
                "ADUAN_JWT_SECRET": self.secret,
                "ADUAN_AUTH_DEV": "true",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(
            {f"ADUAN_{peer.upper()}_ADDR": f"127.0.0.1:{port}" for peer, port in self.ports.items()}
        )
        if name == DESK:
            env.update(
                {
                    "ADUAN_DESK_PORT": str(self.desk_port),
                    "ADUAN_DESK_PUBLIC_URL": self.desk_url,
                    "ADUAN_METRICS_PORT": str(self.metrics_ports.get(DESK, 0)),
                }
            )
        env.update(self.env)
        env.update(self.service_env.get(name, {}))
        return env

    def start_service(self, name: str) -> ServiceProcess:
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        port = self.desk_port if name == DESK else self.ports[name]
        service = self.services.get(name) or ServiceProcess(name, port, log_dir / f"{name}.log")
        log_file = open(service.log_path, "ab")  # noqa: SIM115 - owned by the child process
        service.process = subprocess.Popen(
            [sys.executable, "-m", f"aduan_{name}"],
            env=self.service_environment(name),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches only the supervisor
        )
        log_file.close()
        self.services[name] = service
        return service

    def start(self, timeout: float = 60.0) -> LocalStack:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.start_nats()
        for name in ALL_SERVICES:
            self.start_service(name)
        self.wait_serving(timeout)
        if self.desk_port:
            self.start_desk(timeout)
        return self

    def start_desk(self, timeout: float = 60.0) -> ServiceProcess:
        """Starts the desk and waits until it is ready (it answers /readyz once query and
        routing answer theirs)."""
        desk = self.start_service(DESK)
        deadline = time.monotonic() + timeout
        while not self.desk_ready():
            if not desk.alive():
                raise RuntimeError(f"desk exited; see {desk.log_path}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the desk is not ready after {timeout}s")
            time.sleep(0.2)
        return desk

    def desk_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.desk_url}/readyz", timeout=1.0) as reply:
                return bool(reply.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def health(self, name: str, timeout: float = 1.0) -> bool:
        service = self.services[name]
        with grpc.insecure_channel(service.address) as channel:
            try:
                response = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=timeout
                )
            except grpc.RpcError:
                return False
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    def wait_serving(self, timeout: float = 60.0, names: tuple[str, ...] = ALL_SERVICES) -> None:
        """Waits until the gRPC services `names` answer SERVING (the desk: `start_desk`)."""
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending:
            for name in list(pending):
                if not self.services[name].alive():
                    raise RuntimeError(f"{name} exited; see {self.services[name].log_path}")
                if self.health(name):
                    pending.discard(name)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not SERVING after {timeout}s: {sorted(pending)}")
            if pending:
                time.sleep(0.2)

    def stop_service(self, name: str, timeout: float = 20.0) -> int | None:
        service = self.services.get(name)
        if service is None or service.process is None:
            return None
        if service.alive():
            service.process.send_signal(signal.SIGTERM)
            try:
                service.process.wait(timeout)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
        return service.process.returncode

    def kill_service(self, name: str) -> None:
        """SIGKILL, as in a crash."""
        service = self.services[name]
        if service.process is not None and service.alive():
            service.process.kill()
            service.process.wait()

    def restart_service(self, name: str, *, crash: bool = True, timeout: float = 60.0) -> None:
        """SIGKILL (or, with crash=False, stop) one service, start it again and wait until it
        is SERVING (the fault tests)."""
        if crash:
            self.kill_service(name)
        else:
            self.stop_service(name)
        self.start_service(name)
        self.wait_serving(timeout, names=(name,))

    def restart_nats(self, *, crash: bool = True, down_seconds: float = 0.0) -> None:
        """SIGKILL (or stop) the embedded nats-server and start it again on the same port with
        the same JetStream store, after `down_seconds` without it."""
        if self.nats is None:
            raise RuntimeError("this stack uses an outside NATS; it cannot restart it")
        if crash:
            self.nats.kill()
        else:
            self.nats.stop()
        if down_seconds:
            time.sleep(down_seconds)
        self.nats.start()

    def stop(self) -> None:
        for name in reversed(list(self.services)):
            with contextlib.suppress(Exception):
                self.stop_service(name)
        if self.nats is not None:
            self.nats.stop()

    def __enter__(self) -> LocalStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
