"""Projects integration events (aduan.v1.Envelope) into the read models.

Each envelope is applied in one transaction together with its upstream's tracking record, so a
redelivered event is recognised and skipped (DuplicateEventError). The tracking row is read FOR
UPDATE (PostgreSQL) or under SQLite's write lock, so two projectors (the service's consumer and a
rebuild's catch-up) never apply the same event twice.

Order independence across upstreams: the complaint view is the fold of the complaint's events in
history order (see `history.py`). An event that belongs after everything folded so far (the
normal case) is applied to the current row; one that belongs earlier (e.g. intake's event arrives
after routing's later ones) re-folds the complaint's versions from that moment on, out of the
envelopes kept in the audit trail.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from aduan.eventstore.store import DuplicateEventError
from aduan.eventstore.tracking import BatchPositions, follows_on
from aduan.reference.offices import holding_chain as ancestors
from aduan.v1 import events_pb2
from aduan_query.audit import audit_row, checkpoint_row
from aduan_query.erasure import ERASURE_KINDS, erase_free_text
from aduan_query.history import (
    CUSTODY_EVENTS,
    ComplaintState,
    apply,
    changes_view,
    custody_move,
    custody_segment,
    held_seconds,
    history_key,
    stamp,
)
from aduan_query.readmodels import LIVE, TableSet, writer


@dataclass(frozen=True)
class ComplaintChange:
    """A complaint's view changed because of an event (for WatchComplaints)."""

    complaint_id: str
    event_type: str
    event_id: str


@dataclass
class _Batch:
    """What one batch transaction has written so far, so that it need not read it back: each
    complaint's current state after the batch's events, and audit rows not yet inserted (one
    insert per batch instead of one per event)."""

    states: dict[str, ComplaintState] = field(default_factory=dict)
    audit: list[dict[str, object]] = field(default_factory=list)
    # Complaints whose free text may have to be erased once the audit rows are in.
    erasures: set[str] = field(default_factory=set)

    def flush_audit(self, conn: Connection, statement: object) -> None:
        if self.audit:
            conn.execute(statement, self.audit)  # type: ignore[call-overload]
            self.audit = []


ProgressListener = Callable[[str, int], None]
ChangeListener = Callable[[Sequence[ComplaintChange]], None]


class _Statements:
    """Statements built once per table set; values are bound at execution (cheap and cached)."""

    def __init__(self, t: TableSet) -> None:
        complaints, versions, audit, tracking = t.complaints, t.versions, t.audit, t.tracking
        same_complaint = versions.c.complaint_id == bindparam("_id")
        self.tracked = (
            select(tracking.c.position)
            .where(tracking.c.upstream == bindparam("_upstream"))
            .with_for_update()
        )
        self.insert_tracking = insert(tracking)
        self.update_tracking = (
            update(tracking)
            .where(tracking.c.upstream == bindparam("_upstream"))
            .values(position=bindparam("position"))
        )
        self.insert_audit = insert(audit)
        self.complaint = select(complaints).where(complaints.c.complaint_id == bindparam("_id"))
        self.insert_complaint = insert(complaints)
        self.update_complaint = update(complaints).where(
            complaints.c.complaint_id == bindparam("_id")
        )
        self.insert_version = insert(versions)
        self.update_version = update(versions).where(
            same_complaint, versions.c.valid_from == bindparam("_from")
        )
        self.close_version = (
            update(versions)
            .where(same_complaint, versions.c.valid_to.is_(None))
            .values(valid_to=bindparam("valid_to"))
        )
        self.set_version_end = (
            update(versions)
            .where(same_complaint, versions.c.valid_from == bindparam("_from"))
            .values(valid_to=bindparam("valid_to"))
        )
        self.version_before = (
            select(versions)
            .where(same_complaint, versions.c.valid_from < bindparam("_since"))
            .order_by(versions.c.valid_from.desc())
            .limit(1)
        )
        self.delete_versions_since = delete(versions).where(
            same_complaint, versions.c.valid_from >= bindparam("_since")
        )
        self.history_since = (
            select(audit.c.envelope)
            .where(
                audit.c.complaint_id == bindparam("_id"),
                audit.c.occurred_at >= bindparam("_since"),
            )
            .order_by(audit.c.occurred_at, audit.c.service, audit.c.position)
        )
        custody = t.custody
        same_case = custody.c.complaint_id == bindparam("_id")
        self.last_custody = select(custody).where(same_case).order_by(custody.c.seq.desc()).limit(1)
        self.close_custody = (
            update(custody)
            .where(same_case, custody.c.seq == bindparam("_seq"))
            .values(
                until_at=bindparam("until_at"),
                held_seconds=bindparam("held_seconds"),
                handed_to=bindparam("handed_to"),
            )
        )
        self.insert_custody = insert(custody)
        self.insert_checkpoint = insert(t.checkpoints)
        self.delete_queue = delete(t.queue).where(t.queue.c.complaint_id == bindparam("_id"))
        self.insert_queue = insert(t.queue)


class Projector:
    def __init__(self, engine: Engine, tables: TableSet = LIVE) -> None:
        self.engine = engine
        self.tables = tables
        self._sql = _Statements(tables)
        self._writer = writer(engine)
        self._listeners: list[ProgressListener] = []
        self._change_listeners: list[ChangeListener] = []
        self._lock = threading.Lock()

    # -- listeners ----------------------------------------------------------------------------
    def add_listener(self, listener: ProgressListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: ProgressListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def add_change_listener(self, listener: ChangeListener) -> None:
        with self._lock:
            self._change_listeners.append(listener)

    def remove_change_listener(self, listener: ChangeListener) -> None:
        with self._lock:
            if listener in self._change_listeners:
                self._change_listeners.remove(listener)

    def _notify(self, progress: Mapping[str, int], changes: Sequence[ComplaintChange]) -> None:
        with self._lock:
            listeners = list(self._listeners)
            change_listeners = list(self._change_listeners)
        for service, position in progress.items():
            for listener in listeners:
                listener(service, position)
        if changes:
            for change_listener in change_listeners:
                change_listener(changes)

    # -- EnvelopeProcessor ------------------------------------------------------------------
    def last_position(self, upstream: str) -> int:
        tracking = self.tables.tracking
        with self.engine.connect() as conn:
            value = conn.execute(
                select(tracking.c.position).where(tracking.c.upstream == upstream)
            ).scalar()
        return int(value or 0)

    def positions(self) -> dict[str, int]:
        tracking = self.tables.tracking
        with self.engine.connect() as conn:
            return {row.upstream: int(row.position) for row in conn.execute(select(tracking))}

    def process(self, envelope: events_pb2.Envelope) -> None:
        with self._writer.begin() as conn:
            change = self._process(conn, envelope)
        self._notify({envelope.service: envelope.position}, [change] if change else [])

    def process_batch(self, envelopes: Iterable[events_pb2.Envelope]) -> int:
        """Project many envelopes in one transaction, skipping those already tracked (the live
        consumer's batches, rebuilds and catch-up). Returns how many were projected.

        Each upstream's tracking row is read (locked) once, when the batch first meets that
        upstream, and written once at the end: within the transaction nobody else moves it."""
        changes: list[ComplaintChange] = []
        stored: dict[str, int | None] = {}  # as read: None when the upstream has no row yet
        projected = 0
        batch = _Batch()
        with self._writer.begin() as conn:

            def known_position(upstream: str) -> int:
                stored[upstream] = self._tracked(conn, upstream)
                return stored[upstream] or 0

            positions = BatchPositions(known_position)
            for envelope in envelopes:
                if not positions.admit(
                    envelope.service, envelope.position, envelope.previous_position
                ):
                    continue  # projected before
                change = self.apply(conn, envelope, batch)
                projected += 1
                if change is not None:
                    changes.append(change)
            batch.flush_audit(conn, self._sql.insert_audit)
            erase_free_text(conn, self.tables, batch.erasures)
            for service, position in positions.newest.items():
                self._save_tracked(conn, service, stored[service], position)
        self._notify(positions.newest, changes)
        return projected

    def _process(self, conn: Connection, envelope: events_pb2.Envelope) -> ComplaintChange | None:
        current = self._tracked(conn, envelope.service)
        self._check_follows(envelope, current)
        change = self.apply(conn, envelope)
        if envelope.WhichOneof("payload") in ERASURE_KINDS:
            erase_free_text(conn, self.tables, [envelope.complaint_id])
        self._save_tracked(conn, envelope.service, current, envelope.position)
        return change

    def _tracked(self, conn: Connection, upstream: str) -> int | None:
        value = conn.execute(self._sql.tracked, {"_upstream": upstream}).scalar()
        return None if value is None else int(value)

    @staticmethod
    def _check_follows(envelope: events_pb2.Envelope, current: int | None) -> None:
        """DuplicateEventError when `envelope` was projected before; PositionGapError (from
        `follows_on`) when earlier events of its upstream were not. That gap is transient: the
        consumer repairs the range from the EventLog before it projects, so it only meets one
        when another projector, e.g. a rebuild's catch-up, moved the tracking meanwhile, and
        then retries."""
        if not follows_on(
            envelope.service, envelope.position, envelope.previous_position, current or 0
        ):
            raise DuplicateEventError(envelope.event_id)

    def _save_tracked(
        self, conn: Connection, upstream: str, current: int | None, position: int
    ) -> None:
        sql = self._sql
        conn.execute(
            sql.insert_tracking if current is None else sql.update_tracking,
            {"upstream": upstream, "position": position, "_upstream": upstream},
        )

    # -- projections --------------------------------------------------------------------------
    def apply(
        self, conn: Connection, envelope: events_pb2.Envelope, batch: _Batch | None = None
    ) -> ComplaintChange | None:
        kind = envelope.WhichOneof("payload")
        if batch is None:
            conn.execute(self._sql.insert_audit, audit_row(envelope))
        else:
            batch.audit.append(audit_row(envelope))
            if kind in ERASURE_KINDS and envelope.complaint_id:
                batch.erasures.add(envelope.complaint_id)
        if kind == "checkpoint_sealed":
            conn.execute(self._sql.insert_checkpoint, checkpoint_row(envelope))
        if not envelope.complaint_id:
            return None
        if envelope.service == "routing" and kind in CUSTODY_EVENTS:
            self._custody(conn, envelope)
        if changes_view(envelope) and self._complaint(conn, envelope, batch):
            return ComplaintChange(envelope.complaint_id, envelope.event_type, envelope.event_id)
        return None

    def _complaint(
        self, conn: Connection, envelope: events_pb2.Envelope, batch: _Batch | None = None
    ) -> bool:
        complaint_id = envelope.complaint_id
        before: ComplaintState | None
        if batch is not None and complaint_id in batch.states:
            before = batch.states[complaint_id]
        else:
            row = conn.execute(self._sql.complaint, {"_id": complaint_id}).mappings().first()
            before = ComplaintState.from_row(dict(row)) if row is not None else None
        if before is not None and history_key(envelope) < before.last_key:
            if batch is not None:
                batch.flush_audit(conn, self._sql.insert_audit)  # the re-fold reads the trail
            after = self._refold(conn, complaint_id, stamp(envelope.occurred_at))
        else:
            after = before.copy() if before is not None else ComplaintState(complaint_id)
            apply(after, envelope)
            self._append_version(conn, before, after)
        self._write_current(conn, before, after)
        if batch is not None:
            batch.states[complaint_id] = after
        return before != after

    def _append_version(
        self, conn: Connection, before: ComplaintState | None, after: ComplaintState
    ) -> None:
        sql = self._sql
        at = after.last_occurred_at
        row = after.to_row()
        if before is not None and before.last_occurred_at == at:
            # Several events at one instant make one version: the state after the last of them.
            conn.execute(sql.update_version, {**row, "_id": after.complaint_id, "_from": at})
            return
        if before is not None:
            conn.execute(sql.close_version, {"_id": after.complaint_id, "valid_to": at})
        conn.execute(sql.insert_version, {**row, "valid_from": at, "valid_to": None})

    def _refold(self, conn: Connection, complaint_id: str, since: datetime) -> ComplaintState:
        """Recompute the versions valid from `since` on, from the envelopes in the audit trail."""
        sql = self._sql
        key = {"_id": complaint_id, "_since": since}
        base = conn.execute(sql.version_before, key).mappings().first()
        conn.execute(sql.delete_versions_since, key)
        state = (
            ComplaintState.from_row(dict(base))
            if base is not None
            else ComplaintState(complaint_id)
        )
        rebuilt: list[dict[str, Any]] = []
        for (data,) in conn.execute(sql.history_since, key):
            envelope = events_pb2.Envelope.FromString(data)
            if not apply(state, envelope):
                continue
            if rebuilt and rebuilt[-1]["last_occurred_at"] == state.last_occurred_at:
                rebuilt[-1] = state.to_row()
            else:
                rebuilt.append(state.to_row())
        if base is not None:
            conn.execute(
                sql.set_version_end,
                {
                    "_id": complaint_id,
                    "_from": base["valid_from"],
                    "valid_to": rebuilt[0]["last_occurred_at"] if rebuilt else None,
                },
            )
        if rebuilt:
            conn.execute(
                sql.insert_version,
                [
                    {
                        **version,
                        "valid_from": version["last_occurred_at"],
                        "valid_to": rebuilt[i + 1]["last_occurred_at"]
                        if i + 1 < len(rebuilt)
                        else None,
                    }
                    for i, version in enumerate(rebuilt)
                ],
            )
        return state

    def _write_current(
        self, conn: Connection, before: ComplaintState | None, after: ComplaintState
    ) -> None:
        sql = self._sql
        complaint_id = after.complaint_id
        if before is None:
            conn.execute(sql.insert_complaint, after.to_row())
        elif before != after:
            conn.execute(sql.update_complaint, {**after.to_row(), "_id": complaint_id})
        if before is None or before.holding_office != after.holding_office:
            conn.execute(sql.delete_queue, {"_id": complaint_id})
            chain = ancestors(after.holding_office)
            if chain:
                conn.execute(
                    sql.insert_queue,
                    [
                        {"office_code": office, "complaint_id": complaint_id, "depth": depth}
                        for depth, office in enumerate(chain)
                    ],
                )

    def _custody(self, conn: Connection, envelope: events_pb2.Envelope) -> None:
        sql = self._sql
        complaint_id = envelope.complaint_id
        last = conn.execute(sql.last_custody, {"_id": complaint_id}).mappings().first()
        holding = last if last is not None and last["until_at"] is None else None
        at = stamp(envelope.occurred_at)

        move = custody_move(
            envelope,
            holding["office_code"] if holding is not None else None,
            last["office_code"] if last is not None else None,
        )
        if move is None:
            return
        if move.close:
            assert holding is not None
            conn.execute(
                sql.close_custody,
                {
                    "_id": complaint_id,
                    "_seq": holding["seq"],
                    "until_at": at,
                    "held_seconds": held_seconds(holding["from_at"], at),
                    "handed_to": move.handed_to,
                },
            )
        if move.open_office:
            conn.execute(
                sql.insert_custody,
                custody_segment(
                    complaint_id,
                    (last["seq"] if last is not None else 0) + 1,
                    move.open_office,
                    move.received_from,
                    at,
                ),
            )
