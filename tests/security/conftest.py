"""The four services wired by their own composition roots (`build_runtime`), in-process on free
loopback ports with one embedded NATS, so that the real interceptor, policies and resource checks
answer. One stack per test module: the servers run on an event loop in a background thread and
the tests call them with blocking gRPC clients."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from polling import eventually

from aduan.core.settings import ALL_SERVICES, ServiceSettings
from aduan.service.auth import DevTokens, bearer_metadata
from aduan.service.runtime import ServiceRuntime
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc, query_pb2, query_pb2_grpc
from aduan_devtools.natsserver import EmbeddedNats, free_port
from aduan_intake.__main__ import build_runtime as intake_runtime
from aduan_notification.__main__ import build_runtime as notification_runtime
from aduan_query.__main__ import build_runtime as query_runtime
from aduan_routing.__main__ import build_runtime as routing_runtime

SECRET = "security-tests-secret-0123456789abcdef"
HOLDER = "KANTAH.32.73"  # Kota Bandung: where land-service complaints of 32.73 go
INSPECTORATE = "PUSAT.ITJEN"  # where routing places illegal-levy complaints
T = TypeVar("T")

BUILDERS: dict[str, Callable[[ServiceSettings], ServiceRuntime]] = {
    "intake": intake_runtime,
    "routing": routing_runtime,
    "notification": notification_runtime,
    "query": query_runtime,
}


@dataclass
class Seeded:
    """Complaints filed through intake and placed by routing at HOLDER."""

    complaint_id: str = ""
    ticket_number: str = ""
    confidential_id: str = ""
    # An illegal-levy complaint, which routing places with the Inspectorate: sealed.
    inspectorate_id: str = ""


@dataclass
class SecureStack:
    tmp: Path
    addresses: dict[str, str] = field(default_factory=dict)
    tokens: DevTokens = field(default_factory=lambda: DevTokens(SECRET))
    seeded: Seeded = field(default_factory=Seeded)
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _runtimes: list[ServiceRuntime] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _channels: dict[str, grpc.Channel] = field(default_factory=dict)
    nats: EmbeddedNats | None = None
    # More ADUAN_* settings for every service (e.g. how often they seal checkpoints).
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> SecureStack:
        self.nats = EmbeddedNats(self.tmp / "nats", log_file=self.tmp / "nats.log").start()
        ports = {name: free_port() for name in ALL_SERVICES}
        self.addresses = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        for name in ALL_SERVICES:
            env = {
                "ADUAN_GRPC_PORT": str(ports[name]),
                "ADUAN_NATS_URL": self.nats.url,
                "ADUAN_DATA_DIR": str(self.tmp / "data"),
                "ADUAN_METRICS_PORT": "0",
                "ADUAN_WEBHOOK_PORT": str(free_port()),
                "ADUAN_JWT_SECRET": SECRET,
                "ADUAN_RELAY_POLL_SECONDS": "0.1",
                **{f"ADUAN_{peer.upper()}_ADDR": a for peer, a in self.addresses.items()},
                **self.env,
            }
            settings = ServiceSettings.from_env(name, env)
            (self.tmp / "data").mkdir(parents=True, exist_ok=True)
            runtime = BUILDERS[name](settings)
            runtime.health_interval_seconds = 0.2
            self._runtimes.append(runtime)
            self._tasks.append(self._run(runtime.serve()))
        eventually(lambda: all(r.bound_port for r in self._runtimes), 30, "every server listening")
        return self

    def _run(self, coroutine: Any) -> Any:
        async def as_task() -> asyncio.Task[None]:
            return asyncio.ensure_future(coroutine)

        return asyncio.run_coroutine_threadsafe(as_task(), self._loop).result(10)

    def stop(self) -> None:
        for channel in self._channels.values():
            channel.close()
        for runtime in self._runtimes:
            self._loop.call_soon_threadsafe(runtime.request_stop)

        async def finished() -> None:
            await asyncio.wait(self._tasks, timeout=20)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(finished(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self.nats is not None:
            self.nats.stop()

    def channel(self, service: str) -> grpc.Channel:
        if service not in self._channels:
            self._channels[service] = grpc.insecure_channel(self.addresses[service])
        return self._channels[service]

    def bearer(self, role: str | list[str], office: str = "", sub: str = "") -> Any:
        return bearer_metadata(self.tokens.issue(role, office, sub))

    def seed(self) -> None:
        intake = intake_pb2_grpc.IntakeStub(self.channel("intake"))
        query = query_pb2_grpc.QueryStub(self.channel("query"))
        gateway = self.bearer("gateway", sub="gateway:matrix")

        def file(
            key: str, confidential: bool, category: int = common_pb2.CATEGORY_LAND_SERVICE
        ) -> intake_pb2.FileComplaintResponse:
            return intake.FileComplaint(
                intake_pb2.FileComplaintRequest(
                    idempotency_key=f"{key}-{uuid.uuid4()}",
                    channel=common_pb2.CHANNEL_WEB,
                    category=category,
                    reporter=intake_pb2.Reporter(
                        name="Dewi Lestari", phone="081377778888", confidential=confidential
                    ),
                    location=common_pb2.Location(province_code="32", regency_code="32.73"),
                    subject="Sertifikat belum terbit",
                    description="Sertifikat tanah saya belum terbit setelah enam bulan.",
                ),
                metadata=gateway,
                timeout=10,
            )

        open_complaint = file("matrix-open", confidential=False)
        secret_complaint = file("matrix-confidential", confidential=True)
        levy_complaint = file(
            "matrix-levy", confidential=False, category=common_pb2.CATEGORY_ILLEGAL_LEVY
        )
        self.seeded = Seeded(
            open_complaint.complaint_id,
            open_complaint.ticket_number,
            secret_complaint.complaint_id,
            levy_complaint.complaint_id,
        )
        auditor = self.bearer("auditor")
        for complaint_id, holder in (
            (open_complaint.complaint_id, HOLDER),
            (secret_complaint.complaint_id, HOLDER),
            (levy_complaint.complaint_id, INSPECTORATE),
        ):

            def placed(complaint_id: str = complaint_id, holder: str = holder) -> bool:
                view = query.GetComplaint(
                    query_pb2.GetComplaintRequest(complaint_id=complaint_id),
                    metadata=auditor,
                    timeout=5,
                ).complaint
                return view.holding_office.code == holder

            eventually(placed, 30, f"routing to place {complaint_id} at {holder}")
        # Intake learns the holding office from routing's events (it decides contact reveals).
        officer = self.bearer("officer", HOLDER, sub="officer:matrix")
        eventually(
            lambda: intake.GetReporterContact(
                intake_pb2.GetReporterContactRequest(
                    complaint_id=open_complaint.complaint_id, purpose="matrix set-up"
                ),
                metadata=officer,
                timeout=5,
            ),
            30,
            "intake to learn the holding office",
        )
        itjen = self.bearer("officer", INSPECTORATE, sub="officer:itjen")

        def itjen_may_reveal() -> bool:
            # Refused (PERMISSION_DENIED) until intake learns who holds the complaint.
            try:
                intake.GetReporterContact(
                    intake_pb2.GetReporterContactRequest(
                        complaint_id=levy_complaint.complaint_id, purpose="matrix set-up"
                    ),
                    metadata=itjen,
                    timeout=5,
                )
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.PERMISSION_DENIED:
                    raise
                return False
            return True

        eventually(itjen_may_reveal, 30, "intake to learn that the Inspectorate holds the levy")


@pytest.fixture(scope="module")
def secure_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureStack]:
    stack = SecureStack(tmp_path_factory.mktemp("secure-stack")).start()
    try:
        stack.seed()
        yield stack
    finally:
        stack.stop()
