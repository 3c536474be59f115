"""Fixtures of the fuzz tests: one in-process stack per module, seeded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fuzz.stack import FuzzStack


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzStack]:
    stack = FuzzStack(tmp_path_factory.mktemp("fuzz-stack")).start()
    try:
        stack.seed()
        yield stack
    finally:
        stack.stop()
