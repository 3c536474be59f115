"""A fresh install with replicas: 3 replicas of each of the 4 services started at the same instant
on empty PostgreSQL databases (one per service, shared by its replicas) and one NATS. None may
exit, and every one must become SERVING. Before schema changes were serialised
(docs/architecture.md, "Schema changes"), two or three of them crashed at start on
`duplicate key value violates unique constraint "pg_type_typname_nsp_index"`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

from aduan.core.settings import ALL_SERVICES
from aduan_devtools.natsserver import EmbeddedNats
from aduan_devtools.stack import LocalStack

pytestmark = pytest.mark.postgres
REPLICAS = 3
SERVING_WITHIN_SECONDS = 90.0


@pytest.fixture
def empty_databases(postgres_url: str) -> Iterator[dict[str, str]]:
    """One more empty database per service besides postgres_url's (dropped afterwards)."""
    parsed = urlparse(postgres_url)
    names = {
        service: f"aduan_replicas_{service}_{uuid.uuid4().hex[:8]}" for service in ALL_SERVICES
    }
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {s: urlunparse(parsed._replace(path=f"/{n}")) for s, n in names.items()}
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            for name in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_replicas_started_together_on_empty_databases_all_serve(
    empty_databases: dict[str, str], tmp_path: Path
) -> None:
    nats = EmbeddedNats(tmp_path / "nats", log_file=tmp_path / "nats.log")
    nats.start()
    replicas = [
        LocalStack.on_free_ports(
            tmp_path / f"replica-{index}",
            nats_url=nats.url,
            service_env={s: {"ADUAN_STORE_URL": url} for s, url in empty_databases.items()},
        )
        for index in range(REPLICAS)
    ]
    try:
        for stack in replicas:
            stack.data_dir.mkdir(parents=True)
        # All twelve processes at once: each spends its first second importing, so their schema
        # creation overlaps as on a fresh install where every pod starts together.
        for name in ALL_SERVICES:
            for stack in replicas:
                stack.start_service(name)
        deadline = time.monotonic() + SERVING_WITHIN_SECONDS
        for stack in replicas:
            stack.wait_serving(timeout=max(1.0, deadline - time.monotonic()))
        exited = [
            f"{stack.data_dir.name}/{name}: exit {service.process.returncode}"
            for stack in replicas
            for name, service in stack.services.items()
            if service.process is not None and service.process.poll() is not None
        ]
        assert exited == []
        for stack in replicas:
            for name, service in stack.services.items():
                log = service.log_path.read_text(errors="replace")
                assert "IntegrityError" not in log, f"{stack.data_dir.name}/{name}:\n{log[-3000:]}"
    finally:
        for stack in replicas:
            stack.stop()
        nats.stop()
