"""`aduan-audit trail|export|replay` over a projected history (verify and rebuild are in
test_rebuild.py, since they read EventLogs)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from aduan_devtools.testing.query import EPOCH, lifecycle, scenario
from aduan_query import cli
from aduan_query.projector import Projector
from aduan_query.readmodels import make_engine, migrate


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'query.sqlite'}"
    engine = make_engine(url)
    migrate(engine)
    projector = Projector(engine)
    history, _ = lifecycle()
    for envelope in history.in_history_order():
        projector.process(envelope)
    engine.dispose()
    return url


def test_trail_prints_every_event_and_the_custody_chain(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["trail", "ADU-LIFE-0001", "--store-url", store_url]) == 0
    out = capsys.readouterr().out
    assert "Audit trail of ADU-LIFE-0001 (14 events)" in out
    for text in (
        "ComplaintFiled",
        "CaseReassigned",
        "WIDE_IMPACT",
        "officer-1 @ KANTAH.32.73",
        "Custody",
        "KANWIL.32",
    ):
        assert text in out
    assert "2:00:00" in out  # the Kantah held it two hours


def test_trail_of_an_unknown_complaint_fails_clearly(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["trail", "ADU-NONE", "--store-url", store_url]) == 2
    assert "not found" in capsys.readouterr().err


def test_export_jsonl_and_csv_for_a_period(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    since, until = EPOCH.isoformat(), (EPOCH + timedelta(days=2)).isoformat()
    assert cli.main(["export", "--since", since, "--until", until, "--store-url", store_url]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["event_type"] for row in lines] == [
        "ComplaintFiled",
        "CaseOpened",
        "CaseRouted",
        "CaseReassigned",
        "CaseAccepted",
        "ReporterAnswered",
        "ReporterAnswered",
    ]
    moved = lines[3]
    assert (moved["from_office"], moved["to_office"], moved["reason_code"]) == (
        "KANTAH.32.73",
        "KANWIL.32",
        "WIDE_IMPACT",
    )
    assert moved["actor_id"] == "officer-1"

    target = tmp_path / "all.csv"
    assert (
        cli.main(["export", "--format", "csv", "--output", str(target), "--store-url", store_url])
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 14
    assert set(cli.EXPORT_COLUMNS) == set(rows[0])


def test_replay_shows_what_the_system_showed_then(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    moment = (EPOCH + timedelta(hours=2, minutes=30)).isoformat()
    assert (
        cli.main(["replay", "--as-of", moment, "--format", "jsonl", "--store-url", store_url]) == 0
    )
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["status"], row["holding_office"], row["reassignment_count"]) == (
        "ASSIGNED",
        "KANWIL.32",
        1,
    )
    assert cli.main(["replay", "--as-of", "2026-03-01", "--store-url", store_url]) == 0
    assert "(0 complaints)" in capsys.readouterr().out
    assert (
        cli.main(["replay", "--as-of", "2026-04-01T00:00:00+07:00", "--store-url", store_url]) == 0
    )
    assert "CLOSED" in capsys.readouterr().out


def test_bad_times_are_refused() -> None:
    with pytest.raises(SystemExit):
        cli.main(["replay", "--as-of", "yesterday"])


def test_scenario_export_is_in_history_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'many.sqlite'}"
    engine = make_engine(url)
    migrate(engine)
    projector = Projector(engine)
    history, _ = scenario(30, seed=9)
    for service in ("routing", "notification", "intake"):  # projected out of history order
        projector.process_batch(history.logs[service])
    assert cli.main(["export", "--store-url", url]) == 0
    exported = [json.loads(line)["event_id"] for line in capsys.readouterr().out.splitlines()]
    assert exported == [e.event_id for e in history.in_history_order()]


def test_export_into_a_pipe_closed_early_stops_quietly(tmp_path: Path) -> None:
    """`aduan audit export | head` must not end in a BrokenPipeError traceback."""
    url = f"sqlite:///{tmp_path / 'piped.sqlite'}"
    engine = make_engine(url)
    migrate(engine)
    history, _ = scenario(60, seed=3)
    Projector(engine).process_batch(history.in_history_order())
    engine.dispose()
    export = subprocess.Popen(
        [sys.executable, "-m", "aduan_query.cli", "export", "--store-url", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert export.stdout is not None
    assert export.stderr is not None
    first = export.stdout.readline()  # what `head -1` reads, then it goes away
    assert json.loads(first)["event_id"]
    export.stdout.close()
    errors = export.stderr.read().decode()
    assert export.wait(timeout=60) == 141  # as a Unix tool ended by SIGPIPE reports
    assert "Traceback" not in errors, errors
    assert errors == ""
