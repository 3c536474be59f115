"""Read-model tables (SQLAlchemy Core). SQLite by default, PostgreSQL in production.

The tracking table records, per upstream write service, the last position projected; it is
written in the same transaction as the rows each event changes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)

metadata = MetaData()

tracking = Table(
    "tracking",
    metadata,
    Column("upstream", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

complaints = Table(
    "complaints",
    metadata,
    Column("complaint_id", String(36), primary_key=True),
    Column("ticket_number", String(32), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("scope", String(16), nullable=False, default=""),
    Column("channel", String(16), nullable=False),
    Column("province_code", String(2), nullable=False, default=""),
    Column("regency_code", String(5), nullable=False, default=""),
    Column("address", Text, nullable=False, default=""),
    Column("subject", String(200), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("holding_office", String(32), nullable=False, default=""),
    Column("masked_contact", String(64), nullable=False, default=""),
    Column("anonymous", Boolean, nullable=False, default=False),
    Column("confidential", Boolean, nullable=False, default=False),
    Column("reporter_erased", Boolean, nullable=False, default=False),
    Column("reassignment_count", Integer, nullable=False, default=0),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_event_id", String(48), nullable=False, default=""),
)
Index("ix_complaints_office", complaints.c.holding_office, complaints.c.filed_at)
Index("ix_complaints_filed", complaints.c.filed_at, complaints.c.complaint_id)

audit_trail = Table(
    "audit_trail",
    metadata,
    Column("event_id", String(48), primary_key=True),
    Column("complaint_id", String(36), nullable=False),
    Column("service", String(16), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("event_type", String(48), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor_id", String(128), nullable=False, default=""),
    Column("actor_kind", String(16), nullable=False, default=""),
    Column("actor_role", String(32), nullable=False, default=""),
    Column("actor_office", String(32), nullable=False, default=""),
    Column("from_office", String(32), nullable=False, default=""),
    Column("to_office", String(32), nullable=False, default=""),
    Column("reason_code", String(32), nullable=False, default=""),
    Column("note", Text, nullable=False, default=""),
    Column("rule_id", String(64), nullable=False, default=""),
    Column("ruleset_version", String(64), nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("aggregate_version", BigInteger, nullable=False, default=0),
)
Index("ix_audit_complaint", audit_trail.c.complaint_id, audit_trail.c.occurred_at, audit_trail.c.event_id)


def make_engine(url: str) -> Engine:
    """SQLite gets WAL and a busy timeout so that readers never block the projector."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def create_schema(engine: Engine) -> None:
    metadata.create_all(engine)
