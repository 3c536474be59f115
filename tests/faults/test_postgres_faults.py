"""Scenario 3 of the fault suite: every service's store on a private PostgreSQL cluster (initdb
into a temporary directory, a free loopback port; never the system PostgreSQL), restarted under
load, once cleanly and once as a crash (immediate shutdown, WAL recovery). Afterwards everything
converges as in test_faults.py. Skipped when the PostgreSQL server binaries are missing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from faults.harness import Convergence, LoadRecord, load_running, logs_hint, size, started
from faults.pg import PrivateCluster, unavailable_reason

from aduan.core.settings import ALL_SERVICES
from aduan_devtools.stack import LocalStack
from aduan_devtools.testing.notification import StandInProvider

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

REASON = unavailable_reason()


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    if REASON is not None:
        pytest.skip(f"no private PostgreSQL cluster: {REASON}")
    with PrivateCluster() as running:
        yield running


@pytest.fixture(scope="module")
def provider() -> Iterator[StandInProvider]:
    stand_in = StandInProvider().start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


@pytest.fixture(scope="module")
def pg_stack(
    tmp_path_factory: pytest.TempPathFactory, cluster: PrivateCluster, provider: StandInProvider
) -> Iterator[LocalStack]:
    def stores(attempt: int) -> dict[str, str]:
        names = {name: f"{name}_{attempt}" for name in ALL_SERVICES}
        cluster.create_databases(names.values())
        return {name: cluster.url(database) for name, database in names.items()}

    with started(tmp_path_factory.mktemp("pg-faults"), provider, stores) as running:
        yield running


@pytest.fixture(scope="module")
def record() -> LoadRecord:
    """Shared by both restarts: the checks cover everything filed on this stack."""
    return LoadRecord()


@pytest.mark.parametrize("crash", [False, True], ids=["clean-restart", "crash-restart"])
def test_postgres_restarted_mid_run(
    pg_stack: LocalStack,
    cluster: PrivateCluster,
    provider: StandInProvider,
    record: LoadRecord,
    crash: bool,
) -> None:
    sizing = size()
    before = len(record.filed)
    with load_running(pg_stack, record, sizing.rate):
        time.sleep(sizing.before_seconds)
        if crash:
            cluster.crash()
        else:
            cluster.stop()
        time.sleep(2.0)  # a database outage, not a blip
        cluster.start()
        time.sleep(sizing.after_seconds)
    assert len(record.filed) > before, "nothing was filed"
    print(Convergence(pg_stack, provider, record, sizing.converge_seconds).check())
    # While the database was down callers may be refused (UNAVAILABLE), never INTERNAL.
    assert not record.unexpected, (
        f"callers saw unexpected errors: {record.unexpected[:5]}; {logs_hint(pg_stack)}"
    )
