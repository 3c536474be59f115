"""The auditor's page: a complaint's history verified by the platform's rule over real EventLog
servers (a real store with a signed checkpoint, then one changed byte); the export streamed in the
CLI's format, page by page, and equal to the real query service's audit listing for the token
(refused for an officer, before the download starts); the queue as of a moment, against the real
query service too."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from eventsourcing.domain import Aggregate, event
from starlette.testclient import TestClient

from aduan.contract.auditview import EXPORT_COLUMNS
from aduan.contract.envelopes import EnvelopeTranslator
from aduan.contract.eventlog import EventLogServicer
from aduan.core.context import Actor, CommandContext
from aduan.core.settings import TlsSettings
from aduan.eventstore.chain import Finding, LogReport
from aduan.eventstore.checkpoint import CheckpointSealer, load_signer
from aduan.eventstore.store import AduanApplication, store_env
from aduan.service.auth import DevTokens, bearer_metadata
from aduan.v1 import common_pb2, eventlog_pb2_grpc, events_pb2, query_pb2
from aduan_desk.app import build_app
from aduan_desk.backend import GrpcBackend, timestamp
from aduan_desk.settings import DeskSettings
from aduan_devtools.natsserver import free_port
from aduan_devtools.testing.desk import NOW, FakeBackend, refusal
from aduan_devtools.testing.deskquery import BANDUNG, KANWIL, Desk, served_desk
from aduan_devtools.testing.deskquery import NOW as DESK_NOW
from aduan_devtools.testing.deskquery import SECRET as DESK_SECRET

SECRET = "s" * 40
CTX = CommandContext(actor=Actor.system("tests"))


def settings() -> DeskSettings:
    return DeskSettings.from_env({"ADUAN_AUTH_DEV": "true", "ADUAN_JWT_SECRET": SECRET})


def sign_in(client: TestClient, role: str = "auditor", office: str = "") -> None:
    page = client.get("/signin").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/signin",
        data={"csrf": csrf, "role": role, "office": office, "name": "ani"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def client(backend: FakeBackend) -> Iterator[TestClient]:
    with TestClient(build_app(settings(), backend, clock=lambda: NOW)) as test_client:
        sign_in(test_client)
        yield test_client


def entry(number: int) -> query_pb2.AuditEntry:
    return query_pb2.AuditEntry(
        event_id=f"routing:{number}",
        service="routing",
        position=number,
        event_type="CaseAccepted",
        occurred_at=timestamp(NOW),
        actor=common_pb2.Actor(id="officer:siti", role="officer", office_code="KANTAH.73.71"),
        complaint_id="c-1",
        summary="accepted",
    )


# -- export ------------------------------------------------------------------------------------


def test_export_streams_every_page_in_the_clis_csv(
    client: TestClient, backend: FakeBackend
) -> None:
    backend.audit_pages = [
        query_pb2.ListAuditEventsResponse(
            entries=[entry(1), entry(2)], page=common_pb2.PageResponse(next_page_token="1")
        ),
        query_pb2.ListAuditEventsResponse(entries=[entry(3)]),
    ]
    answer = client.get(
        "/audit/export",
        params={"format": "csv", "since": "2026-03-01T00:00", "until": "2026-03-02T00:00"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["event_id"] for r in rows] == ["routing:1", "routing:2", "routing:3"]
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    # WITA: the acting office is in Sulawesi Selatan.
    assert rows[0]["local_zone"] == "WITA"
    calls = [c for c in backend.calls if c[0] == "audit_events"]
    assert len(calls) == 2
    # The bounds are read in the desk's zone (Asia/Jakarta, UTC+7).
    first = calls[0][2]
    assert first.occurred.start.ToJsonString() == "2026-02-28T17:00:00Z"
    assert first.occurred.end.ToJsonString() == "2026-03-01T17:00:00Z"
    assert calls[1][2].page.page_token == "1"


def test_export_jsonl_and_bad_requests(client: TestClient, backend: FakeBackend) -> None:
    backend.audit_pages = [query_pb2.ListAuditEventsResponse(entries=[entry(1)])]
    answer = client.get("/audit/export", params={"format": "jsonl"})
    assert answer.status_code == 200
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert lines[0]["event_id"] == "routing:1"
    assert lines[0]["occurred_at"] == NOW.isoformat()
    assert client.get("/audit/export", params={"format": "xml"}).status_code == 400
    assert client.get("/audit/export", params={"since": "yesterday"}).status_code == 400


def test_a_refused_export_is_a_page_not_a_broken_file(
    client: TestClient, backend: FakeBackend
) -> None:
    backend.refuse["audit_events"] = refusal(grpc.StatusCode.PERMISSION_DENIED)
    answer = client.get("/audit/export", params={"format": "csv"})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")


# -- the queue as of a moment ------------------------------------------------------------------


def test_the_queue_as_of_a_moment_asks_query_with_as_of(
    client: TestClient, backend: FakeBackend
) -> None:
    answer = client.get("/queue", params={"as_of": "2026-03-01T09:30"})
    assert answer.status_code == 200
    assert 'data-testid="queue-as-of"' in answer.text
    assert "data-events" not in answer.text  # a past queue has no live stream
    request = [c for c in backend.calls if c[0] == "list"][-1][2]
    assert request.as_of.ToJsonString() == "2026-03-01T02:30:00Z"
    live = client.get("/queue")
    assert "data-events" in live.text
    assert not [c for c in backend.calls if c[0] == "list"][-1][2].HasField("as_of")
    assert client.get("/queue", params={"as_of": "soon"}).status_code == 400


# -- verification page (fake verdicts) -----------------------------------------------------------


def test_the_page_says_tampered_and_names_the_complaints_finding(
    client: TestClient, backend: FakeBackend
) -> None:
    backend.trail = [entry(1), entry(2)]
    backend.reports = [
        LogReport(
            "routing",
            events=2,
            head=2,
            findings=[Finding("altered", "routing", "content changed", position=2)],
        )
    ]
    page = client.get("/audit", params={"complaint": "c-1"})
    assert page.status_code == 200
    assert 'data-testid="verdict">dirusak</strong>' in page.text  # Indonesian by default
    assert "[routing] ALTERED: content changed" in page.text
    assert [c for c in backend.calls if c[0] == "verify"][-1][2] == (
        ("routing", 1),
        ("routing", 2),
    )


# -- verification over real EventLogs -----------------------------------------------------------


class Ledger(Aggregate):
    @event("Opened")
    def __init__(self, text: str, meta: dict[str, Any]) -> None:
        self.text = text


class LedgerApplication(AduanApplication):
    name = "ledger"


def translator(service: str) -> EnvelopeTranslator:
    return EnvelopeTranslator(
        service,
        {Ledger.Opened: lambda e: events_pb2.ComplaintFiled(description=e.text)},  # type: ignore[attr-defined]
    )


@pytest.fixture
async def eventlog(tmp_path: Path) -> AsyncIterator[tuple[Path, str]]:
    """The intake EventLog over a real store: three events sealed by a signed checkpoint."""
    path = tmp_path / "intake.db"
    app = LedgerApplication(store_env(f"sqlite:///{path}", "intake"))
    app.save(*[Ledger(text=f"ledger number {n}", meta=CTX.meta()) for n in range(3)])
    assert CheckpointSealer(app, "intake", load_signer("intake", {})).seal_once() is not None
    server = grpc.aio.server()
    eventlog_pb2_grpc.add_EventLogServicer_to_server(
        EventLogServicer(app, translator("intake")), server
    )
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    try:
        yield path, f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)


async def test_the_platforms_rule_over_real_eventlogs(eventlog: tuple[Path, str]) -> None:
    path, address = eventlog
    backend = GrpcBackend({"intake": address, "query": address, "routing": address}, TlsSettings())
    await backend.start()
    try:
        verdict = await backend.verify_history(f"token-{uuid.uuid4()}", [("intake", 2)])
        assert verdict.intact, verdict.findings
        assert verdict.sealed == 1
        with sqlite3.connect(path) as conn:
            (state,) = conn.execute("SELECT state FROM stored_events WHERE rowid = 2").fetchone()
            at = bytes(state).index(b"ledger number 1")
            changed = bytes(state)[:at] + b"m" + bytes(state)[at + 1 :]
            conn.execute("UPDATE stored_events SET state = ? WHERE rowid = 2", (changed,))
        tampered = await backend.verify_history("token", [("intake", 2)])
        assert not tampered.intact
        assert [f.kind for f in tampered.touching] == ["altered"]
    finally:
        await backend.close()


# -- against the real query service in-process ---------------------------------------------------


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    async with served_desk(tmp_path) as served:
        yield served


async def test_the_export_is_querys_audit_listing_for_the_token(desk: Desk) -> None:
    await desk.sign_in("auditor", "")
    answer = await desk.client.get("/audit/export", params={"format": "csv"})
    assert answer.status_code == 200, answer.text
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    token = DevTokens(DESK_SECRET).issue("auditor", "")
    listed = await desk.query.ListAuditEvents(
        query_pb2.ListAuditEventsRequest(page=common_pb2.PageRequest(page_size=500)),
        metadata=bearer_metadata(token),
    )
    assert [r["event_id"] for r in rows] == [e.event_id for e in listed.entries]
    assert len(rows) > 5  # every event of the three complaints
    assert len({r["complaint_id"] for r in rows}) == 3
    # Query keeps the listing to auditors and administrators; the desk shows its refusal.
    await desk.sign_in("officer", BANDUNG)
    refused = await desk.client.get("/audit/export", params={"format": "jsonl"})
    assert refused.status_code == 403


async def test_the_queue_as_of_before_the_escalation(desk: Desk) -> None:
    await desk.sign_in("supervisor", KANWIL)
    before = (DESK_NOW - timedelta(days=4, hours=1)).astimezone(ZoneInfo("Asia/Jakarta"))
    then = await desk.client.get(
        "/queue",
        params={"office": BANDUNG, "as_of": before.strftime("%Y-%m-%dT%H:%M:%S")},
    )
    assert then.status_code == 200, then.text
    assert "ADU-UP" in then.text  # Kota Bandung still held it then
    now = await desk.client.get("/queue", params={"office": BANDUNG})
    assert "ADU-UP" not in now.text
    assert "ADU-LATE" in now.text
