"""Projects integration events (aduan.v1.Envelope) into the read models.

Each envelope is applied in one transaction together with its upstream's tracking record, so a
redelivered event is recognised and skipped (DuplicateEventError).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from aduan.store import DuplicateEventError
from aduan.v1 import common_pb2, events_pb2
from aduan_query.readmodels import audit_trail, complaints, tracking


def _dt(stamp: Any) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def _enum(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix)


class Projector:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._listeners: list[Callable[[str, int], None]] = []
        self._lock = threading.Lock()

    def add_listener(self, listener: Callable[[str, int], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[str, int], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # -- EnvelopeProcessor ------------------------------------------------------------------
    def last_position(self, upstream: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(select(tracking.c.position).where(tracking.c.upstream == upstream)).scalar()
        return int(value or 0)

    def positions(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {row.upstream: int(row.position) for row in conn.execute(select(tracking))}

    def process(self, envelope: events_pb2.Envelope) -> None:
        with self.engine.begin() as conn:
            current = conn.execute(
                select(tracking.c.position).where(tracking.c.upstream == envelope.service)
            ).scalar()
            if current is not None and envelope.position <= current:
                raise DuplicateEventError(envelope.event_id)
            self.apply(conn, envelope)
            if current is None:
                conn.execute(insert(tracking).values(upstream=envelope.service, position=envelope.position))
            else:
                conn.execute(
                    update(tracking)
                    .where(tracking.c.upstream == envelope.service)
                    .values(position=envelope.position)
                )
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(envelope.service, envelope.position)

    # -- projections --------------------------------------------------------------------------
    def apply(self, conn: Connection, envelope: events_pb2.Envelope) -> None:
        kind = envelope.WhichOneof("payload")
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(conn, envelope, getattr(envelope, kind))
        self._audit(conn, envelope)

    def _on_complaint_filed(self, conn: Connection, envelope: events_pb2.Envelope, event: events_pb2.ComplaintFiled) -> None:
        conn.execute(
            insert(complaints).values(
                complaint_id=envelope.complaint_id,
                ticket_number=event.ticket_number,
                status="RECEIVED",
                category=_enum(common_pb2.Category, event.category, "CATEGORY_"),
                scope="",
                channel=_enum(common_pb2.Channel, event.channel, "CHANNEL_"),
                province_code=event.location.province_code,
                regency_code=event.location.regency_code,
                address=event.location.address,
                subject=event.subject,
                description=event.description,
                holding_office="",
                masked_contact=event.masked_contact,
                anonymous=event.anonymous,
                confidential=event.confidential,
                reporter_erased=False,
                reassignment_count=0,
                filed_at=_dt(envelope.occurred_at),
                updated_at=_dt(envelope.occurred_at),
                last_event_id=envelope.event_id,
            )
        )

    def _audit(self, conn: Connection, envelope: events_pb2.Envelope) -> None:
        conn.execute(
            insert(audit_trail).values(
                event_id=envelope.event_id,
                complaint_id=envelope.complaint_id,
                service=envelope.service,
                position=envelope.position,
                event_type=envelope.event_type,
                occurred_at=_dt(envelope.occurred_at),
                actor_id=envelope.actor.id,
                actor_kind=_enum(common_pb2.ActorKind, envelope.actor.kind, "ACTOR_KIND_"),
                actor_role=envelope.actor.role,
                actor_office=envelope.actor.office_code,
                summary=envelope.event_type,
                aggregate_version=envelope.aggregate_version,
            )
        )
