"""The supervisor's view against the real query service in-process (projected history, the
service's token checks): the Kantah rows of a Kanwil equal query's own answer to the same token,
the regency and province maps are coloured from those rows, the trend asks one week at a time,
and a supervisor asking for an office outside their own gets query's refusal."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import httpx
import pytest

from aduan.core.settings import TlsSettings
from aduan.service.auth import AuthInterceptor, DevTokens, TokenVerifier, bearer_metadata
from aduan.service.grpcerrors import ErrorMappingInterceptor
from aduan.v1 import common_pb2, events_pb2, query_pb2_grpc
from aduan_desk import supervision
from aduan_desk.app import build_app
from aduan_desk.backend import GrpcBackend
from aduan_desk.settings import DeskSettings
from aduan_devtools.natsserver import free_port
from aduan_devtools.testing.query import History, file_complaint, office, officer, ts
from aduan_query.projector import Projector
from aduan_query.readmodels import make_engine, migrate
from aduan_query.servicer import QUERY_POLICY, QueryServicer
from aduan_query.views import ComplaintQueries, ProgressWaiter

SECRET = "desk-supervision-tests-secret-0123456789"
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
KANWIL, BANDUNG, KAB_BANDUNG = "KANWIL.32", "KANTAH.32.73", "KANTAH.32.04"


def history() -> History:
    """Kota Bandung misses an accept deadline and bounces a case up to the Kanwil; Kabupaten
    Bandung accepts in time."""
    h = History()
    late, _ = file_complaint(h, NOW - timedelta(days=10), "32.73", ticket="ADU-LATE")
    h.add(
        NOW - timedelta(days=10, minutes=-1),
        late,
        events_pb2.CaseRouted(to_office=office(BANDUNG), accept_due=ts(NOW - timedelta(days=7))),
    )
    on_time, _ = file_complaint(h, NOW - timedelta(days=9), "32.04", ticket="ADU-ONTIME")
    h.add(
        NOW - timedelta(days=9, minutes=-1),
        on_time,
        events_pb2.CaseRouted(
            to_office=office(KAB_BANDUNG), accept_due=ts(NOW - timedelta(days=6))
        ),
    )
    h.add(
        NOW - timedelta(days=8),
        on_time,
        events_pb2.CaseAccepted(
            office=office(KAB_BANDUNG), response_due=ts(NOW + timedelta(days=20))
        ),
        officer(KAB_BANDUNG, 1),
    )
    bounced, _ = file_complaint(h, NOW - timedelta(days=5), "32.73", ticket="ADU-UP")
    h.add(
        NOW - timedelta(days=5, minutes=-1),
        bounced,
        events_pb2.CaseRouted(to_office=office(BANDUNG), accept_due=ts(NOW - timedelta(days=2))),
    )
    h.add(
        NOW - timedelta(days=4),
        bounced,
        events_pb2.CaseReassigned(
            kind=common_pb2.REASSIGNMENT_KIND_ESCALATE,
            from_office=office(BANDUNG),
            to_office=office(KANWIL),
            reason_code=common_pb2.REASON_CODE_NEEDS_HIGHER_AUTHORITY,
            accept_due=ts(NOW + timedelta(days=1)),
        ),
        officer(BANDUNG, 2),
    )
    h.seal()
    return h


@dataclass
class Desk:
    client: httpx.AsyncClient
    query: query_pb2_grpc.QueryStub

    async def sign_in(self, role: str, office_code: str) -> None:
        page = await self.client.get("/signin")
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match, page.text
        answer = await self.client.post(
            "/signin", data={"csrf": match[1], "role": role, "office": office_code}
        )
        assert answer.status_code == 303, answer.text

    async def stats(self, role: str, office_code: str, **fields: object) -> dict[str, object]:
        token = DevTokens(SECRET).issue(role, office_code)
        start = NOW - timedelta(weeks=supervision.DEFAULT_WEEKS)
        request = supervision.stats_request(office_code, start, NOW, NOW)
        response = await self.query.GetStats(request, metadata=bearer_metadata(token))
        return {row.office_code: row for row in response.offices}


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    engine = make_engine(f"sqlite:///{tmp_path / 'query.sqlite'}")
    migrate(engine)
    projector = Projector(engine)
    for envelope in history().in_history_order():
        projector.process(envelope)
    server = grpc.aio.server(
        interceptors=[
            AuthInterceptor(TokenVerifier(secret=SECRET), [QUERY_POLICY]),
            ErrorMappingInterceptor(),
        ]
    )
    query_pb2_grpc.add_QueryServicer_to_server(
        QueryServicer(ComplaintQueries(engine, clock=lambda: NOW), ProgressWaiter(projector)),
        server,
    )
    port = free_port()
    address = f"127.0.0.1:{port}"
    server.add_insecure_port(address)
    await server.start()
    settings = DeskSettings.from_env({"ADUAN_AUTH_DEV": "true", "ADUAN_JWT_SECRET": SECRET})
    backend = GrpcBackend({"query": address, "routing": address, "intake": address}, TlsSettings())
    await backend.start()
    channel = grpc.aio.insecure_channel(address)
    app = build_app(settings, backend, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://desk") as client:
            yield Desk(client, query_pb2_grpc.QueryStub(channel))
    finally:
        await channel.close()
        await backend.close()
        await server.stop(grace=None)
        engine.dispose()


def cells(html: str, office_code: str) -> dict[str, str]:
    row = re.search(rf'<tr data-office="{re.escape(office_code)}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"no row for {office_code}"
    return {
        name: re.sub(r"<[^>]+>", "", value).strip()
        for name, value in re.findall(r'<td data-kpi="(\w+)"[^>]*>(.*?)</td>', row[1], re.S)
    }


async def test_a_kanwil_supervisor_sees_its_kantah_as_query_answers(desk: Desk) -> None:
    await desk.sign_in("supervisor", KANWIL)
    page = await desk.client.get("/offices")
    assert page.status_code == 200, page.text
    answer = await desk.stats("supervisor", KANWIL)
    for code in (BANDUNG, KAB_BANDUNG, KANWIL):
        shown, kpis = cells(page.text, code), answer[code]
        assert shown["backlog"] == str(kpis.backlog), code  # type: ignore[attr-defined]
        assert shown["overdue"] == str(kpis.overdue), code  # type: ignore[attr-defined]
        assert shown["bounced"] == str(kpis.bounced_out), code  # type: ignore[attr-defined]
    bandung = cells(page.text, BANDUNG)
    # Kota Bandung: one case waiting past its deadline, one bounced up; its breach is its own.
    assert (bandung["backlog"], bandung["overdue"], bandung["bounced"]) == ("1", "1", "1")
    assert bandung["compliance"] == "0%"
    assert bandung["breaches"].startswith("1 (1/0/0)")
    assert cells(page.text, KAB_BANDUNG)["compliance"] == "100%"
    # The Kanwil's own line is rolled up: its Kantah's backlog and breaches are in it.
    whole = cells(page.text, KANWIL)
    assert (whole["backlog"], whole["breaches"][:1]) == ("3", "1")
    # Every Kantah of Jawa Barat has a row; those with nothing in the period show zeros.
    assert cells(page.text, "KANTAH.32.01")["backlog"] == "0"
    # The regency map: one tile per Kantah, coloured by its compliance.
    assert re.search(rf'class="tile band-poor" data-tile="{BANDUNG}"', page.text)
    assert re.search(rf'class="tile band-good" data-tile="{KAB_BANDUNG}"', page.text)
    assert 'data-testid="trend"' in page.text


async def test_the_trend_asks_query_one_week_at_a_time(desk: Desk) -> None:
    await desk.sign_in("supervisor", KANWIL)
    page = await desk.client.get("/offices", params={"weeks": "8"})
    assert page.status_code == 200
    table = re.search(r'data-testid="trend-table">(.*?)</table>', page.text, re.S)
    assert table
    assert table[1].count("<tr>") == 8 + 1  # the header and eight weeks
    # The polyline has a point for each week in which the Kanwil met or missed a deadline.
    assert re.search(r'<polyline class="line" points="[\d., ]+"', page.text)


async def test_the_triage_desk_sees_the_province_map(desk: Desk) -> None:
    await desk.sign_in("supervisor", "PUSAT.IP3")
    page = await desk.client.get("/offices")
    assert page.status_code == 200, page.text
    assert page.text.count('data-tile="') == 38
    answer = await desk.stats("supervisor", "PUSAT.IP3")
    kanwil = answer[KANWIL]
    assert kanwil.HasField("sla_compliance")  # type: ignore[attr-defined]
    expected = supervision.band(kanwil.sla_compliance)  # type: ignore[attr-defined]
    assert f'class="tile band-{expected}" data-tile="32"' in page.text
    assert 'class="tile band-none" data-tile="11"' in page.text  # Aceh: nothing in the period
    # Drilling into the Kanwil is a link; query answers the triage desk's token for it.
    assert 'href="/offices?office=KANWIL.32&amp;weeks=4"' in page.text
    drilled = await desk.client.get("/offices", params={"office": KANWIL})
    assert drilled.status_code == 200
    assert cells(drilled.text, BANDUNG)["backlog"] == "1"


async def test_query_refuses_an_office_outside_the_users_own(desk: Desk) -> None:
    await desk.sign_in("supervisor", BANDUNG)
    page = await desk.client.get("/offices", params={"office": KANWIL})
    assert page.status_code == 403
    own = await desk.client.get("/offices")
    assert own.status_code == 200
    assert 'data-testid="map"' not in own.text  # a Kantah has no offices below it
