"""Fixtures of the fuzz tests: one in-process stack for the session, seeded."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fuzz.calls import OUTCOMES
from fuzz.stack import FuzzStack


@pytest.fixture(scope="session")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzStack]:
    stack = FuzzStack(tmp_path_factory.mktemp("fuzz-stack")).start()
    try:
        stack.seed()
        yield stack
    finally:
        stack.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not (OUTCOMES and os.environ.get("ADUAN_FUZZ_REPORT")):
        return
    terminalreporter.section("fuzzed calls by RPC and status")
    for (rpc, code), count in sorted(OUTCOMES.items()):
        terminalreporter.write_line(f"{count:6d}  {code:<20} {rpc}")
