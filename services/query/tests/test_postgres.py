"""The core projection on PostgreSQL: migrations, order-independent projection, time travel, a
rebuild-and-swap (PostgreSQL renames constraints and indexes) and verify against SQLite."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from aduan.contract.eventlog import EventLogReader
from aduan.core.settings import WRITE_SERVICES
from aduan_devtools.testing.query import scenario, serve_eventlogs
from aduan_query.history import as_utc
from aduan_query.projector import Projector
from aduan_query.readmodels import LIVE, make_engine, migrate
from aduan_query.rebuild import Rebuilder, verify
from aduan_query.views import ComplaintFilter, ComplaintQueries

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


async def test_projection_rebuild_and_time_travel_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    history, ids = scenario(80, seed=31)
    engine = make_engine(postgres_url)
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), LIVE.metadata) == []
    projector = Projector(engine)
    for envelope in history.interleaved(random.Random(2)):
        projector.process(envelope)
    queries = ComplaintQueries(engine)
    moment = as_utc(history.in_history_order()[300].occurred_at.ToDatetime()) + timedelta(
        microseconds=1
    )
    then = [r["complaint_id"] for r in queries.iterate_complaints(ComplaintFilter(), as_of=moment)]
    assert 0 < len(then) < len(ids)

    reference = make_engine(f"sqlite:///{tmp_path / 'reference.sqlite'}")
    migrate(reference)
    other = Projector(reference)
    for envelope in history.in_history_order():
        other.process(envelope)
    same_past = ComplaintQueries(reference).iterate_complaints(ComplaintFilter(), as_of=moment)
    assert then == [r["complaint_id"] for r in same_past]

    async with serve_eventlogs(history.logs) as (addresses, _):
        reader = EventLogReader(addresses)
        try:
            report = await verify(engine, reader, WRITE_SERVICES, scratch_dir=tmp_path)
            assert report.ok, [str(d) for d in report.differences[:5]]
            result = await Rebuilder(engine, reader, WRITE_SERVICES, live=projector).rebuild()
            assert result.events == sum(len(log) for log in history.logs.values())
            report = await verify(engine, reader, WRITE_SERVICES, scratch_dir=tmp_path)
            assert report.ok, [str(d) for d in report.differences[:5]]
            # A second rebuild works too: the swapped-in names do not collide.
            await Rebuilder(engine, reader, WRITE_SERVICES, live=projector).rebuild()
        finally:
            await reader.close()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), LIVE.metadata) == []
    assert queries.get_complaint(ids[0])["complaint_id"] == ids[0]
    engine.dispose()
    reference.dispose()
