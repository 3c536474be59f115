"""End-to-end fixtures. By default the tests start the local process stack (the same code path as
`make up`); with ADUAN_E2E_TARGET=k8s they talk to a cluster through the given endpoints
(e.g. kubectl port-forward): ADUAN_E2E_INTAKE, ADUAN_E2E_ROUTING, ADUAN_E2E_NOTIFICATION,
ADUAN_E2E_QUERY as host:port, the operator token in ADUAN_E2E_TOKEN, and for services serving TLS
ADUAN_E2E_CA (CA bundle file), ADUAN_E2E_CERT/ADUAN_E2E_KEY (client certificate for mutual TLS)
and ADUAN_E2E_SERVER_NAME (name in the certificates, when not the address's host)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from e2e.callers import TARGET, operator_channel

from aduan.core.settings import ALL_SERVICES
from aduan_devtools.stack import LocalStack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


LOG_TAIL_LINES = 60
# The stacks the fixtures below are running, whose logs a failing test reports.
RUNNING: list[LocalStack] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    """A failing e2e test carries the tail of every service's log of the stacks it used: the
    server side of an INTERNAL error is only in those logs, which go with the temporary dir."""
    report: pytest.TestReport = yield
    if report.failed and call.when == "call":
        used = [v for v in getattr(item, "funcargs", {}).values() if isinstance(v, LocalStack)]
        log_dirs = dict.fromkeys(running.data_dir / "logs" for running in [*used, *RUNNING])
        for log_dir in log_dirs:
            for log in sorted(log_dir.glob("*.log")):
                lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
                report.sections.append((f"stack log {log.name}", "\n".join(lines)))
    return report


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """One local stack shared by the tests that only talk gRPC (processes on free loopback ports)."""
    if TARGET != "local":
        pytest.skip("the local process stack is not the target")
    with LocalStack.on_free_ports(tmp_path_factory.mktemp("stack") / "var") as running:
        RUNNING.append(running)
        try:
            yield running
        finally:
            RUNNING.remove(running)


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[LocalStack]:
    """A stack of its own, for tests that kill and restart processes. Local target only."""
    if TARGET != "local":
        pytest.skip("needs the local process stack (kills and restarts processes)")
    with LocalStack.on_free_ports(tmp_path / "var") as running:
        RUNNING.append(running)
        try:
            yield running
        finally:
            RUNNING.remove(running)


@pytest.fixture
def endpoints(request: pytest.FixtureRequest) -> dict[str, str]:
    """gRPC address per service, for tests that only talk gRPC (any target)."""
    if TARGET == "k8s":
        missing = [s for s in ALL_SERVICES if not os.environ.get(f"ADUAN_E2E_{s.upper()}")]
        if missing:
            pytest.fail(
                f"ADUAN_E2E_TARGET=k8s needs ADUAN_E2E_{{{','.join(s.upper() for s in missing)}}}"
            )
        return {s: os.environ[f"ADUAN_E2E_{s.upper()}"] for s in ALL_SERVICES}
    running: LocalStack = request.getfixturevalue("stack")
    return {name: service.address for name, service in running.services.items()}


@pytest.fixture
def channels(
    endpoints: dict[str, str], request: pytest.FixtureRequest
) -> Iterator[dict[str, grpc.Channel]]:
    """Channels carrying the operator token (e2e.callers): the local stack's, or
    $ADUAN_E2E_TOKEN against a cluster."""
    running = request.getfixturevalue("stack") if TARGET == "local" else None
    opened = {name: operator_channel(running, address) for name, address in endpoints.items()}
    try:
        yield opened
    finally:
        for channel in opened.values():
            channel.close()
