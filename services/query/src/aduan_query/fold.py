"""Bulk projection: a whole history, in history order, folded in memory into empty tables.

A rebuild (and `verify`) projects every event exactly once, in history order, into tables nobody
else writes. The live projector's path costs several statements per event (read the complaint,
update it, close its version, insert the next one, move custody...); here each complaint's state
and its last custody segment stay in memory, rows that can no longer change (audit entries,
superseded versions, closed custody segments, checkpoints) are written in large batches while the
stream is read, and the rest (current complaints, open versions, queues, tracking) at the end.

The rules are the live projector's own: the same fold (`history.apply`), the same audit and
checkpoint rows (`audit.py`) and the same custody moves (`history.custody_move`), applied here to
each complaint's last custody segment held in memory instead of to the custody table. Tests compare
the result with live projection in random upstream interleavings, row by row (`rebuild.verify`
does the same in production).

Only valid for a stream in history order into empty tables (which is what a rebuild is).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import operator
import struct
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Connection, DateTime, Dialect, Engine, LargeBinary, Table

from aduan.eventstore.tracking import BatchPositions, PositionGapError
from aduan.reference.offices import holding_chain as ancestors
from aduan.v1 import events_pb2
from aduan_query.audit import audit_row, checkpoint_row
from aduan_query.erasure import erase_free_text
from aduan_query.history import (
    CUSTODY_EVENTS,
    ComplaintState,
    apply,
    changes_view,
    custody_move,
    custody_segment,
    held_seconds,
    stamp,
)
from aduan_query.readmodels import TableSet, writer

# Events folded between two writes: big enough for few, large transactions, small enough that
# the rows waiting in memory stay modest at a million events.
FLUSH_EVENTS = 20_000

Progress = Callable[[int, int], None]
Row = dict[str, Any]


@dataclass
class Batch:
    """Rows to insert, by table (in a fixed order, so that writes are deterministic)."""

    rows: dict[str, list[Row]] = field(default_factory=dict)

    def add(self, table: str, row: Row) -> None:
        self.rows.setdefault(table, []).append(row)

    def extend(self, table: str, rows: Iterable[Row]) -> None:
        self.rows.setdefault(table, []).extend(rows)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


@dataclass(frozen=True)
class Folded:
    events: int
    positions: dict[str, int]


class BulkFold:
    """The read models of a stream of envelopes in history order, built in memory."""

    def __init__(self) -> None:
        self.states: dict[str, ComplaintState] = {}
        self.custody: dict[str, Row] = {}
        # Into empty tables: every upstream starts from nothing.
        self._positions = BatchPositions(lambda upstream: 0)
        self.projected = 0
        self.pending = Batch()
        self.buffered = 0

    @property
    def positions(self) -> dict[str, int]:
        """The newest position projected per upstream."""
        return self._positions.newest

    def add(self, envelope: events_pb2.Envelope) -> bool:
        """Project one envelope; False when its upstream position was already projected (the
        projector's DuplicateEventError), PositionGapError when earlier ones are missing."""
        service = envelope.service
        if not self._positions.admit(service, envelope.position, envelope.previous_position):
            return False
        self.projected += 1
        self.buffered += 1
        kind = envelope.WhichOneof("payload")
        at = stamp(envelope.occurred_at)
        pending = self.pending
        pending.add("audit_trail", audit_row(envelope, at))
        if kind == "checkpoint_sealed":
            pending.add("checkpoints", checkpoint_row(envelope))
        complaint_id = envelope.complaint_id
        if not complaint_id:
            return True
        if service == "routing" and kind in CUSTODY_EVENTS:
            self._custody(complaint_id, envelope, kind, at)
        if changes_view(envelope):
            self._complaint(complaint_id, envelope, at)
        return True

    def _complaint(self, complaint_id: str, envelope: events_pb2.Envelope, at: datetime) -> None:
        state = self.states.get(complaint_id)
        if state is None:
            state = self.states[complaint_id] = ComplaintState(complaint_id)
        else:
            if state.last_occurred_at != at:
                # The version valid until now ends here (events at one instant make one version:
                # the state after the last of them, so the same instant keeps it open).
                version = state.to_row()
                version["valid_from"] = state.last_occurred_at
                version["valid_to"] = at
                self.pending.add("complaint_versions", version)
        apply(state, envelope, at)

    def _custody(
        self, complaint_id: str, envelope: events_pb2.Envelope, kind: str | None, at: datetime
    ) -> None:
        """`Projector._custody`, on the complaint's last segment kept in memory."""
        last = self.custody.get(complaint_id)
        holding = last if last is not None and last["until_at"] is None else None

        move = custody_move(
            envelope,
            holding["office_code"] if holding is not None else None,
            last["office_code"] if last is not None else None,
        )
        if move is None:
            return
        if move.close:
            assert holding is not None
            holding["until_at"] = at
            holding["held_seconds"] = held_seconds(holding["from_at"], at)
            holding["handed_to"] = move.handed_to
        if move.open_office:
            if last is not None:
                self.pending.add("custody", last)  # superseded: it cannot change any more
            self.custody[complaint_id] = custody_segment(
                complaint_id,
                (last["seq"] if last is not None else 0) + 1,
                move.open_office,
                move.received_from,
                at,
            )

    def take(self) -> Batch:
        """The rows that can no longer change, handed over for writing."""
        batch, self.pending, self.buffered = self.pending, Batch(), 0
        return batch

    def finish(self) -> Batch:
        """Everything still held in memory: current complaints, their open versions, the last
        custody segments, office queues and tracking. The fold is spent afterwards."""
        batch = self.take()
        complaints = [state.to_row() for state in self.states.values()]
        batch.extend("complaints", complaints)
        batch.extend(
            "complaint_versions",
            (
                {**state, "valid_from": state["last_occurred_at"], "valid_to": None}
                for state in complaints
            ),
        )
        batch.extend("custody", self.custody.values())
        batch.extend(
            "office_queue",
            (
                {"office_code": office, "complaint_id": state["complaint_id"], "depth": depth}
                for state in complaints
                for depth, office in enumerate(ancestors(state["holding_office"]))
            ),
        )
        batch.extend(
            "tracking",
            (
                {"upstream": upstream, "position": position}
                for upstream, position in self.positions.items()
            ),
        )
        self.states, self.custody = {}, {}
        return batch


def write(engine: Engine, tables: TableSet, batch: Batch) -> None:
    """Insert a batch in one transaction."""
    with writer(engine).begin() as conn:
        write_in(conn, tables, batch)


def write_in(conn: Connection, tables: TableSet, batch: Batch) -> None:
    """Bulk inserts: COPY on PostgreSQL, executemany of plain tuples on SQLite.

    Values are what `insert()` would send: psycopg adapts Python values itself; on SQLite the
    dialect's own bind processors convert them (memoised for datetimes, which a complaint's
    versions repeat), so the stored values are identical to the projector's."""
    memo: dict[datetime, Any] = {}
    for name, rows in batch.rows.items():
        if not rows:
            continue
        table: Table = tables.by_name(name)
        names = [column.name for column in table.columns]
        quoted = ", ".join(f'"{n}"' for n in names)
        values = operator.itemgetter(*names)
        if conn.dialect.name == "postgresql":
            cursor = conn.connection.cursor()
            try:
                with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(values(row))
            finally:
                cursor.close()
            continue
        placeholders = ", ".join("?" for _ in names)
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(
                f'INSERT INTO "{table.name}" ({quoted}) VALUES ({placeholders})',
                _sqlite_values(table, conn.dialect, rows, values, memo),
            )
        finally:
            cursor.close()


def _sqlite_values(
    table: Table,
    dialect: Dialect,
    rows: list[Row],
    values: Callable[[Row], tuple[Any, ...]],
    memo: dict[datetime, Any],
) -> list[Any]:
    moments: list[int] = []
    others: list[tuple[int, Callable[[Any], Any]]] = []
    render: Callable[[Any], Any] | None = None
    for index, column in enumerate(table.columns):
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        # pysqlite stores bools and bytes exactly as the Boolean and LargeBinary processors
        # would hand them over (integers 0/1, BLOBs): no conversion needed.
        if process is None or isinstance(column.type, (Boolean, LargeBinary)):
            continue
        if isinstance(column.type, DateTime):
            moments.append(index)
            render = process
        else:
            others.append((index, process))
    if render is None and not others:
        return [values(row) for row in rows]
    converted: list[Any] = []
    for row in rows:
        record = list(values(row))
        for index in moments:
            moment = record[index]
            if moment is None:
                continue
            text = memo.get(moment) if moment.tzinfo is UTC else None
            if text is None:
                assert render is not None
                text = render(moment)
                # Only UTC values are memoised: equal instants in other zones render differently.
                if moment.tzinfo is UTC:
                    memo[moment] = text
            record[index] = text
        for index, convert in others:
            record[index] = convert(record[index])
        converted.append(record)
    return converted


async def fold_stream(
    engine: Engine,
    tables: TableSet,
    envelopes: AsyncIterator[events_pb2.Envelope],
    progress: Progress | None = None,
    expected: int = 0,
    flush_events: int = FLUSH_EVENTS,
    worker: bool | None = None,
) -> Folded:
    """Fold a stream in history order into the (empty) `tables`. Writes run in a worker thread
    while the stream is read further.

    `worker`: fold and write in a child process, so that reading the stream (gRPC, protobuf)
    and folding (pure Python) use a core each instead of sharing one interpreter lock. By
    default for long streams (`expected` >= `WORKER_MIN_EVENTS`) into a database file or server;
    starting the child costs about a second, which short streams would not win back."""
    if worker is None:
        worker = expected >= WORKER_MIN_EVENTS and _shareable(engine)
    if worker:
        folded = await _fold_in_child(engine, tables, envelopes, progress, expected, flush_events)
    else:
        folded = await _fold_here(engine, tables, envelopes, progress, expected, flush_events)
    # What the live projector does when it meets an erasure, done once for the whole history.
    await asyncio.to_thread(_erase_free_text, engine, tables)
    return folded


def _erase_free_text(engine: Engine, tables: TableSet) -> None:
    with writer(engine).begin() as conn:
        erase_free_text(conn, tables)


async def _fold_here(
    engine: Engine,
    tables: TableSet,
    envelopes: AsyncIterator[events_pb2.Envelope],
    progress: Progress | None,
    expected: int,
    flush_events: int,
) -> Folded:
    fold = BulkFold()
    writing: asyncio.Future[None] | None = None
    try:
        async for envelope in envelopes:
            fold.add(envelope)
            if fold.buffered >= flush_events:
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(
                    asyncio.to_thread(write, engine, tables, fold.take())
                )
                if progress is not None:
                    progress(fold.projected, max(expected, fold.projected))
        if writing is not None:
            await writing
            writing = None
        folded = Folded(fold.projected, dict(fold.positions))
        await asyncio.to_thread(write, engine, tables, fold.finish())
        if progress is not None:
            progress(folded.events, max(expected, folded.events))
        return folded
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
            with contextlib.suppress(BaseException):
                await writing


# -- folding in a child process ---------------------------------------------------------------

WORKER_MIN_EVENTS = 20_000
# Envelopes per write to the child; bytes that may wait for it (it starts, about a second,
# while the stream is already being read).
CHUNK = 2_000
PIPE_BUFFER = 256 * 1024 * 1024
_FRAME = struct.Struct("<I")


class FoldWorkerError(RuntimeError):
    """The child process folding a stream failed."""


def _shareable(engine: Engine) -> bool:
    """A database another process can open (not an in-memory SQLite database)."""
    database = engine.url.database or ""
    return engine.dialect.name != "sqlite" or database not in {"", ":memory:"}


async def _fold_in_child(
    engine: Engine,
    tables: TableSet,
    envelopes: AsyncIterator[events_pb2.Envelope],
    progress: Progress | None,
    expected: int,
    flush_events: int,
) -> Folded:
    """`python -m aduan_query.fold` reads length-prefixed envelopes on stdin (after a header
    with the database URL, which stays out of the process list) and answers on stdout."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aduan_query.fold",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    child.stdin.transport.set_write_buffer_limits(high=PIPE_BUFFER)
    header = json.dumps(
        {
            "url": engine.url.render_as_string(hide_password=False),
            "prefix": tables.prefix,
            "flush_events": flush_events,
        }
    ).encode()
    sent = 0
    try:
        out = bytearray(_FRAME.pack(len(header)) + header)
        try:
            async for envelope in envelopes:
                data = envelope.SerializeToString()
                out += _FRAME.pack(len(data))
                out += data
                sent += 1
                if sent % CHUNK == 0:
                    child.stdin.write(bytes(out))
                    out.clear()
                    await child.stdin.drain()
                    if progress is not None:
                        progress(sent, max(expected, sent))
            child.stdin.write(bytes(out))
            await child.stdin.drain()
            child.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child ended early: its answer (or its exit status) says why
        answer = await child.stdout.read()
        status = await child.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await child.wait()
        raise
    try:
        reply = json.loads(answer)
    except ValueError:
        raise FoldWorkerError(f"the fold process exited with status {status}") from None
    if "gap" in reply:
        raise PositionGapError(reply["gap"])
    if "error" in reply:
        raise FoldWorkerError(reply["error"])
    folded = Folded(int(reply["events"]), {k: int(v) for k, v in reply["positions"].items()})
    if progress is not None:
        progress(folded.events, max(expected, folded.events))
    return folded


def _child_main() -> None:
    """The child: fold what arrives, write in a thread of its own, answer with the outcome.
    After a failure it keeps reading to the end, so that the parent never blocks on the pipe."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from aduan_query.readmodels import make_engine, table_set

    source = sys.stdin.buffer

    def frame() -> bytes | None:
        head = source.read(_FRAME.size)
        if len(head) < _FRAME.size:
            return None
        (size,) = _FRAME.unpack(head)
        return source.read(size)

    settings = json.loads(frame() or b"{}")
    engine = make_engine(settings["url"])
    tables = table_set(settings["prefix"])
    flush_events = int(settings["flush_events"])
    fold = BulkFold()
    reply: dict[str, Any] | None = None
    writer_thread = ThreadPoolExecutor(1)
    writing: Future[None] | None = None
    try:
        while (data := frame()) is not None:
            if reply is not None:
                continue
            try:
                fold.add(events_pb2.Envelope.FromString(data))
                if fold.buffered >= flush_events:
                    if writing is not None:
                        writing.result()
                    writing = writer_thread.submit(write, engine, tables, fold.take())
            except PositionGapError as error:
                reply = {"gap": str(error)}
            except Exception as error:
                reply = {"error": f"{type(error).__name__}: {error}"}
        if reply is None:
            try:
                if writing is not None:
                    writing.result()
                positions = dict(fold.positions)
                write(engine, tables, fold.finish())
                reply = {"events": fold.projected, "positions": positions}
            except Exception as error:
                reply = {"error": f"{type(error).__name__}: {error}"}
    finally:
        writer_thread.shutdown(wait=True)
        engine.dispose()
    sys.stdout.write(json.dumps(reply))
    sys.stdout.flush()


if __name__ == "__main__":
    _child_main()
