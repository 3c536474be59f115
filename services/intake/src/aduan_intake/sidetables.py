"""Intake's side tables: state that is bookkeeping, not history, kept next to the event store.

Why not events: the event log is append-only and every stored event is published. A data key must
be *deletable* (erasure destroys it), a phone index must be deletable with it, and the case status
is routing's history (already in routing's log), cached here only to answer "may this complaint
still be withdrawn or rated?". So these live in plain tables in the same database as the events
(SQLite file or PostgreSQL schema), or in memory for unit tests.

- `intake_data_keys`     reporter id -> wrapped data key          (row deleted on erasure)
- `intake_identities`    reporter id -> complaint id, sealed identity (ciphertext only)
- `intake_phone_index`   HMAC(phone) -> complaint id, reporter id  (rows deleted on erasure)
- `intake_case_status`   complaint id -> routing's case status and the routing position it is from
- `intake_case_office`   complaint id -> the office holding the case (routing), for reveal checks
- `intake_tracking_codes` HMAC(tracking code) -> complaint id   (anonymous filings; never the code)
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from aduan.eventstore.store import SideWrites


@dataclass(frozen=True)
class StoredIdentity:
    reporter_id: str
    complaint_id: str
    sealed: bytes


@dataclass(frozen=True)
class CaseStatusRecord:
    status: str
    position: int


class SideTables(Protocol):
    def put_data_key(self, reporter_id: str, wrapped: bytes) -> bytes:
        """Store `wrapped` unless the reporter has a key already; returns the stored key."""

    def get_data_key(self, reporter_id: str) -> bytes | None: ...

    def destroy_data_key(self, reporter_id: str) -> None:
        """Delete the key (and the reporter's phone index rows) beyond recovery."""

    def put_identity(self, identity: StoredIdentity) -> StoredIdentity:
        """Store unless present; returns the stored identity (first writer wins)."""

    def get_identity(self, reporter_id: str) -> StoredIdentity | None: ...

    def index_phone(self, digest: str, complaint_id: str, reporter_id: str) -> None: ...

    def complaints_for_phone(self, digest: str) -> list[str]: ...

    def note_case_status(self, complaint_id: str, status: str, position: int) -> None:
        """Record `status` unless a later routing position is recorded already (idempotent)."""

    def case_status(self, complaint_id: str) -> CaseStatusRecord | None: ...

    def note_case_office(self, complaint_id: str, office: str, position: int) -> None:
        """Record the holding office unless a later routing position is recorded already."""

    def case_office(self, complaint_id: str) -> str: ...

    def put_tracking_code(self, digest: str, complaint_id: str) -> None:
        """Store a new code's digest; an existing digest (a collision) raises, never rebinds."""

    def complaint_for_tracking_code(self, digest: str) -> str | None: ...


class TrackingCodeCollisionError(Exception):
    """A new tracking code's digest is stored already (for the memory tables; SQL raises the
    database's integrity error)."""


class MemorySideTables:
    """For unit tests with the in-memory event store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, bytes] = {}
        self._identities: dict[str, StoredIdentity] = {}
        self._phones: dict[tuple[str, str], str] = {}
        self._status: dict[str, CaseStatusRecord] = {}
        self._offices: dict[str, tuple[str, int]] = {}
        self._tracking: dict[str, str] = {}

    def put_data_key(self, reporter_id: str, wrapped: bytes) -> bytes:
        with self._lock:
            return self._keys.setdefault(reporter_id, wrapped)

    def get_data_key(self, reporter_id: str) -> bytes | None:
        with self._lock:
            return self._keys.get(reporter_id)

    def destroy_data_key(self, reporter_id: str) -> None:
        with self._lock:
            self._keys.pop(reporter_id, None)
            for key in [k for k, owner in self._phones.items() if owner == reporter_id]:
                del self._phones[key]

    def put_identity(self, identity: StoredIdentity) -> StoredIdentity:
        with self._lock:
            return self._identities.setdefault(identity.reporter_id, identity)

    def get_identity(self, reporter_id: str) -> StoredIdentity | None:
        with self._lock:
            return self._identities.get(reporter_id)

    def index_phone(self, digest: str, complaint_id: str, reporter_id: str) -> None:
        with self._lock:
            self._phones.setdefault((digest, complaint_id), reporter_id)

    def complaints_for_phone(self, digest: str) -> list[str]:
        with self._lock:
            return [complaint for (d, complaint) in self._phones if d == digest]

    def note_case_status(self, complaint_id: str, status: str, position: int) -> None:
        with self._lock:
            current = self._status.get(complaint_id)
            if current is None or current.position < position:
                self._status[complaint_id] = CaseStatusRecord(status, position)

    def case_status(self, complaint_id: str) -> CaseStatusRecord | None:
        with self._lock:
            return self._status.get(complaint_id)

    def note_case_office(self, complaint_id: str, office: str, position: int) -> None:
        with self._lock:
            current = self._offices.get(complaint_id)
            if current is None or current[1] < position:
                self._offices[complaint_id] = (office, position)

    def case_office(self, complaint_id: str) -> str:
        with self._lock:
            return self._offices.get(complaint_id, ("", 0))[0]

    def put_tracking_code(self, digest: str, complaint_id: str) -> None:
        with self._lock:
            if digest in self._tracking:
                raise TrackingCodeCollisionError("tracking code digest stored already")
            self._tracking[digest] = complaint_id

    def complaint_for_tracking_code(self, digest: str) -> str | None:
        with self._lock:
            return self._tracking.get(digest)


class SqlSideTables:
    """The same tables in the event store's own database, through its datastore (SQLite or
    PostgreSQL). Plain SQL that both dialects accept; only placeholders and blobs differ."""

    def __init__(self, datastore: Any, dialect: str, schema: str = "") -> None:
        self.datastore = datastore
        self.dialect = dialect
        self._p = "?" if dialect == "sqlite" else "%s"
        blob = "BLOB" if dialect == "sqlite" else "BYTEA"
        prefix = f'"{schema}".' if schema else ""
        self.keys = f"{prefix}intake_data_keys"
        self.identities = f"{prefix}intake_identities"
        self.phones = f"{prefix}intake_phone_index"
        self.status = f"{prefix}intake_case_status"
        self.offices = f"{prefix}intake_case_office"
        self.tracking = f"{prefix}intake_tracking_codes"
        statements = [
            f"CREATE TABLE IF NOT EXISTS {self.keys} ("
            f"reporter_id TEXT PRIMARY KEY, wrapped_key {blob} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.identities} ("
            f"reporter_id TEXT PRIMARY KEY, complaint_id TEXT NOT NULL, sealed {blob} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.phones} ("
            "phone_digest TEXT NOT NULL, complaint_id TEXT NOT NULL, reporter_id TEXT NOT NULL, "
            "PRIMARY KEY (phone_digest, complaint_id))",
            f"CREATE INDEX IF NOT EXISTS intake_phone_index_by_reporter ON {self.phones} "
            "(reporter_id)",
            f"CREATE TABLE IF NOT EXISTS {self.status} ("
            "complaint_id TEXT PRIMARY KEY, status TEXT NOT NULL, position BIGINT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.offices} ("
            "complaint_id TEXT PRIMARY KEY, office TEXT NOT NULL, position BIGINT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.tracking} ("
            "code_digest TEXT PRIMARY KEY, complaint_id TEXT NOT NULL)",
        ]
        with self._write() as cursor:
            for statement in statements:
                cursor.execute(statement)

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=True) as cursor:
            yield cursor

    @contextlib.contextmanager
    def _read(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=False) as cursor:
            yield cursor

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self._p)

    @staticmethod
    def _bytes(value: Any) -> bytes:
        return bytes(value)

    def put_data_key(self, reporter_id: str, wrapped: bytes) -> bytes:
        with self._write() as cursor:
            cursor.execute(
                self._sql(
                    f"INSERT INTO {self.keys} (reporter_id, wrapped_key) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING"
                ),
                (reporter_id, wrapped),
            )
            cursor.execute(
                self._sql(f"SELECT wrapped_key FROM {self.keys} WHERE reporter_id = ?"),
                (reporter_id,),
            )
            row = cursor.fetchone()
        return self._bytes(row["wrapped_key"])

    def get_data_key(self, reporter_id: str) -> bytes | None:
        with self._read() as cursor:
            cursor.execute(
                self._sql(f"SELECT wrapped_key FROM {self.keys} WHERE reporter_id = ?"),
                (reporter_id,),
            )
            row = cursor.fetchone()
        return None if row is None else self._bytes(row["wrapped_key"])

    def destroy_data_key(self, reporter_id: str) -> None:
        with self._write() as cursor:
            if self.dialect == "sqlite":
                # Overwrite the deleted bytes instead of leaving them in free pages.
                cursor.execute("PRAGMA secure_delete = ON")
            cursor.execute(
                self._sql(f"DELETE FROM {self.keys} WHERE reporter_id = ?"), (reporter_id,)
            )
            cursor.execute(
                self._sql(f"DELETE FROM {self.phones} WHERE reporter_id = ?"), (reporter_id,)
            )
        if self.dialect == "sqlite":
            self._checkpoint_sqlite()

    def _checkpoint_sqlite(self) -> None:
        """Copy the WAL into the database file and truncate it, so that no old page image holding
        the destroyed key survives in the write-ahead log. Readers can delay it: retry briefly."""
        for _ in range(20):
            with (
                self.datastore.get_connection(commit=True) as connection,
                connection.cursor() as raw,
            ):
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = raw.fetchone()[0]
            if not busy:
                return
            time.sleep(0.05)

    def put_identity(self, identity: StoredIdentity) -> StoredIdentity:
        with self._write() as cursor:
            cursor.execute(
                self._sql(
                    f"INSERT INTO {self.identities} (reporter_id, complaint_id, sealed) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (identity.reporter_id, identity.complaint_id, identity.sealed),
            )
        stored = self.get_identity(identity.reporter_id)
        assert stored is not None
        return stored

    def get_identity(self, reporter_id: str) -> StoredIdentity | None:
        with self._read() as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT complaint_id, sealed FROM {self.identities} WHERE reporter_id = ?"
                ),
                (reporter_id,),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        return StoredIdentity(reporter_id, str(row["complaint_id"]), self._bytes(row["sealed"]))

    def index_phone(self, digest: str, complaint_id: str, reporter_id: str) -> None:
        with self._write() as cursor:
            cursor.execute(
                self._sql(
                    f"INSERT INTO {self.phones} (phone_digest, complaint_id, reporter_id) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (digest, complaint_id, reporter_id),
            )

    def record_new_reporters(
        self,
        side: SideWrites,
        data_keys: list[tuple[str, bytes]],
        identities: list[StoredIdentity],
        phones: list[tuple[str, str, str]],
    ) -> None:
        """Inserts the rows of reporters seen for the first time in `side`'s transaction, the
        event store's (group commit). Plain inserts: a row present already (left by an earlier,
        interrupted filing) fails the transaction, and the caller files one by one."""
        side.add(lambda cursor: self._insert_new_reporters(cursor, data_keys, identities, phones))

    def _insert_new_reporters(
        self,
        cursor: Any,
        data_keys: list[tuple[str, bytes]],
        identities: list[StoredIdentity],
        phones: list[tuple[str, str, str]],
    ) -> None:
        if data_keys:
            cursor.executemany(
                self._sql(f"INSERT INTO {self.keys} (reporter_id, wrapped_key) VALUES (?, ?)"),
                data_keys,
            )
        if identities:
            cursor.executemany(
                self._sql(
                    f"INSERT INTO {self.identities} (reporter_id, complaint_id, sealed) "
                    "VALUES (?, ?, ?)"
                ),
                [(i.reporter_id, i.complaint_id, i.sealed) for i in identities],
            )
        if phones:
            cursor.executemany(
                self._sql(
                    f"INSERT INTO {self.phones} (phone_digest, complaint_id, reporter_id) "
                    "VALUES (?, ?, ?)"
                ),
                phones,
            )

    def complaints_for_phone(self, digest: str) -> list[str]:
        with self._read() as cursor:
            cursor.execute(
                self._sql(f"SELECT complaint_id FROM {self.phones} WHERE phone_digest = ?"),
                (digest,),
            )
            rows = cursor.fetchall()
        return [str(row["complaint_id"]) for row in rows]

    def note_case_status(self, complaint_id: str, status: str, position: int) -> None:
        with self._write() as cursor:
            cursor.execute(
                self._sql(
                    f"INSERT INTO {self.status} AS noted (complaint_id, status, position) "
                    "VALUES (?, ?, ?) ON CONFLICT (complaint_id) DO UPDATE SET "
                    "status = excluded.status, position = excluded.position "
                    "WHERE noted.position < excluded.position"
                ),
                (complaint_id, status, position),
            )

    def case_status(self, complaint_id: str) -> CaseStatusRecord | None:
        with self._read() as cursor:
            cursor.execute(
                self._sql(f"SELECT status, position FROM {self.status} WHERE complaint_id = ?"),
                (complaint_id,),
            )
            row = cursor.fetchone()
        return None if row is None else CaseStatusRecord(str(row["status"]), int(row["position"]))

    def note_case_office(self, complaint_id: str, office: str, position: int) -> None:
        with self._write() as cursor:
            cursor.execute(
                self._sql(
                    f"INSERT INTO {self.offices} AS noted (complaint_id, office, position) "
                    "VALUES (?, ?, ?) ON CONFLICT (complaint_id) DO UPDATE SET "
                    "office = excluded.office, position = excluded.position "
                    "WHERE noted.position < excluded.position"
                ),
                (complaint_id, office, position),
            )

    def case_office(self, complaint_id: str) -> str:
        with self._read() as cursor:
            cursor.execute(
                self._sql(f"SELECT office FROM {self.offices} WHERE complaint_id = ?"),
                (complaint_id,),
            )
            row = cursor.fetchone()
        return "" if row is None else str(row["office"])

    def put_tracking_code(self, digest: str, complaint_id: str) -> None:
        with self._write() as cursor:
            self._insert_tracking_codes(cursor, [(digest, complaint_id)])

    def record_tracking_codes(self, side: SideWrites, rows: list[tuple[str, str]]) -> None:
        """Inserts (digest, complaint id) rows in `side`'s transaction (group commit)."""
        if rows:
            side.add(lambda cursor: self._insert_tracking_codes(cursor, rows))

    def _insert_tracking_codes(self, cursor: Any, rows: list[tuple[str, str]]) -> None:
        # A plain insert: a colliding digest must fail, not point a code at another complaint.
        cursor.executemany(
            self._sql(f"INSERT INTO {self.tracking} (code_digest, complaint_id) VALUES (?, ?)"),
            rows,
        )

    def complaint_for_tracking_code(self, digest: str) -> str | None:
        with self._read() as cursor:
            cursor.execute(
                self._sql(f"SELECT complaint_id FROM {self.tracking} WHERE code_digest = ?"),
                (digest,),
            )
            row = cursor.fetchone()
        return None if row is None else str(row["complaint_id"])


def side_tables_for(factory: Any) -> SideTables:
    """The side tables that match the application's persistence module."""
    datastore = getattr(factory, "datastore", None)
    if datastore is None:
        return MemorySideTables()
    module = type(datastore).__module__
    if module.endswith("sqlite"):
        return SqlSideTables(datastore, "sqlite")
    if module.endswith("postgres"):
        return SqlSideTables(datastore, "postgres", schema=str(datastore.schema))
    raise TypeError(f"no side tables for datastore {type(datastore).__name__}")
