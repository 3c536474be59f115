"""Rebuild the read models from the write services' EventLogs, and verify live ones against a
fresh rebuild.

Rebuild: fill a fresh, prefixed table set (`rebuild_*`) from every EventLog, merged in history
order, while the live tables keep serving and the live consumer keeps projecting; then swap the
fresh tables in within one transaction (drop live, rename fresh; SQLite and PostgreSQL both have
transactional DDL) and catch the swapped-in tables up with whatever was stored meanwhile. The
tracking rows swap with the data, so the live consumer simply continues from the rebuilt positions.

Verify: rebuild into a scratch SQLite database up to exactly the positions the live tables have
projected, then compare every table row for row.
"""

from __future__ import annotations

import asyncio
import heapq
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, inspect, select
from sqlalchemy.schema import CreateTable

from aduan.v1 import events_pb2
from aduan_query.fold import Folded, fold_stream
from aduan_query.history import as_utc
from aduan_query.projector import Projector
from aduan_query.readmodels import (
    LIVE,
    TABLE_NAMES,
    TableSet,
    make_engine,
    migrate,
    table_set,
    writer,
)

REBUILD = table_set("rebuild_")
BATCH_SIZE = 500

Progress = Callable[[int, int], None]
"""(events processed so far, events expected) -> None."""


class EventSource(Protocol):
    """What a rebuild reads: `aduan.contract.eventlog.EventLogReader` or any fake of it."""

    def read(
        self, service: str, after: int = 0, limit: int = 0, follow: bool = False
    ) -> AsyncIterator[events_pb2.Envelope]: ...

    async def head(self, service: str) -> int: ...


@dataclass(frozen=True)
class RebuildResult:
    events: int
    seconds: float
    positions: dict[str, int]

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


MergeKey = tuple[int, int, str, int]


def merge_key(envelope: events_pb2.Envelope) -> MergeKey:
    """`history.history_key` without building datetimes: the same order, because datetimes
    carry microseconds (protobuf truncates the nanoseconds) and timestamps are normalised."""
    occurred = envelope.occurred_at
    return (occurred.seconds, occurred.nanos // 1000, envelope.service, envelope.position)


async def merged(
    source: EventSource, services: Sequence[str], until: Mapping[str, int] | None = None
) -> AsyncIterator[events_pb2.Envelope]:
    """Every service's envelopes, merged in history order (occurred_at, service, position).

    The projection does not depend on the order, but history order keeps the projector on its
    fast path (no re-folds). `until` stops each service at a position (inclusive)."""
    streams: dict[str, AsyncIterator[events_pb2.Envelope]] = {}
    heap: list[tuple[MergeKey, events_pb2.Envelope]] = []

    async def advance(service: str) -> None:
        envelope = await anext(streams[service], None)
        limit = None if until is None else until.get(service, 0)
        if envelope is not None and (limit is None or envelope.position <= limit):
            heapq.heappush(heap, (merge_key(envelope), envelope))

    for service in services:
        if until is not None and until.get(service, 0) <= 0:
            continue
        limit = 0 if until is None else until[service]
        streams[service] = aiter(source.read(service, after=0, limit=limit))
        await advance(service)
    try:
        while heap:
            _, envelope = heapq.heappop(heap)
            yield envelope
            await advance(envelope.service)
    finally:
        for stream in streams.values():
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()


async def project_stream(
    projector: Projector,
    envelopes: AsyncIterator[events_pb2.Envelope],
    progress: Progress | None = None,
    expected: int = 0,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Project a stream in batches of one transaction each; returns how many were projected."""
    done = 0
    batch: list[events_pb2.Envelope] = []

    async def flush() -> None:
        nonlocal done
        done += await asyncio.to_thread(projector.process_batch, list(batch))
        batch.clear()
        if progress is not None:
            progress(done, max(expected, done))

    async for envelope in envelopes:
        batch.append(envelope)
        if len(batch) >= batch_size:
            await flush()
    if batch:
        await flush()
    return done


class Rebuilder:
    def __init__(
        self,
        engine: Engine,
        source: EventSource,
        services: Sequence[str],
        live: Projector | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.engine = engine
        self.source = source
        self.services = list(services)
        # The service's own projector, so that its listeners (read-your-writes, watches) hear
        # about the catch-up after the swap.
        self.live = live or Projector(engine, LIVE)
        self.batch_size = batch_size
        self._running = asyncio.Lock()

    async def heads(self) -> dict[str, int]:
        return {service: await self.source.head(service) for service in self.services}

    async def rebuild(self, progress: Progress | None = None) -> RebuildResult:
        if self._running.locked():
            from aduan.core.errors import InvalidStateError

            raise InvalidStateError("a rebuild is already running")
        async with self._running:
            started = time.monotonic()
            heads = await self.heads()
            folded = await load(
                self.engine, merged(self.source, self.services), progress, sum(heads.values())
            )
            events = folded.events + await self.catch_up()
            positions = await asyncio.to_thread(self.live.positions)
            return RebuildResult(events, time.monotonic() - started, positions)

    async def catch_up(self) -> int:
        """Project into the live tables whatever the EventLogs hold beyond their tracking."""
        done = 0
        for service in self.services:
            after = await asyncio.to_thread(self.live.last_position, service)
            done += await project_stream(
                self.live, aiter(self.source.read(service, after=after)), None, 0, self.batch_size
            )
        return done


async def load(
    engine: Engine,
    envelopes: AsyncIterator[events_pb2.Envelope],
    progress: Progress | None = None,
    expected: int = 0,
    worker: bool | None = None,
) -> Folded:
    """Replace the live tables by the projection of `envelopes` (a whole history, in history
    order): fill a fresh table set, then swap it in. `worker`: see `fold.fold_stream`."""
    await asyncio.to_thread(prepare, engine, REBUILD)
    # The fresh tables are ours alone until the swap: fold in memory, write in bulk.
    folded = await fold_stream(engine, REBUILD, envelopes, progress, expected, worker=worker)
    await asyncio.to_thread(build_indexes, engine, REBUILD)
    await asyncio.to_thread(swap, engine, REBUILD)
    return folded


def prepare(engine: Engine, tables: TableSet) -> None:
    """Fresh, empty tables of `tables` (dropping leftovers of an interrupted rebuild), without
    their secondary indexes: building an index once after the bulk load is much cheaper than
    maintaining it row by row (`build_indexes`)."""
    with writer(engine).begin() as conn:
        existing = set(inspect(conn).get_table_names())
        for table in reversed(list(tables)):
            if table.name in existing:
                conn.exec_driver_sql(f'DROP TABLE "{table.name}"')
        for table in tables:
            conn.execute(CreateTable(table))


def build_indexes(engine: Engine, tables: TableSet) -> None:
    """The secondary indexes of freshly loaded `tables`, and planner statistics.

    SQLite cannot rename an index, so there the swap builds them under their canonical names;
    PostgreSQL builds them here, outside the swap's transaction, and the swap renames them."""
    if engine.dialect.name != "postgresql":
        return
    with writer(engine).begin() as conn:
        for table in tables:
            for table_index in table.indexes:
                table_index.create(conn)
        for table in tables:
            conn.exec_driver_sql(f'ANALYZE "{table.name}"')


def swap(engine: Engine, fresh: TableSet) -> None:
    """Replace the live tables by `fresh` in one transaction; readers see either set, whole."""
    with writer(engine).begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        for base in TABLE_NAMES:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{base}"')
        for base in TABLE_NAMES:
            table = fresh.by_name(base)
            conn.exec_driver_sql(f'ALTER TABLE "{table.name}" RENAME TO "{base}"')
            live = LIVE.by_name(base)
            if postgres:
                conn.exec_driver_sql(
                    f'ALTER TABLE "{base}" RENAME CONSTRAINT "pk_{table.name}" TO "pk_{base}"'
                )
                for index in table.indexes:
                    assert isinstance(index.name, str)
                    canonical = index.name.replace(f"ix_{table.name}_", f"ix_{base}_", 1)
                    conn.exec_driver_sql(f'ALTER INDEX "{index.name}" RENAME TO "{canonical}"')
            else:
                # SQLite cannot rename an index: build the canonical ones (`build_indexes` left the
                # fresh tables without theirs).
                for index in table.indexes:
                    conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.name}"')
                for index in live.indexes:
                    index.create(conn)


# -- verification ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple[Any, ...]
    problem: str
    columns: tuple[str, ...] = ()

    def __str__(self) -> str:
        detail = f" (columns: {', '.join(self.columns)})" if self.columns else ""
        return f"{self.table} {self.key}: {self.problem}{detail}"


@dataclass
class VerifyReport:
    positions: dict[str, int]
    rows_compared: dict[str, int] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _normalised(value: Any) -> Any:
    return as_utc(value) if isinstance(value, datetime) else value


def table_rows(conn: Connection, table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    keys = [column.name for column in table.primary_key.columns]
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in conn.execute(select(table)).mappings():
        values = {name: _normalised(value) for name, value in row.items()}
        rows[tuple(values[k] for k in keys)] = values
    return rows


def compare(
    left: Connection,
    right: Connection,
    left_tables: TableSet = LIVE,
    right_tables: TableSet = LIVE,
    names: Sequence[str] = TABLE_NAMES,
    left_name: str = "live",
    right_name: str = "rebuild",
) -> tuple[dict[str, int], list[Difference]]:
    """Row-for-row comparison of two table sets (possibly in different databases)."""
    counts: dict[str, int] = {}
    differences: list[Difference] = []
    for base in names:
        mine = table_rows(left, left_tables.by_name(base))
        theirs = table_rows(right, right_tables.by_name(base))
        counts[base] = max(len(mine), len(theirs))
        for key in sorted(mine.keys() | theirs.keys(), key=repr):
            if key not in theirs:
                differences.append(Difference(base, key, f"only in {left_name}"))
            elif key not in mine:
                differences.append(Difference(base, key, f"only in {right_name}"))
            elif mine[key] != theirs[key]:
                columns = tuple(c for c in mine[key] if mine[key][c] != theirs[key].get(c))
                differences.append(Difference(base, key, "differs", columns))
    return counts, differences


async def verify(
    engine: Engine,
    source: EventSource,
    services: Sequence[str],
    scratch_dir: Path | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Compare the live read models with a fresh rebuild up to the same positions."""
    live = engine.connect()
    if live.dialect.name == "postgresql":
        live = live.execution_options(isolation_level="REPEATABLE READ")
    try:
        live.begin()  # one snapshot for the positions and every table read below
        tracking = LIVE.tracking
        positions = {row.upstream: int(row.position) for row in live.execute(select(tracking))}
        with tempfile.TemporaryDirectory(dir=scratch_dir) as scratch:
            fresh_engine = make_engine(f"sqlite:///{Path(scratch) / 'verify.sqlite'}")
            try:
                await asyncio.to_thread(migrate, fresh_engine)
                await fold_stream(
                    fresh_engine,
                    LIVE,
                    merged(source, services, positions),
                    progress,
                    sum(positions.values()),
                )
                with fresh_engine.connect() as theirs:
                    counts, differences = await asyncio.to_thread(compare, live, theirs)
            finally:
                fresh_engine.dispose()
        return VerifyReport(positions, counts, differences)
    finally:
        live.close()
