"""Alembic environment: always called from `readmodels.migrate` with an open connection."""

from __future__ import annotations

from alembic import context

from aduan_query.readmodels import LIVE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=LIVE.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
