"""Read-model tables (SQLAlchemy Core). SQLite by default, PostgreSQL in production.

The live tables are created and evolved by Alembic migrations (`aduan_query/migrations`). The same
definitions, with a name prefix, give the fresh table set that a rebuild fills before it swaps it
in (see `rebuild.py`). Every table carries explicit constraint and index names derived from its
table name, so that a swap can rename them without collisions.

- tracking            per upstream write service, the last position projected; written in the same
                      transaction as the rows each event changes.
- complaints          the complaint view now (one row per complaint; partial until ComplaintFiled
                      arrives when routing is ahead of intake).
- complaint_versions  every state the complaint view has had, valid from one occurred_at to the
                      next: time travel (`as_of`) reads the version valid at T.
- audit_trail         every event of every service, with actor, offices, reason, rule and the
                      envelope itself (the history the versions are re-folded from).
- custody             which office held each case, from when to when.
- office_queue        the holding office and each of its ancestors per complaint: "queue of office X
                      including its descendants" is an indexed lookup.
- checkpoints         every write service's signed log checkpoints (CheckpointSealed): the seals an
                      auditor exports and compares with what `aduan audit verify` recomputes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.pool import StaticPool

from aduan.eventstore.store import SCHEMA_LOCK_KEY
from aduan.reference.offices import holding_chain

NAMING = {"pk": "pk_%(table_name)s"}

TABLE_NAMES = (
    "tracking",
    "complaints",
    "complaint_versions",
    "audit_trail",
    "custody",
    "office_queue",
    "checkpoints",
)

WRITE_OPTIONS = {"aduan_write": True}


def chain_text(office_code: str) -> str:
    """The `office_chain` column: the office's holding chain as "|A|B|C|", so that "office X or
    below" is `LIKE '%|X|%'` in any SQL dialect."""
    chain = holding_chain(office_code)
    return "|" + "|".join(chain) + "|" if chain else ""


def _state_columns() -> list[Column[Any]]:
    """Columns of the complaint view, shared by `complaints` and `complaint_versions`."""
    when = DateTime(timezone=True)
    return [
        Column("ticket_number", String(32), nullable=True),
        Column("status", String(16), nullable=False),
        Column("routing_status", String(16), nullable=False),
        Column("withdrawn", Boolean, nullable=False),
        Column("filed", Boolean, nullable=False),
        Column("classified", Boolean, nullable=False),
        Column("category", String(32), nullable=False),
        Column("scope", String(16), nullable=False),
        Column("channel", String(16), nullable=False),
        Column("province_code", String(2), nullable=False),
        Column("regency_code", String(5), nullable=False),
        Column("address", Text, nullable=False),
        Column("subject", String(200), nullable=False),
        Column("description", Text, nullable=False),
        Column("holding_office", String(32), nullable=False),
        Column("office_chain", String(160), nullable=False),
        Column("accept_due", when, nullable=True),
        Column("response_due", when, nullable=True),
        Column("resolution_due", when, nullable=True),
        Column("breached", String(64), nullable=False),
        Column("masked_contact", String(64), nullable=False),
        Column("anonymous", Boolean, nullable=False),
        Column("confidential", Boolean, nullable=False),
        Column("reporter_erased", Boolean, nullable=False),
        Column("reassignment_count", Integer, nullable=False),
        Column("ping_pong_flagged", Boolean, nullable=False),
        Column("rating", Integer, nullable=False),
        Column("filed_at", when, nullable=False),
        Column("assigned_at", when, nullable=True),
        Column("accepted_at", when, nullable=True),
        Column("first_response_at", when, nullable=True),
        Column("resolved_at", when, nullable=True),
        Column("closed_at", when, nullable=True),
        Column("updated_at", when, nullable=False),
        Column("last_occurred_at", when, nullable=False),
        Column("last_service", String(16), nullable=False),
        Column("last_position", BigInteger, nullable=False),
        Column("last_event_id", String(48), nullable=False),
    ]


@dataclass(frozen=True)
class TableSet:
    prefix: str
    metadata: MetaData
    tracking: Table
    complaints: Table
    versions: Table
    audit: Table
    custody: Table
    queue: Table
    checkpoints: Table

    def __iter__(self) -> Iterator[Table]:
        """Tables in dependency-free creation order."""
        return iter(
            (
                self.tracking,
                self.complaints,
                self.versions,
                self.audit,
                self.custody,
                self.queue,
                self.checkpoints,
            )
        )

    def by_name(self, name: str) -> Table:
        """The table for an unprefixed name, e.g. "complaints"."""
        return self.metadata.tables[self.prefix + name]


def table_set(prefix: str = "") -> TableSet:
    metadata = MetaData(naming_convention=NAMING)

    def name(base: str) -> str:
        return prefix + base

    def ix(base: str, suffix: str) -> str:
        return f"ix_{prefix}{base}_{suffix}"

    tracking = Table(
        name("tracking"),
        metadata,
        Column("upstream", String(32), primary_key=True),
        Column("position", BigInteger, nullable=False),
    )
    complaints = Table(
        name("complaints"),
        metadata,
        Column("complaint_id", String(36), primary_key=True),
        *_state_columns(),
    )
    Index(ix("complaints", "ticket"), complaints.c.ticket_number, unique=True)
    Index(ix("complaints", "filed"), complaints.c.filed_at, complaints.c.complaint_id)
    Index(ix("complaints", "office"), complaints.c.holding_office, complaints.c.filed_at)
    Index(ix("complaints", "status"), complaints.c.status, complaints.c.filed_at)
    versions = Table(
        name("complaint_versions"),
        metadata,
        Column("complaint_id", String(36), primary_key=True),
        Column("valid_from", DateTime(timezone=True), primary_key=True),
        Column("valid_to", DateTime(timezone=True), nullable=True),
        *_state_columns(),
    )
    Index(ix("complaint_versions", "period"), versions.c.valid_from, versions.c.valid_to)
    Index(ix("complaint_versions", "filed"), versions.c.filed_at, versions.c.complaint_id)
    Index(ix("complaint_versions", "ticket"), versions.c.ticket_number)
    audit = Table(
        name("audit_trail"),
        metadata,
        Column("event_id", String(48), primary_key=True),
        Column("complaint_id", String(36), nullable=False),
        Column("service", String(16), nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("event_type", String(48), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("actor_id", String(128), nullable=False),
        Column("actor_kind", String(16), nullable=False),
        Column("actor_role", String(32), nullable=False),
        Column("actor_office", String(32), nullable=False),
        Column("from_office", String(32), nullable=False),
        Column("to_office", String(32), nullable=False),
        Column("reason_code", String(32), nullable=False),
        Column("note", Text, nullable=False),
        Column("rule_id", String(64), nullable=False),
        Column("ruleset_version", String(64), nullable=False),
        Column("summary", Text, nullable=False),
        Column("aggregate_version", BigInteger, nullable=False),
        Column("correlation_id", String(64), nullable=False),
        Column("causation_id", String(64), nullable=False),
        Column("envelope", LargeBinary, nullable=False),
    )
    Index(
        ix("audit_trail", "complaint"),
        audit.c.complaint_id,
        audit.c.occurred_at,
        audit.c.service,
        audit.c.position,
    )
    Index(ix("audit_trail", "history"), audit.c.occurred_at, audit.c.service, audit.c.position)
    custody = Table(
        name("custody"),
        metadata,
        Column("complaint_id", String(36), primary_key=True),
        Column("seq", Integer, primary_key=True),
        Column("office_code", String(32), nullable=False),
        Column("received_from", String(32), nullable=False),
        Column("handed_to", String(32), nullable=False),
        Column("from_at", DateTime(timezone=True), nullable=False),
        Column("until_at", DateTime(timezone=True), nullable=True),
        Column("held_seconds", BigInteger, nullable=True),
    )
    Index(ix("custody", "office"), custody.c.office_code, custody.c.from_at)
    queue = Table(
        name("office_queue"),
        metadata,
        Column("office_code", String(32), primary_key=True),
        Column("complaint_id", String(36), primary_key=True),
        Column("depth", Integer, nullable=False),
    )
    Index(ix("office_queue", "complaint"), queue.c.complaint_id)
    checkpoints = Table(
        name("checkpoints"),
        metadata,
        Column("event_id", String(48), primary_key=True),
        Column("service", String(16), nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("from_position", BigInteger, nullable=False),
        Column("to_position", BigInteger, nullable=False),
        Column("event_count", BigInteger, nullable=False),
        Column("root", String(64), nullable=False),
        Column("key_id", String(32), nullable=False),
        Column("public_key", String(64), nullable=False),
        Column("signature", String(128), nullable=False),
        Column("sealed_at", DateTime(timezone=True), nullable=False),
    )
    Index(ix("checkpoints", "range"), checkpoints.c.service, checkpoints.c.to_position)
    return TableSet(
        prefix, metadata, tracking, complaints, versions, audit, custody, queue, checkpoints
    )


LIVE = table_set()


def make_engine(url: str) -> Engine:
    """An engine for the read models.

    SQLite: WAL and a busy timeout so that readers never block the projector, and transactions
    that SQLAlchemy controls (pysqlite's own BEGIN handling is switched off) so that DDL, such as
    the rebuild's swap, is transactional. Write transactions (`WRITE_OPTIONS`) begin IMMEDIATE, so
    two writers queue on the busy timeout instead of failing on a stale snapshot.
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        memory = url in {"sqlite://", "sqlite:///:memory:"}
        if not memory:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = (
            create_engine(
                url,
                poolclass=StaticPool,
                connect_args={"check_same_thread": False},
            )
            if memory
            else create_engine(url, connect_args={"check_same_thread": False})
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("aduan_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


def writer(engine: Engine) -> Engine:
    """The engine to open write transactions with."""
    return engine.execution_options(**WRITE_OPTIONS)


def migrate(engine: Engine) -> None:
    """Bring the live tables to the newest schema (Alembic, revision scripts in the package).

    A database that holds read-model tables but no Alembic version comes from before migrations;
    read models are disposable, so those tables are dropped and created afresh. Their tracking
    records go with them, so the consumer repairs everything from the EventLogs.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "aduan_query:migrations")
    with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            # Replicas starting together migrate one at a time (released at commit).
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
        existing = set(inspect(conn).get_table_names())
        if "alembic_version" not in existing:
            for base in reversed(TABLE_NAMES):
                if base in existing:
                    conn.exec_driver_sql(f'DROP TABLE "{base}"')
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def create_schema(engine: Engine) -> None:
    """Kept for callers of the first slice: the schema is now owned by the migrations."""
    migrate(engine)
