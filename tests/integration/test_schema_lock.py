"""Replicas starting at the same instant on an empty PostgreSQL database: schema creation is
serialised by aduan.store.schema_lock (and query's migrations by the same advisory lock), so none
of them fails. Without the lock, two of them creating the same tables at once fail with a unique
violation in PostgreSQL's catalog (pg_type_typname_nsp_index / pg_namespace_nspname_index)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
from notes_service import NotesApplication

from aduan.store import open_application
from aduan_query.readmodels import make_engine, migrate

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
REPLICAS = 8


@pytest.fixture
def empty_database() -> Iterator[str]:
    server = os.environ.get("ADUAN_TEST_POSTGRES_URL")
    if not server:
        pytest.skip(
            "ADUAN_TEST_POSTGRES_URL is not set (a PostgreSQL server to create databases on)"
        )
    name = f"aduan_schema_lock_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def all_at_once(start: Callable[[], Any]) -> list[BaseException]:
    """Run `start` in REPLICAS threads released together; the exceptions they raised."""
    barrier = threading.Barrier(REPLICAS)
    errors: list[BaseException] = []

    def replica() -> None:
        barrier.wait()
        try:
            start()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=replica) for _ in range(REPLICAS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_write_service_replicas_create_their_tables_one_at_a_time(empty_database: str) -> None:
    opened: list[NotesApplication] = []

    def start() -> None:
        opened.append(
            open_application(empty_database, "notes", lambda env: NotesApplication(env=env))
        )

    assert all_at_once(start) == []
    assert len(opened) == REPLICAS
    opened[0].write("first")
    assert opened[-1].head_position() >= 1
    for app in opened:
        app.close()


def test_query_replicas_migrate_one_at_a_time(empty_database: str) -> None:
    engines = [make_engine(empty_database) for _ in range(REPLICAS)]
    started = iter(engines)
    lock = threading.Lock()

    def start() -> None:
        with lock:
            engine = next(started)
        migrate(engine)

    assert all_at_once(start) == []
    for engine in engines:
        engine.dispose()
