"""Leader takeover, the short version of bench/b5_takeover.py: two intake replicas on one
PostgreSQL database under steady filings; the leader is SIGKILLed twice, and each time the other
replica must be publishing to JetStream again within seconds, with no event lost and no filing
failed (the filer moves to the live replica). About 20 s; the 20-kill measurement with its p99 is
`uv run python bench/b5_takeover.py` (docs/performance.md, B5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
# Generous for a loaded CI machine: the takeover is ~0.1-0.7 s here (B5).
TAKEOVER_WITHIN_MS = 5000


def test_leader_sigkilled_twice_the_other_replica_takes_over(postgres_url: str) -> None:
    # postgres_url only for its skip: the benchmark makes and drops its own database on the
    # server named by ADUAN_TEST_POSTGRES_URL.
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "b5_takeover.py"),
            "--kills=2",
            "--warmup=2",
            "--pause=1",
            "--name=b5_takeover_smoke",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ.copy(),
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert len(result["kills"]) == 2
    for kill in result["kills"]:
        assert kill["first_event_ms"] < TAKEOVER_WITHIN_MS, result["kills"]
    assert result["events"]["missing"] == 0
    assert result["events"]["last_position"] > 0
    assert result["filings"]["failed"] == 0
