"""Probes through a NATS outage: NATS is killed for OUTAGE_SECONDS (40 s in `make test`, 90 s
in `make faults`: both longer than the liveness budget that would have restarted every pod when
liveness followed NATS) while every service is probed
the way a kubelet probes (a gRPC Health/Check with a one-second timeout, every second, on a new
connection, on the gRPC port and on the plaintext health port). No liveness probe may fail in
any service, no readiness probe either (every service's readiness rests on its own store),
`dependencies` shows the outage, intake keeps taking complaints, and after NATS returns every
complaint filed during the outage is routed and visible in the query service."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from e2e.callers import operator_channel
from faults.harness import size
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aduan.core.settings import ALL_SERVICES
from aduan.service.health import DEPENDENCIES, LIVENESS, READINESS
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc, query_pb2, query_pb2_grpc
from aduan_devtools.natsserver import free_port
from aduan_devtools.stack import LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

OUTAGE_SECONDS = size().nats_outage_seconds
# A kubelet's probe: timeoutSeconds 1, periodSeconds 1 (shorter than any chart's, to be strict).
PROBE_TIMEOUT_SECONDS = 1.0
PROBE_PERIOD_SECONDS = 1.0
FILE_EVERY_SECONDS = 5.0
CATCH_UP_SECONDS = 120.0
SERVING = health_pb2.HealthCheckResponse.SERVING


@dataclass
class Prober:
    """Probes one health name of one service on one port every period, from its own thread."""

    service: str
    port_kind: str  # "grpc" or "health"
    address: str
    name: str
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def probe(self) -> str:
        """SERVING, NOT_SERVING, or the gRPC code of a failed call (a new connection each
        time, as kubelet dials for every probe)."""
        with grpc.insecure_channel(self.address) as channel:
            try:
                response = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=self.name),
                    timeout=PROBE_TIMEOUT_SECONDS,
                )
            except grpc.RpcError as error:
                return str(error.code().name)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            outcome = self.probe()
            self.outcomes[outcome] += 1
            if outcome != "SERVING":
                self.failures.append(f"{time.strftime('%H:%M:%S')} {outcome}")
            self._stop.wait(max(0.0, PROBE_PERIOD_SECONDS - (time.monotonic() - started)))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name=str(self))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def __str__(self) -> str:
        return f"{self.service}/{self.port_kind}/{self.name}"


@pytest.fixture
def probed_stack(tmp_path: Path) -> Iterator[LocalStack]:
    """A stack of its own (its NATS is killed) with a plaintext health port per service, where
    the chart points kubelet's probes when TLS is on."""
    if os.environ.get("ADUAN_E2E_TARGET", "local") != "local":
        pytest.skip("needs the local process stack (kills NATS)")
    health_ports = {name: {"ADUAN_HEALTH_PORT": str(free_port())} for name in ALL_SERVICES}
    with LocalStack.on_free_ports(tmp_path / "var", service_env=health_ports) as running:
        yield running


def health_address(stack: LocalStack, service: str) -> str:
    return f"127.0.0.1:{stack.service_environment(service)['ADUAN_HEALTH_PORT']}"


def filing(n: int) -> intake_pb2.FileComplaintRequest:
    return intake_pb2.FileComplaintRequest(
        idempotency_key=f"probes-{uuid.uuid4().hex}",
        channel=common_pb2.CHANNEL_WEB,
        reporter=intake_pb2.Reporter(name="Dewi Lestari", phone=f"08129{n:07d}"),
        category=common_pb2.CATEGORY_LAND_SERVICE,
        location=common_pb2.Location(province_code="32", regency_code="32.73"),
        subject=f"Sertifikat tertunda {n}",
        description=f"Permohonan sertifikat nomor {n} belum selesai lebih dari tiga bulan.",
    )


def assigned_in_query(query: query_pb2_grpc.QueryStub, complaint_id: str) -> bool:
    """Routed (routing placed it) and visible in the query service (the placement projected)."""
    try:
        response = query.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=complaint_id), timeout=5
        )
    except grpc.RpcError as error:
        if error.code() in {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE}:
            return False
        raise
    return bool(response.complaint.status == common_pb2.COMPLAINT_STATUS_ASSIGNED)


def test_nats_down_longer_than_the_liveness_budget_fails_no_probe_and_intake_keeps_filing(
    probed_stack: LocalStack,
) -> None:
    stack = probed_stack
    assert stack.nats is not None
    intake = intake_pb2_grpc.IntakeStub(operator_channel(stack, stack.services["intake"].address))
    query = query_pb2_grpc.QueryStub(operator_channel(stack, stack.services["query"].address))

    # Warm-up: the whole path works before the fault.
    warm = intake.FileComplaint(filing(0), timeout=10)
    deadline = time.monotonic() + 60
    while not assigned_in_query(query, warm.complaint_id):
        assert time.monotonic() < deadline, "the warm-up complaint was never routed"
        time.sleep(0.5)

    probers = [
        Prober(service, kind, address, name)
        for service in ALL_SERVICES
        for kind, address in (
            ("grpc", stack.services[service].address),
            ("health", health_address(stack, service)),
        )
        for name in (LIVENESS, READINESS)
    ]
    for prober in probers:
        prober.start()
    filed: list[str] = []
    dependencies_seen: dict[str, str] = {}
    try:
        stack.nats.kill()
        outage_started = time.monotonic()
        n = 1
        while time.monotonic() - outage_started < OUTAGE_SECONDS:
            started = time.monotonic()
            response = intake.FileComplaint(filing(n), timeout=5)
            assert response.created
            filed.append(response.complaint_id)
            n += 1
            if time.monotonic() - outage_started > 10 and not dependencies_seen:
                dependencies_seen = {
                    service: Prober(
                        service, "grpc", stack.services[service].address, DEPENDENCIES
                    ).probe()
                    for service in ALL_SERVICES
                }
            time.sleep(max(0.0, FILE_EVERY_SECONDS - (time.monotonic() - started)))
        outage = time.monotonic() - outage_started
        stack.nats.start()
    finally:
        for prober in probers:
            prober.stop()

    assert outage >= OUTAGE_SECONDS
    report = {str(p): dict(p.outcomes) for p in probers}
    for prober in probers:
        # At least one probe per second of the outage (a thread may lag a little).
        assert sum(prober.outcomes.values()) >= OUTAGE_SECONDS * 0.8, report
    liveness_failures = {str(p): p.failures for p in probers if p.name == LIVENESS and p.failures}
    assert not liveness_failures, f"liveness failed during the NATS outage: {liveness_failures}"
    readiness_failures = {str(p): p.failures for p in probers if p.name == READINESS and p.failures}
    assert not readiness_failures, f"readiness failed during the NATS outage: {readiness_failures}"
    # The outage shows where operators look, without touching the probes.
    assert dependencies_seen == dict.fromkeys(ALL_SERVICES, "NOT_SERVING"), dependencies_seen
    assert len(filed) >= OUTAGE_SECONDS / FILE_EVERY_SECONDS - 1

    # After NATS returns everything catches up: each complaint filed during the outage is routed
    # and shows in the query service as assigned.
    deadline = time.monotonic() + CATCH_UP_SECONDS
    pending = list(filed)
    while pending:
        pending = [c for c in pending if not assigned_in_query(query, c)]
        if pending:
            assert time.monotonic() < deadline, (
                f"{len(pending)} of {len(filed)} complaints filed during the outage were not "
                f"routed and projected {CATCH_UP_SECONDS:.0f} s after NATS returned; "
                f"logs in {stack.data_dir / 'logs'}"
            )
            time.sleep(1.0)
    # And `dependencies` reports NATS back (the runtime checks every two seconds).
    for service in ALL_SERVICES:
        dependencies = Prober(service, "grpc", stack.services[service].address, DEPENDENCIES)
        deadline = time.monotonic() + 30
        while (seen := dependencies.probe()) != "SERVING":
            assert time.monotonic() < deadline, f"{service}: dependencies {seen} with NATS back"
            time.sleep(0.5)
