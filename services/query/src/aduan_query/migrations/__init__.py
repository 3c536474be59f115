"""Alembic migrations of the query service's read models (run by `readmodels.migrate`)."""
