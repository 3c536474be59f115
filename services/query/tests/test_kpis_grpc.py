"""Acceptance: KPIs charge the office that missed the deadline (GetStats over in-process gRPC).

KANTAH.73.71 (Makassar) misses its accept deadline on two cases; one is escalated to KANWIL.73 by
the SLA ticker, the other by an officer's manual ESCALATE. The breaches count against the Kantah
and not the Kanwil, as of any later moment; before the deadline there is none.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from aduan.service.auth import AuthInterceptor, DevTokens, TokenVerifier, bearer_interceptors
from aduan.service.grpcerrors import ErrorMappingInterceptor
from aduan.v1 import common_pb2, events_pb2, query_pb2, query_pb2_grpc
from aduan_devtools.natsserver import free_port
from aduan_devtools.testing.query import History, file_complaint, office, officer, ts
from aduan_query.cli import main
from aduan_query.projector import Projector
from aduan_query.servicer import QUERY_POLICY, QueryServicer
from aduan_query.views import ComplaintQueries, ProgressWaiter

pytestmark = pytest.mark.integration

KANTAH, KANWIL = "KANTAH.73.71", "KANWIL.73"
FILED = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 09:00 WITA
ACCEPT_DUE = FILED + timedelta(days=3)
TICKER = ACCEPT_DUE + timedelta(minutes=1)
NOW = FILED + timedelta(days=40)
SECRET = "query-kpi-tests-secret-0123456789abcdef"
TOKENS = DevTokens(SECRET)


def kpi_history() -> History:
    h = History()
    ticker = common_pb2.Actor(
        id="system:sla-ticker", kind=common_pb2.ACTOR_KIND_SERVICE, role="service"
    )
    # 1: never accepted; the SLA ticker records the breach and escalates.
    one, _ = file_complaint(h, FILED, "73.71", ticket="ADU-SLA")
    h.add(
        FILED + timedelta(minutes=1),
        one,
        events_pb2.CaseRouted(to_office=office(KANTAH), accept_due=ts(ACCEPT_DUE)),
    )
    h.add(
        TICKER,
        one,
        events_pb2.SlaBreached(
            sla=common_pb2.SLA_KIND_ACCEPT,
            office=office(KANTAH),
            due_at=ts(ACCEPT_DUE),
            escalated_to=office(KANWIL),
        ),
        ticker,
    )
    h.add(
        TICKER,
        one,
        events_pb2.CaseReassigned(
            kind=common_pb2.REASSIGNMENT_KIND_ESCALATE,
            from_office=office(KANTAH),
            to_office=office(KANWIL),
            reason_code=common_pb2.REASON_CODE_SLA_BREACH,
            accept_due=ts(TICKER + timedelta(days=3)),
            held_seconds=int((TICKER - FILED).total_seconds()),
        ),
        ticker,
    )
    # The Kanwil accepts in time.
    h.add(
        TICKER + timedelta(hours=2),
        one,
        events_pb2.CaseAccepted(office=office(KANWIL), response_due=ts(TICKER + timedelta(days=7))),
        officer(KANWIL, 1),
    )
    # 2: the Kantah lets the deadline pass, then an officer escalates by hand before the ticker.
    two, _ = file_complaint(
        h, FILED + timedelta(seconds=30), "73.71", ticket="ADU-MANUAL",
        category=common_pb2.CATEGORY_LAND_DISPUTE,
    )  # fmt: skip
    h.add(
        FILED + timedelta(minutes=2),
        two,
        events_pb2.CaseRouted(to_office=office(KANTAH), accept_due=ts(ACCEPT_DUE)),
    )
    h.add(
        ACCEPT_DUE + timedelta(seconds=30),
        two,
        events_pb2.CaseReassigned(
            kind=common_pb2.REASSIGNMENT_KIND_ESCALATE,
            from_office=office(KANTAH),
            to_office=office(KANWIL),
            reason_code=common_pb2.REASON_CODE_NEEDS_HIGHER_AUTHORITY,
            note="perlu Kanwil",
            accept_due=ts(ACCEPT_DUE + timedelta(days=3)),
        ),
        officer(KANTAH, 2),
    )
    h.add(
        ACCEPT_DUE + timedelta(hours=1),
        two,
        events_pb2.CaseAccepted(
            office=office(KANWIL), response_due=ts(ACCEPT_DUE + timedelta(days=7))
        ),
        officer(KANWIL, 1),
    )
    h.add(
        ACCEPT_DUE + timedelta(hours=5),
        two,
        events_pb2.ReporterAnswered(
            office=office(KANWIL), text="kami tangani", first_response=True
        ),
        officer(KANWIL, 1),
    )
    h.add(
        ACCEPT_DUE + timedelta(days=2),
        two,
        events_pb2.CaseResolved(office=office(KANWIL), summary="selesai"),
        officer(KANWIL, 1),
    )
    h.add(ACCEPT_DUE + timedelta(days=3), two, events_pb2.ResolutionRated(rating=4))
    h.seal()
    return h


@dataclass
class Served:
    stub: Callable[[str, str], query_pb2_grpc.QueryStub]
    address: str


@pytest.fixture
async def served(engine: Engine, tmp_path: Path) -> AsyncIterator[Served]:
    projector = Projector(engine)
    for envelope in kpi_history().in_history_order():
        projector.process(envelope)
    servicer = QueryServicer(ComplaintQueries(engine, clock=lambda: NOW), ProgressWaiter(projector))
    server = grpc.aio.server(
        interceptors=[
            AuthInterceptor(TokenVerifier(secret=SECRET), [QUERY_POLICY]),
            ErrorMappingInterceptor(),
        ]
    )
    query_pb2_grpc.add_QueryServicer_to_server(servicer, server)
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    channels: list[grpc.aio.Channel] = []

    def stub(role: str, office_code: str = "") -> query_pb2_grpc.QueryStub:
        token = bearer_interceptors(lambda: TOKENS.issue(role, office_code))
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=token)
        channels.append(channel)
        return query_pb2_grpc.QueryStub(channel)

    try:
        yield Served(stub, f"127.0.0.1:{port}")
    finally:
        for channel in channels:
            await channel.close()
        await server.stop(grace=None)


async def offices(
    stub: query_pb2_grpc.QueryStub, as_of: datetime | None = None, **fields: object
) -> dict[str, query_pb2.OfficeKpis]:
    request = query_pb2.GetStatsRequest(office_kpis=True, **fields)  # type: ignore[arg-type]
    if as_of is not None:
        request.as_of.CopyFrom(ts(as_of))
    response = await stub.GetStats(request)
    return {o.office_code: o for o in response.offices}


async def test_the_breach_counts_against_the_kantah_that_missed_it(served: Served) -> None:
    auditor = served.stub("auditor", "")
    for as_of in (TICKER + timedelta(hours=1), NOW):
        figures = await offices(auditor, as_of)
        assert figures[KANTAH].accept_breaches == 2, as_of
        assert figures[KANWIL].accept_breaches == 0, as_of
        assert figures[KANTAH].received == 2
        assert figures[KANTAH].accepted == 0
        assert figures[KANTAH].escalated_by_sla == 1
        assert figures[KANTAH].bounced_out == 1  # the manual escalation
        assert figures[KANWIL].received == 2
        assert figures[KANWIL].bounced_in == 1
    # Without as_of: now. The Kanwil accepted both in time and answered and resolved one.
    now = await offices(auditor)
    kanwil = now[KANWIL]
    assert (kanwil.accepted, kanwil.accepted_in_time) == (2, 2)
    assert (kanwil.responded, kanwil.responded_in_time) == (1, 1)
    assert (kanwil.resolved, kanwil.resolved_in_time) == (1, 1)
    assert kanwil.median_time_to_accept.ToTimedelta() == timedelta(
        minutes=89, seconds=45
    )  # 2 h and 59.5 min
    assert kanwil.median_time_to_resolve.ToTimedelta() == timedelta(days=2, seconds=-30)
    assert (kanwil.ratings, kanwil.mean_rating) == (1, 4.0)
    assert now[KANTAH].accept_breaches == 2
    assert now[KANWIL].accept_breaches == 0


async def test_before_the_deadline_there_is_no_breach(served: Served) -> None:
    auditor = served.stub("auditor", "")
    before = await offices(auditor, ACCEPT_DUE - timedelta(minutes=1))
    assert before[KANTAH].accept_breaches == 0
    assert before[KANTAH].received == 2
    assert KANWIL not in before  # nothing had reached it yet
    # Between the deadline and the escalations the breach is already the Kantah's.
    between = await offices(auditor, ACCEPT_DUE + timedelta(seconds=10))
    assert between[KANTAH].accept_breaches == 2


async def test_filters_periods_and_the_callers_office(served: Served) -> None:
    auditor = served.stub("auditor", "")
    disputes = await offices(auditor, category=common_pb2.CATEGORY_LAND_DISPUTE)
    assert disputes[KANTAH].accept_breaches == 1
    assert disputes[KANWIL].resolved == 1
    assert await offices(auditor, channel=common_pb2.CHANNEL_WEB) == {}
    # A period that ends before the deadline holds the receptions but not the breaches.
    early = await offices(
        auditor,
        period=common_pb2.TimeRange(start=ts(FILED), end=ts(FILED + timedelta(days=1))),
    )
    assert early[KANTAH].received == 2
    assert early[KANTAH].accept_breaches == 0
    assert early[KANTAH].time_held.ToTimedelta() == timedelta(days=1) * 2 - timedelta(minutes=3)
    # The Kantah's supervisor sees the Kantah's own figures, including the cases it no longer
    # holds, and no other office's.
    kantah = await offices(served.stub("supervisor", KANTAH))
    assert set(kantah) == {KANTAH}
    assert kantah[KANTAH].accept_breaches == 2
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await offices(served.stub("supervisor", KANTAH), office_code=KANWIL)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await offices(auditor, channel=99)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # The existing figures keep working, and as_of applies to them too.
    stats = await auditor.GetStats(query_pb2.GetStatsRequest())
    assert stats.total == 2
    assert {c.key: c.count for c in stats.by_office} == {KANWIL: 2}
    then = query_pb2.GetStatsRequest()
    then.as_of.CopyFrom(ts(ACCEPT_DUE - timedelta(minutes=1)))
    assert {c.key: c.count for c in (await auditor.GetStats(then)).by_office} == {KANTAH: 2}
    assert not (await auditor.GetStats(query_pb2.GetStatsRequest())).offices


async def test_monthly_report_as_csv_and_xlsx_through_getstats(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADUAN_TOKEN", TOKENS.issue("auditor"))
    base = ["report", "--month", "2026-11", "--query", served.address]
    out = tmp_path / "kpi.csv"
    assert await asyncio.to_thread(main, [*base, "--format", "csv", "--out", str(out)]) == 0
    rows = {row["office_code"]: row for row in csv.DictReader(out.open(encoding="utf-8"))}
    assert set(rows) == {KANTAH, KANWIL}
    assert rows[KANTAH]["accept_breaches"] == "2"
    assert rows[KANWIL]["accept_breaches"] == "0"
    assert rows[KANWIL]["median_hours_to_resolve"] == "47.99"
    assert rows[KANWIL]["mean_rating"] == "4.0"
    assert rows[KANTAH]["median_hours_to_accept"] == ""

    book_path = tmp_path / "kpi.xlsx"
    split = [*base, "--format", "xlsx", "--out", str(book_path), "--split", "category"]
    assert await asyncio.to_thread(main, split) == 0
    sheet = load_workbook(book_path)["KPI"]
    header, *values = [list(row) for row in sheet.iter_rows(values_only=True)]
    table = [dict(zip(header, row, strict=True)) for row in values]
    assert [(r["office_code"], r["category"], r["accept_breaches"]) for r in table] == [
        (KANTAH, "LAND_DISPUTE", 1),
        (KANTAH, "LAND_SERVICE", 1),
        (KANWIL, "LAND_DISPUTE", 0),
        (KANWIL, "LAND_SERVICE", 0),
    ]
    # October (WIB) holds nothing; a supervisor of another office is refused.
    empty = tmp_path / "october.csv"
    october = ["report", "--month", "2026-10", "--query", served.address, "--out", str(empty)]
    assert await asyncio.to_thread(main, october) == 0
    assert empty.read_text(encoding="utf-8").count("\n") == 1  # the header only
    monkeypatch.setenv("ADUAN_TOKEN", TOKENS.issue("supervisor", KANTAH))
    refused = [*base, "--office", KANWIL, "--out", str(tmp_path / "x.csv")]
    assert await asyncio.to_thread(main, refused) == 2


async def test_backlog_compliance_and_roll_up(served: Served) -> None:
    auditor = served.stub("auditor", "")
    now = await offices(auditor)
    kantah, kanwil = now[KANTAH], now[KANWIL]
    # The Kantah met no deadline and missed two; the Kanwil met its five.
    assert kantah.HasField("sla_compliance")
    assert kantah.sla_compliance == 0.0
    met = kanwil.accepted_in_time + kanwil.responded_in_time + kanwil.resolved_in_time
    missed = kanwil.accept_breaches + kanwil.first_response_breaches + kanwil.resolution_breaches
    assert kanwil.sla_compliance == pytest.approx(met / (met + missed))
    assert (kantah.backlog, kantah.overdue) == (0, 0)  # both went up to the Kanwil
    # Rolled up, the Kanwil's row answers for its Kantah too.
    rolled = await offices(auditor, roll_up=True)
    assert rolled[KANWIL].accept_breaches == kanwil.accept_breaches + kantah.accept_breaches
    assert rolled[KANWIL].received == kanwil.received + kantah.received
    assert rolled[KANWIL].backlog == kanwil.backlog + kantah.backlog
    assert rolled[KANTAH] == kantah
