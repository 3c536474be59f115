"""Fixtures of the notification tests; the helpers live in aduan_devtools.testing.notification."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aduan_devtools.testing.notification import CANARY, FakeIntake, StandInProvider


@pytest.fixture
def provider() -> Iterator[StandInProvider]:
    server = StandInProvider().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def intake_server() -> Iterator[FakeIntake]:
    server = FakeIntake(default=CANARY).start()
    try:
        yield server
    finally:
        server.stop()
