"""The event store of a write service: one `eventsourcing` Application with its own database.

SQLite (a file under `var/` by default) or PostgreSQL (a schema per service). Every application
uses a *process recorder*, so that a consumer can write its effect together with the tracking
record of the upstream event in one transaction, and the outbox relay can keep its position in
the same database.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    AggregateRecorder,
    IntegrityError,
    Notification,
    ProcessRecorder,
    Recording,
    StoredEvent,
    Tracking,
)

from aduan.eventstore.chain import ChainingMapper

Listener = Callable[[int], None]
# A statement group run on the cursor of the transaction that inserts the events. Only the side
# tables' repositories write one (through `SideWrites.add`); applications say what to write.
CursorWrite = Callable[[Any], None]
# Told the position of each saved aggregate's last event, still inside the transaction.
AfterInsert = Callable[[Mapping[uuid.UUID, int]], None]
_SIDE_WRITES = "aduan_side_writes"


class SideWrites:
    """What one save writes besides the events, in the events' own transaction: the unit of work
    of `AduanApplication.save_with`. An application fills it through its side-table
    repositories' methods ("claim these tickets", "record these reporters") and
    `after_insert` ("record each complaint's position"), and never sees the cursor.

    Writes run in the order they were added, before the events are inserted; what an
    `after_insert` callback adds runs right after the insert. Both may run more than once: the
    PostgreSQL recorder retries a whole transaction after a lost connection."""

    def __init__(self) -> None:
        self._before: list[CursorWrite | SideWrites] = []
        self._after_insert: list[AfterInsert] = []
        self._after: list[CursorWrite] | None = None  # collecting: the callbacks are running

    def add(self, write: CursorWrite) -> None:
        """For side-table repositories: `write(cursor)` runs in the save's transaction."""
        if self._after is not None:
            self._after.append(write)
        else:
            self._before.append(write)

    def after_insert(self, callback: AfterInsert) -> None:
        """`callback(positions)` runs once the events are inserted, with the notification id of
        each saved aggregate's last event; the writes it adds run in the same transaction."""
        self._after_insert.append(callback)

    def include(self, other: SideWrites) -> None:
        """`other`'s writes run here, after those added so far (its callbacks after the insert)."""
        self._before.append(other)

    def _run_before_insert(self, cursor: Any) -> None:
        for step in self._before:
            if isinstance(step, SideWrites):
                step._run_before_insert(cursor)
            else:
                step(cursor)

    def _run_after_insert(
        self, cursor: Any, stored_events: Sequence[StoredEvent], ids: Sequence[int]
    ) -> None:
        if self._after_insert:
            # An aggregate saved with several events is at its last one's position.
            positions = {
                _as_uuid(e.originator_id): i for e, i in zip(stored_events, ids, strict=True)
            }
            self._after = []
            try:
                for callback in self._after_insert:
                    callback(positions)
                after = self._after
            finally:
                self._after = None
            for write in after:
                write(cursor)
        for step in self._before:
            if isinstance(step, SideWrites):
                step._run_after_insert(cursor, stored_events, ids)


def _as_uuid(originator_id: uuid.UUID | str) -> uuid.UUID:
    return originator_id if isinstance(originator_id, uuid.UUID) else uuid.UUID(originator_id)


class DuplicateEventError(Exception):
    """The upstream event was already processed: its tracking record exists."""


# SQLite's durability per commit (`sqlite:///path?synchronous=full`). In WAL mode `normal` loses
# nothing when a process is killed, only the last commits on an operating-system crash or power
# loss, and costs no fsync per commit (3.7 ms each measured here, about 17 commits per complaint
# across the services). SQLite is the embedded development and test store; production stores are
# PostgreSQL. `full` fsyncs every commit.
SQLITE_SYNCHRONOUS = ("normal", "full", "extra")
SQLITE_SYNCHRONOUS_KEY = "ADUAN_SQLITE_SYNCHRONOUS"


# PostgreSQL connections a service process keeps open (see store_env).
DEFAULT_POOL_SIZE = 4


def store_env(store_url: str, service: str) -> dict[str, str]:
    """Translate `sqlite:///path` or `postgresql://user:pw@host:port/db?schema=x` into the
    environment that `eventsourcing` reads."""
    parsed = urlparse(store_url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path, as SQLAlchemy spells them.
        db_name = unquote(store_url.removeprefix("sqlite:///")) or ":memory:"
        synchronous = "normal"
        if not db_name.startswith("file:") and "?" in db_name:
            db_name, _, options = db_name.partition("?")
            synchronous = parse_qs(options).get("synchronous", [synchronous])[0].lower()
        if synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(
                f"sqlite synchronous={synchronous!r}: one of {', '.join(SQLITE_SYNCHRONOUS)}"
            )
        if db_name != ":memory:" and not db_name.startswith("file:"):
            Path(db_name).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": db_name,
            "SQLITE_LOCK_TIMEOUT": "10",
            SQLITE_SYNCHRONOUS_KEY: synchronous,
        }
    if parsed.scheme in {"postgres", "postgresql"}:
        query = parse_qs(parsed.query)
        schema = query.get("schema", [service])[0]
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parsed.path.lstrip("/") or "postgres",
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_SCHEMA": schema,
            # Connections a process keeps open (opened at start, kept idle): 4, with up to
            # max_overflow more under load. Every replica of every service holds its own, and
            # PostgreSQL's default max_connections is 100 (docs/deploy.md, "Connections").
            "POSTGRES_POOL_SIZE": query.get("pool_size", [str(DEFAULT_POOL_SIZE)])[0],
            "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", ["10"])[0],
            "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", ["5"])[0],
            "POSTGRES_PRE_PING": "y",
        }
        ensure_postgres_schema(env)
        return env
    if parsed.scheme == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    raise ValueError(f"unsupported store URL scheme {parsed.scheme!r} (sqlite, postgresql, memory)")


# The PostgreSQL advisory lock that serialises schema changes (CREATE SCHEMA, the event tables,
# side tables, query's migrations) across every replica and service sharing a database: two
# replicas starting at once on an empty database otherwise both try to create the same tables and
# one fails with a unique violation in the catalog (docs/architecture.md, "Schema changes").
SCHEMA_LOCK_KEY = 0x616475616E_6464  # "aduan" "dd"


def _postgres_connect(env: Mapping[str, str]) -> Any:
    import psycopg

    return psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=int(env["POSTGRES_PORT"]),
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"] or None,
        connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
        autocommit=True,
        # Statements repeat (the schema lock's tries); behind a transaction pooler each may
        # reach another server connection, where a prepared statement would not exist.
        prepare_threshold=None,
    )


# How often a replica waiting for the schema lock tries again (seconds).
SCHEMA_LOCK_RETRY_SECONDS = 0.1


@contextlib.contextmanager
def schema_lock(env: Mapping[str, str]) -> Iterator[None]:
    """Hold the schema lock while the block creates or changes tables (PostgreSQL only; SQLite
    and memory stores belong to one process). A replica that starts while another is migrating
    waits here instead of crashing.

    The lock is transaction-level (`pg_try_advisory_xact_lock`) in a transaction held open on a
    connection of its own for the whole block, so it works through a pooler in transaction mode
    (an open transaction keeps its server connection) and is released when the block ends or the
    process dies. A waiting replica tries every SCHEMA_LOCK_RETRY_SECONDS in short transactions
    rather than blocking in one: blocked waiters would each hold a server connection of a small
    pool, and the lock holder's own statements, on other connections, could then wait for a free
    one forever."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    with _postgres_connect(env) as conn:
        while True:
            with conn.transaction():
                row = conn.execute(
                    "SELECT pg_try_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,)
                ).fetchone()
                if row and row[0]:
                    yield  # the transaction, and so the lock, lasts for the block
                    return
            time.sleep(SCHEMA_LOCK_RETRY_SECONDS * (0.5 + random.random()))


AppT = TypeVar("AppT")
AggregateT = TypeVar("AggregateT")


def open_application(store_url: str, service: str, build: Callable[[dict[str, str]], AppT]) -> AppT:
    """A write service's application on its store, built under the schema lock: constructing
    it creates the event tables and the service's side tables."""
    env = store_env(store_url, service)
    with schema_lock(env):
        return build(env)


def ensure_postgres_schema(env: Mapping[str, str]) -> None:
    """eventsourcing creates tables but not the schema that holds them."""
    from psycopg import sql

    with schema_lock(env), _postgres_connect(env) as conn:
        conn.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(env["POSTGRES_SCHEMA"]))
        )


def _set_sqlite_synchronous(recorder: Any, mode: str) -> None:
    """PRAGMA synchronous on every connection of the store's pool, present and future (the
    setting is per connection, and eventsourcing's SQLite pool has no option for it)."""
    pool = getattr(getattr(recorder, "datastore", None), "pool", None)
    if pool is None or getattr(pool, "is_sqlite_memory_mode", True):
        return
    statement = f"PRAGMA synchronous={mode.upper()};"
    create = pool._create_connection

    def create_tuned() -> Any:
        connection = create()
        connection._sqlite_conn.execute(statement)
        return connection

    pool._create_connection = create_tuned
    with pool._put_condition:
        for idle in pool._pool:
            idle._sqlite_conn.execute(statement)


class AduanApplication(Application[Any]):
    """Base class of the write services' applications.

    Adds: a process recorder; stored events hash-chained per aggregate (`aduan.eventstore.chain`); listeners woken after every save (the outbox relay and the
    EventLog's followers use them instead of polling); and helpers to read the notification log.
    """

    # The upstream name under which the outbox relay keeps its position.
    OUTBOX_TRACKING_NAME: ClassVar[str] = "outbox:jetstream"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._listeners: list[Listener] = []
        # Upstream positions tracked by this process (see known_position).
        self._known_positions: dict[str, int] = {}
        self._listeners_lock = threading.Lock()
        super().__init__(env)
        self.recorder: ProcessRecorder
        self.mapper: ChainingMapper
        # The mapper reads an aggregate's last stored event when its hash is not cached.
        self.mapper.recorder = self.recorder
        # Created eagerly: concurrent first requests must not race to create the table.
        self.claims = UniqueClaims(self.factory.aggregate_recorder(purpose="claims"))
        synchronous = self.env.get(SQLITE_SYNCHRONOUS_KEY)
        if synchronous:
            _set_sqlite_synchronous(self.recorder, synchronous)
        self.joint_writes = _install_joint_writes(self.recorder)

    def save_with(self, *objs: Any, side: SideWrites) -> list[Recording[Any]]:
        """`save(*aggregates)` with `side`'s writes (side tables, claims) in the same database
        transaction: all committed together or not at all.

        Only for SQL stores (`joint_writes`). On PostgreSQL the transaction's cursor is in
        pipeline mode: statements' errors (a unique violation) surface as IntegrityError from
        this call."""
        if not self.joint_writes:
            raise TypeError("this store cannot write side tables in the events' transaction")
        # As Application.save, but for aggregates only: its runtime protocol checks cost more
        # than the rest of saving a small aggregate, twice per object.
        processing_event: ProcessingEvent[Any] = ProcessingEvent()
        for aggregate in objs:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs[_SIDE_WRITES] = side
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    def construct_mapper(self) -> ChainingMapper:
        mapper = self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=ChainingMapper
        )
        assert isinstance(mapper, ChainingMapper)
        return mapper

    def _record(self, processing_event: ProcessingEvent[Any]) -> list[Recording[Any]]:
        # The chain's cache learns an event's hash only once its recording committed.
        self.mapper.begin_recording()
        recordings: list[Recording[Any]] = []
        try:
            recordings = super()._record(processing_event)
        finally:
            self.mapper.end_recording(r.notification for r in recordings)
        return recordings

    def find_aggregate(self, aggregate_id: uuid.UUID, kind: type[AggregateT]) -> AggregateT | None:
        """The aggregate with this id when it is a `kind`, else None. A service's log holds other
        aggregates too (its sealed checkpoints, its claims), so an id read from the log or sent
        by a caller may name one of those; treating it as a `kind` would fail later."""
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def existing_aggregates(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of `ids` have stored events: one query instead of one read per aggregate."""
        if not ids:
            return set()
        recorder: Any = self.recorder
        datastore = getattr(recorder, "datastore", None)
        table = getattr(recorder, "events_table_name", None)
        if datastore is None or table is None:  # the in-memory store
            return {i for i in ids if recorder.select_events(i, limit=1)}
        if hasattr(datastore, "schema"):  # PostgreSQL
            from psycopg import sql

            statement = sql.SQL(
                "SELECT DISTINCT originator_id FROM {}.{} WHERE originator_id = ANY(%s)"
            ).format(sql.Identifier(datastore.schema), sql.Identifier(table))
            with datastore.transaction(commit=False) as cursor:
                cursor.execute(statement, ([str(i) for i in ids],))
                rows = cursor.fetchall()
        else:  # SQLite stores the id as hex text
            marks = ",".join("?" * len(ids))
            with datastore.transaction(commit=False) as cursor:
                cursor.execute(
                    f"SELECT DISTINCT originator_id FROM {table} WHERE originator_id IN ({marks})",
                    [i.hex for i in ids],
                )
                rows = cursor.fetchall()
        return {uuid.UUID(str(row["originator_id"])) for row in rows}

    def add_listener(self, listener: Listener) -> None:
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _notify(self, recordings: list[Any]) -> None:
        super()._notify(recordings)
        if not recordings:
            return
        last_id = recordings[-1].notification.id
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(last_id)

    # -- reading the log -------------------------------------------------------------------
    def head_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def read_notifications(self, after: int, limit: int) -> Sequence[Notification]:
        return self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )

    def decode(self, notification: Notification) -> DomainEventProtocol[Any]:
        return self.mapper.to_domain_event(notification)

    # -- reacting to upstream events --------------------------------------------------------
    def save_reaction(self, upstream: str, position: int, *objs: Any) -> list[Any]:
        """Save the aggregates changed in reaction to event `position` of `upstream` together with
        its tracking record, in one transaction (docs/architecture.md, rule 2). Returns the recordings.

        Raises `DuplicateEventError` when that event was already processed."""
        processing_event: ProcessingEvent[Any] = ProcessingEvent(
            tracking=Tracking(upstream, position)
        )
        processing_event.collect_events(*objs)
        try:
            recordings = self._record(processing_event)
        except IntegrityError:
            self._known_positions.pop(upstream, None)
            if self.tracked_position(upstream) >= position:
                raise DuplicateEventError(f"{upstream}:{position}") from None
            raise
        if self._known_positions.get(upstream, 0) < position:
            self._known_positions[upstream] = position
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def save_reactions(
        self,
        positions: Mapping[str, int],
        *objs: Any,
        follows: Mapping[str, int],
        side: SideWrites | None = None,
    ) -> list[Any]:
        """`save_reaction` for a batch of upstream events: the aggregates changed in reaction,
        `side`'s writes (side tables) and the tracking record of each upstream's last position
        in `positions`, all in one transaction (SQL stores only, see `save_with`).

        `follows` holds each upstream's tracked position that the batch was decided on (see
        `known_position`). It is checked inside the transaction (the tracking row locked on
        PostgreSQL): had anyone tracked more meanwhile, nothing is written, so no event of the
        batch is processed twice. Raises `DuplicateEventError` when an upstream is tracked at or
        beyond its position, IntegrityError when it is tracked elsewhere in between."""

        def check_follows(cursor: Any) -> None:
            for upstream, expected in follows.items():
                current = self._tracked_on(cursor, upstream)
                if current != expected:
                    raise IntegrityError(f"{upstream} is tracked at {current}, not {expected}")

        def track(cursor: Any) -> None:
            recorder: Any = self.recorder
            for upstream, position in positions.items():
                recorder._insert_tracking(cursor, Tracking(upstream, position))

        joint = SideWrites()
        joint.add(check_follows)
        if side is not None:
            joint.include(side)
        joint.add(track)
        try:
            recordings = self.save_with(*objs, side=joint)
        except IntegrityError:
            self._known_positions.clear()
            for upstream, position in positions.items():
                if self.tracked_position(upstream) >= position:
                    raise DuplicateEventError(f"{upstream}:{position}") from None
            raise
        self._known_positions.update(positions)
        return recordings

    def known_position(self, upstream: str) -> int:
        """The position of `upstream` this process last tracked (read once from the store): a
        batch decides on it, and `save_reactions` checks it in its transaction."""
        known = self._known_positions.get(upstream)
        if known is None:
            known = self._known_positions[upstream] = self.tracked_position(upstream)
        return known

    def _tracked_on(self, cursor: Any, upstream: str) -> int:
        recorder: Any = self.recorder
        datastore = recorder.datastore
        if hasattr(datastore, "schema"):  # PostgreSQL: lock the row until the commit
            from psycopg import sql

            cursor.execute(
                sql.SQL(
                    "SELECT notification_id FROM {}.{} WHERE application_name = %s FOR UPDATE"
                ).format(
                    sql.Identifier(datastore.schema), sql.Identifier(recorder.tracking_table_name)
                ),
                (upstream,),
            )
            row = cursor.fetchone()
            return int(row["notification_id"]) if row else 0
        # SQLite: the transaction's snapshot; a write committed after it fails its first write.
        return int(recorder._max_tracking_id(upstream, cursor) or 0)

    # -- tracking (positions of upstream logs and of the relay) ----------------------------
    def tracked_position(self, upstream: str) -> int:
        return self.recorder.max_tracking_id(upstream) or 0

    def save_tracking(self, upstream: str, position: int) -> None:
        self.recorder.insert_tracking(Tracking(upstream, position))


def _install_joint_writes(recorder: Any) -> bool:
    """Wraps the recorder's `_insert_events(cursor, stored_events, **kwargs)` (SQLite and
    PostgreSQL process recorders of eventsourcing 9.5 call it inside the insert's transaction)
    so that a `save_with` runs its writes on that cursor. False when the store has no such hook
    (in-memory store; PostgreSQL with database functions, which bypass it)."""
    original = getattr(recorder, "_insert_events", None)
    datastore = getattr(recorder, "datastore", None)
    if original is None or datastore is None or getattr(datastore, "enable_db_functions", False):
        return False

    fetch_ids = getattr(recorder, "_fetch_ids_after_insert_events", None)

    def _insert_events(cursor: Any, stored_events: Any, **kwargs: Any) -> Any:
        side: SideWrites | None = kwargs.get(_SIDE_WRITES)
        if side is not None:
            _run_synced(cursor, side._run_before_insert)
        ids = original(cursor, stored_events, **kwargs)
        if side is not None and fetch_ids is None:  # SQLite: the ids are known here
            side._run_after_insert(cursor, stored_events, ids)
        return ids

    def _fetch_ids_after_insert_events(cursor: Any, stored_events: Any, **kwargs: Any) -> Any:
        # PostgreSQL learns the ids after the insert, still inside its transaction.
        assert fetch_ids is not None
        ids = fetch_ids(cursor, stored_events, **kwargs)
        side: SideWrites | None = kwargs.get(_SIDE_WRITES)
        if side is not None:
            side._run_after_insert(cursor, stored_events, ids)
        return ids

    recorder._insert_events = _insert_events
    if fetch_ids is not None:
        recorder._fetch_ids_after_insert_events = _fetch_ids_after_insert_events
    return True


def _run_synced(cursor: Any, writes: Callable[[Any], None]) -> None:
    """Runs `writes` and, on PostgreSQL, syncs the pipeline before the insert's statements.

    psycopg reads a failed statement's answer whenever it next talks to the server. Should a
    side write's unique violation come back while the store's insert is being sent, the store
    catches it before its own sync and the transaction then ends on PipelineAborted, an
    OperationalError, instead of the IntegrityError a taken key is. A nested pipeline block
    syncs on leaving, so the violation is raised here, where it rolls the transaction back."""
    pipeline = getattr(getattr(cursor, "connection", None), "pipeline", None)  # not SQLite
    if pipeline is None:
        writes(cursor)
        return
    with pipeline():
        writes(cursor)


CLAIMS_NAMESPACE = uuid.UUID("d7c8a0f4-3b7e-4a1c-9d52-6f1e2b8c4a70")


class UniqueClaims:
    """Unique keys (ticket numbers, inbound message ids) claimed in a side table of the store.

    Bookkeeping, not history: claims live outside the notification log, so every event in the log
    is a published event and positions stay dense. The store's primary key enforces uniqueness.
    """

    def __init__(self, recorder: AggregateRecorder) -> None:
        self.recorder = recorder

    @staticmethod
    def _id(namespace: str, key: str) -> uuid.UUID:
        return uuid.uuid5(CLAIMS_NAMESPACE, f"{namespace}:{key}")

    def claim(self, namespace: str, key: str, value: str) -> str:
        """Claim `key` for `value`; returns the value that holds the key (ours, or an earlier one)."""
        claim_id = self._id(namespace, key)
        try:
            self.recorder.insert_events(
                [
                    StoredEvent(
                        originator_id=claim_id,
                        originator_version=1,
                        topic=namespace,
                        state=value.encode(),
                    )
                ]
            )
        except IntegrityError:
            holder = self.get(namespace, key)
            if holder is None:
                raise
            return holder
        return value

    def _stored(self, namespace: str, key: str, value: str) -> StoredEvent:
        return StoredEvent(
            originator_id=self._id(namespace, key),
            originator_version=1,
            topic=namespace,
            state=value.encode(),
        )

    def claim_all(self, side: SideWrites, namespace: str, items: Sequence[tuple[str, str]]) -> None:
        """Claims every (key, value) of `items` in `side`'s transaction (see
        `AduanApplication.save_with`); a key held already fails that transaction."""
        stored = [self._stored(namespace, key, value) for key, value in items]
        if not stored:
            return

        def insert(cursor: Any) -> None:
            recorder: Any = self.recorder
            if hasattr(recorder, "_insert_stored_events"):  # PostgreSQL
                recorder._insert_stored_events(cursor, stored)
            else:  # SQLite
                recorder._insert_events(cursor, stored)

        side.add(insert)

    def get(self, namespace: str, key: str) -> str | None:
        found = self.recorder.select_events(self._id(namespace, key), limit=1)
        return found[0].state.decode() if found else None
