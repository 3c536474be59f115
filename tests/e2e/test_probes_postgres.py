"""Probes through a PostgreSQL outage: every service's store goes through a TCP proxy
(tests/tcpcut.py) to the PostgreSQL server named by ADUAN_TEST_POSTGRES_URL (a fresh database
per test; the server itself is never stopped). Cutting the proxy (open connections closed, new
ones refused) takes every service's readiness away within a few probe periods while liveness
holds; restoring it brings readiness back."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tcpcut import TcpCut

from aduan.core.settings import ALL_SERVICES
from aduan.service.health import DEPENDENCIES, LIVENESS, READINESS, STARTUP
from aduan_devtools.stack import LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PROBE_TIMEOUT_SECONDS = 1.0
# Readiness must follow within a few probe periods: the runtime checks every 2 s, a check
# times out after 2 s.
WITHIN_SECONDS = 10.0
# With the database back, each store's pool makes new connections (a retry backs off).
RECOVER_SECONDS = 45.0
# How long the cut lasts, probed every second.
CUT_SECONDS = 15.0


def status(address: str, name: str) -> str:
    """As a kubelet probes: a new connection, a one-second deadline."""
    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=name), timeout=PROBE_TIMEOUT_SECONDS
            )
        except grpc.RpcError as error:
            return str(error.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def statuses(stack: LocalStack, name: str) -> dict[str, str]:
    return {service: status(stack.services[service].address, name) for service in ALL_SERVICES}


@pytest.fixture
def proxy() -> Iterator[TcpCut]:
    base = os.environ.get("ADUAN_TEST_POSTGRES_URL")
    if not base:
        pytest.skip(
            "ADUAN_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
        )
    parsed = urlparse(base)
    with TcpCut(parsed.hostname or "127.0.0.1", parsed.port or 5432) as running:
        yield running


@pytest.fixture
def pg_stack(tmp_path: Path, postgres_url: str, proxy: TcpCut) -> Iterator[LocalStack]:
    """Every service on one fresh database (each write service in its own schema, the query
    service's read models in `public`), reached through the proxy."""
    if os.environ.get("ADUAN_E2E_TARGET", "local") != "local":
        pytest.skip("needs the local process stack")
    parsed = urlparse(postgres_url)
    through_proxy = urlunparse(parsed._replace(netloc=f"{parsed.username}@{proxy.address}"))
    env = {"ADUAN_STORE_URL": through_proxy}
    stores = {name: env for name in ALL_SERVICES}
    with LocalStack.on_free_ports(tmp_path / "var", service_env=stores) as running:
        yield running


def wait_for(stack: LocalStack, name: str, expected: str, within: float) -> float:
    """Poll every second until every service answers `expected` for `name`; seconds taken."""
    started = time.monotonic()
    seen: dict[str, str] = {}
    while time.monotonic() - started < within:
        seen = statuses(stack, name)
        if set(seen.values()) == {expected}:
            return time.monotonic() - started
        time.sleep(1.0)
    raise AssertionError(
        f"{name} not {expected} everywhere after {within:.0f} s: {seen}; "
        f"logs in {stack.data_dir / 'logs'}"
    )


def test_postgres_cut_takes_readiness_and_not_liveness(pg_stack: LocalStack, proxy: TcpCut) -> None:
    stack = pg_stack
    assert proxy.connections > 0, "the services do not reach PostgreSQL through the proxy"
    wait_for(stack, READINESS, "SERVING", RECOVER_SECONDS)

    proxy.cut()
    liveness: list[dict[str, str]] = []
    try:
        wait_for(stack, READINESS, "NOT_SERVING", WITHIN_SECONDS)
        assert set(statuses(stack, DEPENDENCIES).values()) == {"NOT_SERVING"}
        cut_started = time.monotonic()
        while time.monotonic() - cut_started < CUT_SECONDS:
            liveness.append(statuses(stack, LIVENESS))
            assert set(statuses(stack, READINESS).values()) == {"NOT_SERVING"}
            time.sleep(1.0)
        # Start-up stays done: an outage after start is not a reason to restart.
        assert set(statuses(stack, STARTUP).values()) == {"SERVING"}
    finally:
        proxy.restore()
    assert all(set(seen.values()) == {"SERVING"} for seen in liveness), liveness
    for service in ALL_SERVICES:
        assert stack.services[service].alive(), f"{service} exited during the outage"

    wait_for(stack, READINESS, "SERVING", RECOVER_SECONDS)
    wait_for(stack, DEPENDENCIES, "SERVING", RECOVER_SECONDS)
    assert set(statuses(stack, LIVENESS).values()) == {"SERVING"}
