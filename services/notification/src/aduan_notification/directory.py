"""Notification's own per-complaint facts (ComplaintContact), kept in a side table of its store.

Not an aggregate: its changes are bookkeeping derived from other services' events, not history of
this service, and every event in the notification log must be a published one. Each update is a
new version row (so concurrent writers collide instead of overwriting). Updates are idempotent:
the consumer writes the new record first and then the deliveries with the tracking record, so a
crash in between only makes the redelivered event write the same record again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import AggregateRecorder, IntegrityError, StoredEvent

from aduan.core.errors import ConcurrencyConflictError
from aduan.eventstore.store import SideWrites
from aduan_notification.rules import ComplaintContact

DIRECTORY_NAMESPACE = uuid.UUID("6a1d2f0e-58b3-4c7e-a0d9-3b4f5e6c7d81")
TOPIC = "aduan_notification:ComplaintContact"
TICKETS = "ticket"


class ComplaintDirectory:
    def __init__(self, recorder: AggregateRecorder) -> None:
        self.recorder = recorder

    @staticmethod
    def _id(complaint_id: str) -> uuid.UUID:
        return uuid.uuid5(DIRECTORY_NAMESPACE, complaint_id)

    def get(self, complaint_id: str) -> ComplaintContact | None:
        found = self._latest(complaint_id)
        return None if found is None else found[0]

    def _latest(self, complaint_id: str) -> tuple[ComplaintContact, int] | None:
        rows = self.recorder.select_events(self._id(complaint_id), desc=True, limit=1)
        if not rows:
            return None
        return ComplaintContact.from_dict(json.loads(rows[0].state)), rows[0].originator_version

    def latest(self, complaint_id: str) -> tuple[ComplaintContact, int] | None:
        """The complaint's record and its version, or None."""
        return self._latest(complaint_id)

    def latest_many(
        self, complaint_ids: Sequence[str]
    ) -> dict[str, tuple[ComplaintContact, int] | None]:
        """`latest` of many complaints in one query (a batch's complaints)."""
        ids = {self._id(complaint_id): complaint_id for complaint_id in complaint_ids}
        found: dict[str, tuple[ComplaintContact, int] | None] = dict.fromkeys(complaint_ids)
        recorder: Any = self.recorder
        datastore = getattr(recorder, "datastore", None)
        table = getattr(recorder, "events_table_name", None)
        if not ids or datastore is None or table is None:  # the in-memory store
            return {complaint_id: self._latest(complaint_id) for complaint_id in found}
        columns = "originator_id, originator_version, state"
        if hasattr(datastore, "schema"):  # PostgreSQL
            from psycopg import sql

            statement: Any = sql.SQL(
                "SELECT " + columns + " FROM {}.{} WHERE originator_id = ANY(%s)"
            ).format(sql.Identifier(datastore.schema), sql.Identifier(table))
            params: Any = ([str(i) for i in ids],)
        else:  # SQLite stores the id as hex text
            marks = ",".join("?" * len(ids))
            statement = f"SELECT {columns} FROM {table} WHERE originator_id IN ({marks})"
            params = [i.hex for i in ids]
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, params)
            rows = cursor.fetchall()
        newest: dict[str, tuple[int, bytes]] = {}
        for row in rows:
            complaint_id = ids[uuid.UUID(str(row["originator_id"]))]
            version = int(row["originator_version"])
            if complaint_id not in newest or newest[complaint_id][0] < version:
                newest[complaint_id] = (version, bytes(row["state"]))
        for complaint_id, (version, state) in newest.items():
            found[complaint_id] = (ComplaintContact.from_dict(json.loads(state)), version)
        return found

    def _stored(self, contact: ComplaintContact, version: int) -> StoredEvent:
        return StoredEvent(
            originator_id=self._id(contact.complaint_id),
            originator_version=version,
            topic=TOPIC,
            state=json.dumps(contact.as_dict(), sort_keys=True).encode(),
        )

    def record_all(self, side: SideWrites, records: Sequence[tuple[ComplaintContact, int]]) -> None:
        """Inserts (record, version) rows in `side`'s transaction (see
        `AduanApplication.save_with`); a version written meanwhile fails that transaction."""
        stored = [self._stored(contact, version) for contact, version in records]
        if not stored:
            return

        def insert(cursor: Any) -> None:
            recorder: Any = self.recorder
            if hasattr(recorder, "_insert_stored_events"):  # PostgreSQL
                recorder._insert_stored_events(cursor, stored)
            else:  # SQLite
                recorder._insert_events(cursor, stored)

        side.add(insert)

    def put(self, contact: ComplaintContact) -> None:
        latest = self._latest(contact.complaint_id)
        if latest is not None and latest[0] == contact:
            return
        version = 1 if latest is None else latest[1] + 1
        try:
            self.recorder.insert_events([self._stored(contact, version)])
        except IntegrityError:
            raise ConcurrencyConflictError(
                f"complaint record {contact.complaint_id} changed concurrently; retry"
            ) from None
