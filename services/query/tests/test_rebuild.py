"""Rebuilds from in-process EventLog servers: equality with the live read models, the atomic swap
while queries and the live projector keep running, and `aduan-audit verify|rebuild`."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, update

from aduan.contract.eventlog import EventLogReader
from aduan.core.settings import WRITE_SERVICES
from aduan.eventstore.store import DuplicateEventError
from aduan.eventstore.tracking import PositionGapError
from aduan_devtools.testing.query import scenario, serve_eventlogs
from aduan_query import cli
from aduan_query.projector import Projector
from aduan_query.readmodels import LIVE, TABLE_NAMES, make_engine, migrate
from aduan_query.rebuild import Rebuilder, table_rows, verify
from aduan_query.views import ComplaintFilter, ComplaintQueries

pytestmark = pytest.mark.integration


def snapshot(engine: Engine) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    with engine.connect() as conn:
        return {name: table_rows(conn, LIVE.by_name(name)) for name in TABLE_NAMES}


def eventlog_args(addresses: dict[str, str]) -> list[str]:
    return [
        arg
        for service, address in addresses.items()
        for arg in ("--eventlog", f"{service}={address}")
    ]


async def test_after_1000_complaints_a_fresh_rebuild_equals_the_live_read_models(
    tmp_path: Path,
) -> None:
    history, _ = scenario(1000, seed=2026)
    engine = make_engine(f"sqlite:///{tmp_path / 'live.sqlite'}")
    migrate(engine)
    projector = Projector(engine)

    def project_live() -> None:
        # Upstreams interleaved at random, as the live consumer sees them.
        for envelope in history.interleaved(random.Random(6)):
            projector.process(envelope)

    await asyncio.to_thread(project_live)
    kinds = {e.event_type for log in history.logs.values() for e in log}
    assert {"CaseReassigned", "ReporterAnswered", "CaseResolved", "CaseReopened"} <= kinds

    async with serve_eventlogs(history.logs) as (addresses, _):
        reader = EventLogReader(addresses)
        try:
            report = await verify(engine, reader, WRITE_SERVICES, scratch_dir=tmp_path)
        finally:
            await reader.close()
    assert report.ok, [str(d) for d in report.differences[:10]]
    assert report.rows_compared["complaints"] == 1000
    assert report.rows_compared["audit_trail"] == sum(len(log) for log in history.logs.values())
    assert report.rows_compared["complaint_versions"] > 5000
    assert report.positions == {s: len(history.logs[s]) for s in WRITE_SERVICES}


async def test_rebuild_swaps_in_fresh_tables_while_queries_and_the_projector_keep_working(
    tmp_path: Path,
) -> None:
    history, _ = scenario(200, seed=12)
    engine = make_engine(f"sqlite:///{tmp_path / 'live.sqlite'}")
    migrate(engine)
    projector = Projector(engine)
    queries = ComplaintQueries(engine)
    # The EventLogs grow during the rebuild: 70% is stored (and projected) before it starts.
    served: dict[str, list[Any]] = {s: [] for s in WRITE_SERVICES}
    later: list[Any] = []
    for service, log in history.logs.items():
        cut = int(len(log) * 0.7)
        served[service].extend(log[:cut])
        later.extend(log[cut:])
    for service in WRITE_SERVICES:
        projector.process_batch(served[service])
    existing = [row["complaint_id"] for row in queries.iterate_complaints(ComplaintFilter())]

    stop = threading.Event()
    failures: list[BaseException] = []
    answered = 0

    def read_continuously() -> None:
        nonlocal answered
        rng = random.Random(1)
        while not stop.is_set():
            try:
                queries.get_complaint(rng.choice(existing))
                queries.list_complaints(
                    ComplaintFilter(office_code="PUSAT.IP3", include_descendants=True), size=20
                )
                answered += 1
            except Exception as error:  # any failure during the swap is a bug
                failures.append(error)

    def consume(envelope: Any) -> None:
        """What the TrackedConsumer does: skip what is tracked, repair a gap, then process."""
        log = served[envelope.service]
        while projector.last_position(envelope.service) < envelope.position:
            last = projector.last_position(envelope.service)
            missing = [e for e in log if last < e.position <= envelope.position]
            # The rebuild's catch-up may get there first: skipped the same way.
            with contextlib.suppress(DuplicateEventError, PositionGapError):
                projector.process_batch(missing)

    def store_and_project_the_rest() -> None:
        for envelope in later:
            served[envelope.service].append(envelope)
            consume(envelope)

    async with serve_eventlogs(served) as (addresses, fakes):
        reader = EventLogReader(addresses)
        readers = [threading.Thread(target=read_continuously) for _ in range(1)]
        for thread in readers:
            thread.start()
        try:
            progress: list[tuple[int, int]] = []
            rebuilder = Rebuilder(engine, reader, WRITE_SERVICES, live=projector, batch_size=200)
            rebuild = asyncio.create_task(rebuilder.rebuild(lambda d, e: progress.append((d, e))))
            await asyncio.to_thread(store_and_project_the_rest)
            result = await rebuild
            report = await verify(engine, reader, WRITE_SERVICES, scratch_dir=tmp_path)
        finally:
            stop.set()
            for thread in readers:
                thread.join()
            await reader.close()
    assert failures == []
    assert answered > 0
    assert progress
    assert progress[-1][0] == progress[-1][1]
    assert result.events > 0
    assert result.events_per_second > 0
    assert projector.positions() == {s: len(history.logs[s]) for s in WRITE_SERVICES}
    assert report.ok, [str(d) for d in report.differences[:10]]
    assert all(fake.reads >= 1 for fake in fakes.values())
    # The swapped-in tables carry the live names, indexes and migration version.
    with engine.connect() as conn:
        names = set(conn.exec_driver_sql("SELECT name FROM sqlite_master").scalars())
    assert not any(name.startswith(("rebuild_", "ix_rebuild_")) for name in names)
    assert {index.name for index in LIVE.complaints.indexes} <= names


async def test_verify_names_every_difference_and_rebuild_repairs_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history, ids = scenario(30, seed=4)
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    engine = make_engine(url)
    migrate(engine)
    projector = Projector(engine)
    for envelope in history.in_history_order():
        projector.process(envelope)
    before = snapshot(engine)
    with engine.begin() as conn:
        conn.execute(
            update(LIVE.complaints)
            .where(LIVE.complaints.c.complaint_id == ids[0])
            .values(holding_office="KANTAH.11.01", rating=5)
        )
        conn.execute(delete(LIVE.audit).where(LIVE.audit.c.event_id == "routing:3"))

    async with serve_eventlogs(history.logs) as (addresses, _):
        args = ["--store-url", url, *eventlog_args(addresses)]
        status = await asyncio.to_thread(cli.main, ["verify", "--projections", *args])
        output = capsys.readouterr().out
        assert status == 1
        assert f"complaints ('{ids[0]}',): differs (columns: holding_office, rating)" in output
        assert "audit_trail ('routing:3',): only in rebuild" in output

        status = await asyncio.to_thread(cli.main, ["rebuild", *args])
        output = capsys.readouterr().out
        assert status == 0
        assert "rebuilt and swapped in" in output
        assert "events/s" in output
        assert await asyncio.to_thread(cli.main, ["verify", "--projections", *args]) == 0
        assert "OK" in capsys.readouterr().out
    assert snapshot(engine) == before
