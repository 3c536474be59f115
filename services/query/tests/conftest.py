"""Fixtures of the query service's tests: migrated read-model databases and helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from aduan_query.projector import Projector
from aduan_query.readmodels import make_engine, migrate
from aduan_query.views import ComplaintQueries


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'query.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def projector(engine: Engine) -> Projector:
    return Projector(engine)


@pytest.fixture
def queries(engine: Engine) -> ComplaintQueries:
    return ComplaintQueries(engine)
