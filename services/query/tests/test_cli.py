"""`aduan-audit trail|export|replay` over a projected history, asking an in-process Query
service over gRPC with an auditor's token (verify and rebuild are in test_rebuild.py, since they
read EventLogs; the whole stack with nothing but a token in tests/e2e/test_audit_cli.py)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from sqlalchemy import Engine

from aduan.service.auth import AuthInterceptor, DevTokens, TokenVerifier
from aduan.service.grpcerrors import ErrorMappingInterceptor
from aduan.v1 import query_pb2_grpc
from aduan_devtools.natsserver import free_port
from aduan_devtools.testing.query import EPOCH, lifecycle, scenario
from aduan_query import cli
from aduan_query.auditview import EXPORT_COLUMNS
from aduan_query.projector import Projector
from aduan_query.readmodels import make_engine, migrate
from aduan_query.servicer import QUERY_POLICY, QueryServicer
from aduan_query.views import ComplaintQueries, ProgressWaiter

SECRET = "query-cli-tests-secret-0123456789abcdef"
TOKENS = DevTokens(SECRET)


def serve_query(engine: Engine) -> Iterator[str]:
    """The Query service over `engine` on a free loopback port, in a thread of its own (the
    commands run their own event loop); yields its address."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    projector = Projector(engine)
    servicer = QueryServicer(
        ComplaintQueries(engine, clock=lambda: EPOCH + timedelta(days=60)),
        ProgressWaiter(projector),
    )
    port = free_port()

    async def start() -> grpc.aio.Server:
        server = grpc.aio.server(
            interceptors=[
                AuthInterceptor(TokenVerifier(secret=SECRET), [QUERY_POLICY]),
                ErrorMappingInterceptor(),
            ]
        )
        query_pb2_grpc.add_QueryServicer_to_server(servicer, server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        return server

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(grace=None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture
def auditor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADUAN_TOKEN", TOKENS.issue("auditor", sub="auditor:bpk"))


@pytest.fixture
def query(engine: Engine, auditor: None) -> Iterator[str]:
    """The lifecycle complaint, projected and served."""
    projector = Projector(engine)
    history, _ = lifecycle()
    for envelope in history.in_history_order():
        projector.process(envelope)
    yield from serve_query(engine)


def test_trail_prints_every_event_and_the_custody_chain(
    query: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["trail", "ADU-LIFE-0001", "--query", query]) == 0
    out = capsys.readouterr().out
    assert "Audit trail of ADU-LIFE-0001 (14 events)" in out
    for text in (
        "ComplaintFiled",
        "CaseReassigned",
        "WIDE_IMPACT",
        "officer-1 @ KANTAH.32.73",
        "Kantor Pertanahan Kota",  # the office's name next to its code
        "Custody",
        "KANWIL.32 Kantor Wilayah BPN",
        # Filed at 01:00 UTC: 08:00 in Bandung's zone.
        "2026-03-02 08:00 WIB",
    ):
        assert text in out
    assert "2:00:00" in out  # the Kantah held it two hours


def test_trail_of_an_unknown_complaint_fails_clearly(
    query: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["trail", "ADU-NONE", "--query", query]) == 2
    assert "NOT_FOUND" in capsys.readouterr().err


def test_export_jsonl_and_csv_for_a_period(
    query: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    since, until = EPOCH.isoformat(), (EPOCH + timedelta(days=2)).isoformat()
    assert cli.main(["export", "--since", since, "--until", until, "--query", query]) == 0
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
    assert lines[0]["occurred_at"] == "2026-03-02T01:00:00+00:00"
    assert moved["occurred_at_local"].endswith("+07:00")
    assert moved["local_zone"] == "WIB"
    assert lines[0]["complaint_id"]
    assert lines[0]["correlation_id"]

    target = tmp_path / "all.csv"
    assert cli.main(["export", "--format", "csv", "--output", str(target), "--query", query]) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 14
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert "wrote 14 events" in capsys.readouterr().err


def test_replay_shows_what_the_system_showed_then(
    query: str, capsys: pytest.CaptureFixture[str]
) -> None:
    moment = (EPOCH + timedelta(hours=2, minutes=30)).isoformat()
    assert cli.main(["replay", "--as-of", moment, "--format", "jsonl", "--query", query]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["status"], row["holding_office"], row["reassignment_count"]) == (
        "ASSIGNED",
        "KANWIL.32",
        1,
    )
    assert row["filed_at"] == "2026-03-02T01:00:00+00:00"
    assert cli.main(["replay", "--as-of", "2026-03-01", "--query", query]) == 0
    assert "(2026-03-01T00:00:00+00:00; 0 complaints)" in capsys.readouterr().out
    assert cli.main(["replay", "--as-of", "2026-04-01T00:00:00+07:00", "--query", query]) == 0
    out = capsys.readouterr().out
    assert "CLOSED" in out
    assert "2026-03-02 08:00 WIB" in out  # filed, in the zone of the office holding it


def test_bad_times_are_refused() -> None:
    with pytest.raises(SystemExit):
        cli.main(["replay", "--as-of", "yesterday"])


def test_without_a_token_the_commands_say_what_they_need(
    query: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ADUAN_TOKEN")
    assert cli.main(["export", "--query", query]) == 2
    assert "set ADUAN_TOKEN (or --token) to an auditor's token" in capsys.readouterr().err


def test_export_is_for_those_who_read_everything(
    query: str, capsys: pytest.CaptureFixture[str]
) -> None:
    officer = TOKENS.issue("officer", "KANTAH.32.73", sub="officer:1")
    assert cli.main(["export", "--query", query, "--token", officer]) == 2
    assert "error: PERMISSION_DENIED" in capsys.readouterr().err


def test_scenario_export_is_in_history_order(
    engine: Engine, auditor: None, capsys: pytest.CaptureFixture[str]
) -> None:
    projector = Projector(engine)
    history, _ = scenario(30, seed=9)
    for service in ("routing", "notification", "intake"):  # projected out of history order
        projector.process_batch(history.logs[service])
    for address in serve_query(engine):
        assert cli.main(["export", "--query", address]) == 0
    exported = [json.loads(line)["event_id"] for line in capsys.readouterr().out.splitlines()]
    assert exported == [e.event_id for e in history.in_history_order()]


@dataclass
class Many:
    address: str
    complaint: str


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Many]:
    """300 complaints, projected and served: more output than a pipe holds."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('many') / 'query.sqlite'}")
    migrate(engine)
    history, ids = scenario(300, seed=3)
    Projector(engine).process_batch(history.in_history_order())
    for address in serve_query(engine):
        yield Many(address, ids[0])
    engine.dispose()


def piped(address: str, command: list[str], reader: str) -> subprocess.CompletedProcess[str]:
    """`aduan-audit COMMAND --query ADDRESS | READER` in bash, with an auditor's token and
    nothing else of Aduan in the environment; pipefail reports the command's status."""
    return subprocess.run(
        [
            "bash",
            "-o",
            "pipefail",
            "-c",
            f'"{sys.executable}" -m aduan_query.cli "$@" --query {address} | {reader}',
            "aduan-audit",
            *command,
        ],
        env={"PATH": os.environ["PATH"], "ADUAN_TOKEN": TOKENS.issue("auditor")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_export_into_head_stops_quietly(many: Many) -> None:
    """`aduan audit export | head -1`: the export is still reading pages when `head` has gone
    away, and stops with the status of a program ended by SIGPIPE (141), saying nothing."""
    done = piped(many.address, ["export"], "head -1")
    assert done.returncode == cli.SIGPIPE_STATUS, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout)["event_id"]


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--format", "csv"],
        ["replay", "--as-of", "2026-12-31", "--format", "jsonl"],
        ["replay", "--as-of", "2026-12-31"],
        ["trail", "{complaint}"],
    ],
    ids=" ".join,
)
def test_every_command_writing_to_stdout_stops_quietly_at_a_closed_pipe(
    many: Many, command: list[str]
) -> None:
    """A reader that is gone before the command writes (`true` reads nothing): 141 and no
    traceback, whether the command writes lines or rich's tables."""
    command = [part.format(complaint=many.complaint) for part in command]
    done = piped(many.address, command, "true")
    assert done.returncode == cli.SIGPIPE_STATUS, done.stderr
    assert done.stderr == ""
