"""Replicas starting at the same instant on an empty PostgreSQL database: schema creation is
serialised by aduan.eventstore.store.schema_lock (and query's migrations by the same advisory lock), so none
of them fails. Without the lock, two of them creating the same tables at once fail with a unique
violation in PostgreSQL's catalog (pg_type_typname_nsp_index / pg_namespace_nspname_index)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from notes_service import NotesApplication

from aduan.eventstore.store import open_application
from aduan_query.readmodels import make_engine, migrate

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
REPLICAS = 8


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


def test_write_service_replicas_create_their_tables_one_at_a_time(postgres_url: str) -> None:
    opened: list[NotesApplication] = []

    def start() -> None:
        opened.append(
            open_application(postgres_url, "notes", lambda env: NotesApplication(env=env))
        )

    assert all_at_once(start) == []
    assert len(opened) == REPLICAS
    opened[0].write("first")
    assert opened[-1].head_position() >= 1
    for app in opened:
        app.close()


def test_query_replicas_migrate_one_at_a_time(postgres_url: str) -> None:
    engines = [make_engine(postgres_url) for _ in range(REPLICAS)]
    started = iter(engines)
    lock = threading.Lock()

    def start() -> None:
        with lock:
            engine = next(started)
        migrate(engine)

    assert all_at_once(start) == []
    for engine in engines:
        engine.dispose()
