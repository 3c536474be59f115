"""Replicas under load, one of each service killed: two replicas of every service on one private
PostgreSQL cluster (one database per service) and one NATS. The replicas started first lead
(the relays, consumers, SLA ticker, sealer and senders run there); under load, every one of them
is SIGKILLed at once and the others take over. Afterwards, through the survivors: every
acknowledged filing is routed and visible in query, query's read models equal the stores and a
rebuild, every required notification was sent once, and `aduan-audit verify --history` passes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults.harness import (
    Convergence,
    LoadRecord,
    build_stack,
    load_running,
    logs_hint,
    size,
)
from faults.pg import PrivateCluster, unavailable_reason

from aduan.core.settings import ALL_SERVICES, WRITE_SERVICES
from aduan_devtools.testing.notification import StandInProvider
from aduan_query import cli

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

REASON = unavailable_reason()


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    if REASON is not None:
        pytest.skip(f"no private PostgreSQL cluster: {REASON}")
    with PrivateCluster() as running:
        yield running


@pytest.fixture
def provider() -> Iterator[StandInProvider]:
    stand_in = StandInProvider().start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


def test_the_leading_replica_of_every_service_killed_under_load(
    tmp_path: Path,
    cluster: PrivateCluster,
    provider: StandInProvider,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sizing = size()
    databases = {name: f"{name}_replicas" for name in ALL_SERVICES}
    cluster.create_databases(databases.values())
    stores = {name: cluster.url(database) for name, database in databases.items()}
    leaders = build_stack(tmp_path / "leaders", provider, stores)
    survivors = build_stack(tmp_path / "survivors", provider, stores)
    record = LoadRecord()
    try:
        leaders.start(timeout=120)
        # One NATS for both, as in a cluster; the survivors start second, so they follow.
        survivors.nats_url = leaders.resolved_nats_url
        survivors.start(timeout=120)
        with load_running(survivors, record, sizing.rate):
            time.sleep(sizing.before_seconds + 2.0)
            for name in ALL_SERVICES:
                leaders.kill_service(name)
            time.sleep(sizing.after_seconds + 2.0)
        assert record.filed, "nothing was filed"
        # The survivors took over: each of them leads now (it followed until the kill).
        for name in ALL_SERVICES:
            log = survivors.services[name].log_path.read_text(errors="replace")
            assert "became leader" in log, f"{name}: no takeover; {logs_hint(survivors)}"
        print(Convergence(survivors, provider, record, sizing.converge_seconds).check())
        assert not record.unexpected, (
            f"callers saw unexpected errors: {record.unexpected[:5]}; {logs_hint(survivors)}"
        )
        eventlogs = [f"--eventlog={s}={survivors.services[s].address}" for s in WRITE_SERVICES]
        monkeypatch.setenv("ADUAN_TOKEN", survivors.token("auditor", sub="auditor:faults"))
        capsys.readouterr()
        status = cli.main(["verify", "--history", *eventlogs])
        out = capsys.readouterr().out
        assert status == 0, out
        assert "TAMPERED" not in out
    finally:
        survivors.stop()
        leaders.stop()
