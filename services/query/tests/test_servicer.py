"""aduan.v1.Query over gRPC (in-process server on a free port, the platform's error mapping)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from sqlalchemy import Engine

from aduan.contract.eventlog import EventLogReader
from aduan.core.settings import WRITE_SERVICES
from aduan.service.auth import AuthInterceptor, DevTokens, TokenVerifier, bearer_interceptors
from aduan.service.grpcerrors import ErrorMappingInterceptor
from aduan.v1 import common_pb2, events_pb2, query_pb2, query_pb2_grpc
from aduan_devtools.natsserver import free_port
from aduan_devtools.testing.query import (
    EPOCH,
    History,
    file_complaint,
    office,
    officer,
    serve_eventlogs,
    ts,
)
from aduan_query.projector import Projector
from aduan_query.rebuild import Rebuilder
from aduan_query.servicer import QUERY_POLICY, QueryServicer
from aduan_query.views import ComplaintQueries, ProgressWaiter

pytestmark = pytest.mark.integration

NOW = EPOCH + timedelta(days=10)
KANTAH, KANWIL = "KANTAH.32.73", "KANWIL.32"


@dataclass
class Running:
    stub: query_pb2_grpc.QueryStub
    projector: Projector
    history: History
    ids: dict[str, str]
    address: str = ""
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def stub_for(self, role: str, office: str = "") -> query_pb2_grpc.QueryStub:
        """A stub calling as `role` of `office` (its channel closes with the fixture)."""
        token = bearer_interceptors(lambda: TOKENS.issue(role, office, f"{role}:{office}"))
        channel = grpc.aio.insecure_channel(self.address, interceptors=token)
        self.channels.append(channel)
        return query_pb2_grpc.QueryStub(channel)


def seeded_history() -> tuple[History, dict[str, str]]:
    """Four complaints with known outcomes (times relative to EPOCH; "now" is EPOCH + 10 days)."""
    h = History()
    ids: dict[str, str] = {}
    # a: Kantah Bandung, accepted, answered after 2h, resolved after 2 days, rated.
    a, _ = file_complaint(h, EPOCH, "32.73", ticket="ADU-A", subject="Sertifikat hilang")
    h.add(
        EPOCH + timedelta(minutes=1),
        a,
        events_pb2.CaseRouted(
            to_office=office(KANTAH),
            rule_id="r1",
            ruleset_version="v1",
            accept_due=ts(EPOCH + timedelta(days=3)),
        ),
    )
    h.add(
        EPOCH + timedelta(minutes=30),
        a,
        events_pb2.ReporterMessageAdded(
            message_id="m-1",
            channel=common_pb2.CHANNEL_WHATSAPP,
            text="Ini foto sertifikatnya",
            attachments=[
                common_pb2.Attachment(
                    uri="media/abc", media_type="image/jpeg", sha256="ab" * 32, caption="sertifikat"
                )
            ],
        ),
    )
    h.add(
        EPOCH + timedelta(hours=1),
        a,
        events_pb2.CaseAccepted(office=office(KANTAH), response_due=ts(EPOCH + timedelta(days=5))),
        officer(KANTAH, 1),
    )
    h.add(
        EPOCH + timedelta(hours=2),
        a,
        events_pb2.ReporterAnswered(office=office(KANTAH), text="ok", first_response=True),
        officer(KANTAH, 1),
    )
    h.add(
        EPOCH + timedelta(days=2),
        a,
        events_pb2.CaseResolved(office=office(KANTAH), summary="done"),
        officer(KANTAH, 1),
    )
    h.add(EPOCH + timedelta(days=3), a, events_pb2.ResolutionRated(rating=5))
    ids["a"] = a
    # b: escalated Kantah -> Kanwil after 1 day, answered after 4h... of filing? at day 1 + 4h.
    b, _ = file_complaint(
        h,
        EPOCH + timedelta(hours=1),
        "32.04",
        ticket="ADU-B",
        category=common_pb2.CATEGORY_LAND_DISPUTE,
        subject="Sengketa batas",
    )
    h.add(
        EPOCH + timedelta(hours=1, minutes=1),
        b,
        events_pb2.CaseRouted(
            to_office=office("KANTAH.32.04"), accept_due=ts(EPOCH + timedelta(days=3))
        ),
    )
    h.add(
        EPOCH + timedelta(days=1, hours=1, minutes=1),
        b,
        events_pb2.CaseReassigned(
            kind=common_pb2.REASSIGNMENT_KIND_ESCALATE,
            from_office=office("KANTAH.32.04"),
            to_office=office(KANWIL),
            reason_code=common_pb2.REASON_CODE_WIDE_IMPACT,
            note="luas",
            accept_due=ts(EPOCH + timedelta(days=4)),
        ),
        officer("KANTAH.32.04", 2),
    )
    h.add(
        EPOCH + timedelta(days=1, hours=5),
        b,
        events_pb2.ReporterAnswered(office=office(KANWIL), text="ok", first_response=True),
    )
    h.add(
        EPOCH + timedelta(days=1, hours=6),
        b,
        events_pb2.PingPongFlagged(reassignment_count=1, supervising_office=office("PUSAT.IP3")),
    )
    ids["b"] = b
    # c: Jakarta, routed, never accepted: breached and overdue by "now".
    c, _ = file_complaint(
        h,
        EPOCH + timedelta(hours=2),
        "31.71",
        ticket="ADU-C",
        category=common_pb2.CATEGORY_SPATIAL_PLANNING,
        subject="Tata ruang",
    )
    h.add(
        EPOCH + timedelta(hours=2, minutes=1),
        c,
        events_pb2.CaseRouted(
            to_office=office("KANTAH.31.71"), accept_due=ts(EPOCH + timedelta(days=3))
        ),
    )
    h.add(
        EPOCH + timedelta(days=4),
        c,
        events_pb2.SlaBreached(
            sla=common_pb2.SLA_KIND_ACCEPT,
            office=office("KANTAH.31.71"),
            due_at=ts(EPOCH + timedelta(days=3)),
        ),
    )
    ids["c"] = c
    # d: withdrawn.
    d, _ = file_complaint(
        h,
        EPOCH + timedelta(hours=3),
        "32.73",
        ticket="ADU-D",
        anonymous=True,
        subject="Pungli loket",
    )
    h.add(EPOCH + timedelta(hours=3, minutes=1), d, events_pb2.CaseRouted(to_office=office(KANTAH)))
    h.add(EPOCH + timedelta(hours=4), d, events_pb2.ComplaintWithdrawn(reason="salah"))
    ids["d"] = d
    h.seal()
    return h, ids


SECRET = "query-servicer-tests-secret-0123456789"
TOKENS = DevTokens(SECRET)


@pytest.fixture
async def running(engine: Engine, tmp_path: Path) -> AsyncIterator[Running]:
    history, ids = seeded_history()
    projector = Projector(engine)
    for envelope in history.in_history_order():
        projector.process(envelope)
    async with serve_eventlogs(history.logs) as (addresses, _):
        reader = EventLogReader(addresses)
        servicer = QueryServicer(
            ComplaintQueries(engine, clock=lambda: NOW),
            ProgressWaiter(projector),
            projector,
            Rebuilder(engine, reader, WRITE_SERVICES, live=projector),
        )
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
        # An auditor who is also an administrator: sees everything, may rebuild.
        auditor = bearer_interceptors(lambda: TOKENS.issue(["auditor", "admin"]))
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=auditor)
        try:
            running = Running(
                query_pb2_grpc.QueryStub(channel), projector, history, ids, f"127.0.0.1:{port}"
            )
            yield running
        finally:
            await channel.close()
            for other in running.channels:
                await other.close()
            await server.stop(grace=None)
            await reader.close()


async def test_get_complaint_by_ticket_or_id_with_every_field(running: Running) -> None:
    view = (
        await running.stub.GetComplaint(query_pb2.GetComplaintRequest(complaint_id="adu-a"))
    ).complaint
    assert view.complaint_id == running.ids["a"]
    assert view.status == common_pb2.COMPLAINT_STATUS_RESOLVED
    assert view.holding_office.code == KANTAH
    assert view.holding_office.level == common_pb2.OFFICE_LEVEL_KANTAH
    assert view.category == common_pb2.CATEGORY_LAND_SERVICE
    assert view.channel == common_pb2.CHANNEL_WHATSAPP
    assert view.location.regency_code == "32.73"
    assert view.rating == 5
    assert view.masked_contact == "+62812****789"
    assert view.accept_due.ToDatetime() == (EPOCH + timedelta(days=3)).replace(tzinfo=None)
    assert view.HasField("resolution_due")
    assert view.HasField("accepted_at")
    assert view.HasField("first_response_at")
    assert view.HasField("resolved_at")
    assert not view.overdue

    c = (
        await running.stub.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id=running.ids["c"])
        )
    ).complaint
    assert list(c.breached) == [common_pb2.SLA_KIND_ACCEPT]
    assert c.overdue
    b = (
        await running.stub.GetComplaint(query_pb2.GetComplaintRequest(complaint_id="ADU-B"))
    ).complaint
    assert b.reassignment_count == 1
    assert b.ping_pong_flagged
    assert b.holding_office.code == KANWIL
    d = (
        await running.stub.GetComplaint(query_pb2.GetComplaintRequest(complaint_id="ADU-D"))
    ).complaint
    assert d.status == common_pb2.COMPLAINT_STATUS_WITHDRAWN
    assert d.anonymous
    assert d.masked_contact == ""

    # Time travel: on day 1 complaint a was in progress, and c did not exist before EPOCH+2h.
    then = ts(EPOCH + timedelta(days=1))
    past = (
        await running.stub.GetComplaint(
            query_pb2.GetComplaintRequest(complaint_id="ADU-A", as_of=then)
        )
    ).complaint
    assert past.status == common_pb2.COMPLAINT_STATUS_IN_PROGRESS
    assert past.rating == 0
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await running.stub.GetComplaint(
            query_pb2.GetComplaintRequest(
                complaint_id="ADU-C", as_of=ts(EPOCH + timedelta(hours=1))
            )
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await running.stub.GetComplaint(query_pb2.GetComplaintRequest(complaint_id="ADU-NOPE"))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


async def tickets(stub: query_pb2_grpc.QueryStub, **filters: object) -> list[str]:
    as_of = filters.pop("as_of", None)
    request = query_pb2.ListComplaintsRequest(filter=query_pb2.ComplaintFilter(**filters))  # type: ignore[arg-type]
    if as_of is not None:
        request.as_of.CopyFrom(ts(as_of))  # type: ignore[arg-type]
    response = await stub.ListComplaints(request)
    return [view.ticket_number for view in response.complaints]


async def test_list_complaints_filters(running: Running) -> None:
    stub = running.stub
    assert await tickets(stub) == ["ADU-A", "ADU-B", "ADU-C", "ADU-D"]
    assert await tickets(stub, office_code=KANWIL) == ["ADU-B"]
    assert await tickets(stub, office_code=KANWIL, include_descendants=True) == [
        "ADU-A",
        "ADU-B",
        "ADU-D",
    ]
    assert await tickets(stub, office_code="pusat.ip3", include_descendants=True) == [
        "ADU-A",
        "ADU-B",
        "ADU-C",
        "ADU-D",
    ]
    assert await tickets(stub, province_code="31") == ["ADU-C"]
    assert await tickets(stub, regency_code="32.73") == ["ADU-A", "ADU-D"]
    assert await tickets(
        stub, statuses=[common_pb2.COMPLAINT_STATUS_ASSIGNED, common_pb2.COMPLAINT_STATUS_WITHDRAWN]
    ) == ["ADU-B", "ADU-C", "ADU-D"]
    assert await tickets(stub, categories=[common_pb2.CATEGORY_LAND_DISPUTE]) == ["ADU-B"]
    assert await tickets(stub, overdue_only=True) == ["ADU-B", "ADU-C"]
    assert await tickets(stub, text="SENGKETA") == ["ADU-B"]
    assert await tickets(stub, text="%") == []  # no wildcard injection
    window = common_pb2.TimeRange(
        start=ts(EPOCH + timedelta(minutes=30)), end=ts(EPOCH + timedelta(hours=2, minutes=30))
    )
    assert await tickets(stub, filed=window) == ["ADU-B", "ADU-C"]
    # As of one hour in, only a and b were filed, and both sat with their Kantah.
    assert await tickets(
        stub,
        office_code=KANWIL,
        include_descendants=True,
        as_of=EPOCH + timedelta(hours=1, minutes=30),
    ) == ["ADU-A", "ADU-B"]
    assert await tickets(
        stub, statuses=[common_pb2.COMPLAINT_STATUS_IN_PROGRESS], as_of=EPOCH + timedelta(days=1)
    ) == ["ADU-A"]

    first = await stub.ListComplaints(
        query_pb2.ListComplaintsRequest(page=common_pb2.PageRequest(page_size=3))
    )
    assert [v.ticket_number for v in first.complaints] == ["ADU-A", "ADU-B", "ADU-C"]
    second = await stub.ListComplaints(
        query_pb2.ListComplaintsRequest(
            page=common_pb2.PageRequest(page_size=3, page_token=first.page.next_page_token)
        )
    )
    assert [v.ticket_number for v in second.complaints] == ["ADU-D"]
    assert second.page.next_page_token == ""
    for bad in (
        query_pb2.ListComplaintsRequest(page=common_pb2.PageRequest(page_token="garbage")),
        query_pb2.ListComplaintsRequest(
            filter=query_pb2.ComplaintFilter(office_code=KANWIL),
            page=common_pb2.PageRequest(page_token=first.page.next_page_token),
        ),
        query_pb2.ListComplaintsRequest(filter=query_pb2.ComplaintFilter(office_code="KANTOR.X")),
        query_pb2.ListComplaintsRequest(page=common_pb2.PageRequest(page_size=-1)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.ListComplaints(bad)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_audit_trail_pages_with_actor_offices_reason_and_rule(running: Running) -> None:
    entries: list[query_pb2.AuditEntry] = []
    token = ""
    while True:
        response = await running.stub.GetAuditTrail(
            query_pb2.GetAuditTrailRequest(
                complaint_id="ADU-B", page=common_pb2.PageRequest(page_size=2, page_token=token)
            )
        )
        entries.extend(response.entries)
        token = response.page.next_page_token
        if not token:
            break
    assert [e.event_type for e in entries] == [
        "ComplaintFiled",
        "CaseOpened",
        "CaseRouted",
        "CaseReassigned",
        "ReporterAnswered",
        "PingPongFlagged",
    ]
    moved = entries[3]
    assert (moved.from_office.code, moved.to_office.code) == ("KANTAH.32.04", KANWIL)
    assert moved.reason_code == common_pb2.REASON_CODE_WIDE_IMPACT
    assert moved.note == "luas"
    assert moved.actor.id == "officer-2"
    assert moved.actor.kind == common_pb2.ACTOR_KIND_OFFICER
    assert moved.actor.office_code == "KANTAH.32.04"
    assert "KANTAH.32.04 -> KANWIL.32" in moved.summary
    routed = (
        await running.stub.GetAuditTrail(query_pb2.GetAuditTrailRequest(complaint_id="ADU-A"))
    ).entries[2]
    assert (routed.rule_id, routed.ruleset_version, routed.to_office.code) == ("r1", "v1", KANTAH)


async def test_the_trail_carries_the_conversation_and_its_attachments(running: Running) -> None:
    """What the reporter wrote after filing (the redacted copy) and what the office answered are
    in the trail's notes, with the files each message carried, so a desk can show the
    conversation as of any moment."""
    trail = (
        await running.stub.GetAuditTrail(query_pb2.GetAuditTrailRequest(complaint_id="ADU-A"))
    ).entries
    said = [
        (e.event_type, e.note)
        for e in trail
        if e.event_type in ("ReporterMessageAdded", "ReporterAnswered")
    ]
    assert said == [
        ("ReporterMessageAdded", "Ini foto sertifikatnya"),
        ("ReporterAnswered", "ok"),
    ]
    message = next(e for e in trail if e.event_type == "ReporterMessageAdded")
    assert [(a.uri, a.media_type, a.caption) for a in message.attachments] == [
        ("media/abc", "image/jpeg", "sertifikat")
    ]
    assert all(not e.attachments for e in trail if e.event_type != "ReporterMessageAdded")


async def test_stats_for_a_period_and_an_office(running: Running) -> None:
    stats = await running.stub.GetStats(query_pb2.GetStatsRequest())
    assert stats.total == 4
    assert {c.key: c.count for c in stats.by_status} == {
        "RESOLVED": 1,
        "ASSIGNED": 2,
        "WITHDRAWN": 1,
    }
    assert {c.key: c.count for c in stats.by_office} == {KANTAH: 2, KANWIL: 1, "KANTAH.31.71": 1}
    assert {c.key: c.count for c in stats.by_province} == {"32": 3, "31": 1}
    assert {c.key: c.count for c in stats.by_category}["LAND_SERVICE"] == 2
    # b and c are overdue (c breached too), a and d met their deadlines.
    assert stats.sla_compliance == pytest.approx(0.5)
    # first responses: a after 2h, b after 1 day 4h -> median 15h.
    assert stats.median_time_to_first_response.ToTimedelta() == timedelta(hours=15)
    assert stats.median_time_to_resolution.ToTimedelta() == timedelta(days=2)
    assert stats.reassignments_per_complaint == pytest.approx(0.25)
    assert stats.ping_pong_count == 1
    held = {h.office_code: (h.held.ToTimedelta(), h.complaints) for h in stats.time_held}
    assert held["KANTAH.32.04"] == (timedelta(days=1), 1)
    assert held[KANWIL] == (NOW - (EPOCH + timedelta(days=1, hours=1, minutes=1)), 1)

    jakarta = await running.stub.GetStats(query_pb2.GetStatsRequest(office_code="KANWIL.31"))
    assert jakarta.total == 1
    period = await running.stub.GetStats(
        query_pb2.GetStatsRequest(
            period=common_pb2.TimeRange(start=ts(EPOCH), end=ts(EPOCH + timedelta(minutes=30)))
        )
    )
    assert period.total == 1
    assert [(c.key, c.count) for c in period.by_status] == [("RESOLVED", 1)]


async def test_watch_an_office_queue(running: Running) -> None:
    h = running.history
    request = query_pb2.WatchComplaintsRequest(
        filter=query_pb2.ComplaintFilter(office_code=KANWIL, include_descendants=True),
        include_initial=True,
    )
    call = running.stub.WatchComplaints(request)
    initial = [await call.read() for _ in range(3)]
    assert sorted(c.complaint.ticket_number for c in initial) == ["ADU-A", "ADU-B", "ADU-D"]
    assert all(c.event_type == "" for c in initial)

    later = History()
    later.logs = {s: list(log) for s, log in h.logs.items()}
    t = NOW
    elsewhere, _ = file_complaint(later, t, "31.71", ticket="ADU-E")
    later.add(
        t + timedelta(seconds=5), elsewhere, events_pb2.CaseRouted(to_office=office("KANTAH.31.71"))
    )
    here, _ = file_complaint(later, t + timedelta(seconds=10), "32.73", ticket="ADU-F")
    later.add(t + timedelta(seconds=15), here, events_pb2.CaseRouted(to_office=office(KANTAH)))
    later.add(
        t + timedelta(seconds=20),
        running.ids["b"],
        events_pb2.CaseReassigned(
            kind=common_pb2.REASSIGNMENT_KIND_TRANSFER,
            from_office=office(KANWIL),
            to_office=office("KANWIL.31"),
        ),
    )
    later.seal()
    fresh = [e for s in WRITE_SERVICES for e in later.logs[s][len(h.logs[s]) :]]
    fresh.sort(key=lambda e: e.occurred_at.ToDatetime())
    for envelope in fresh:
        await asyncio.to_thread(running.projector.process, envelope)

    changes: list[query_pb2.ComplaintChange] = []
    while not changes or changes[-1].event_type != "CaseReassigned":
        changes.append(await asyncio.wait_for(call.read(), timeout=10))
    call.cancel()
    # F enters the queue when routed to a Kantah below the Kanwil; B leaves it (the change is
    # sent so that the watcher can drop it); E, routed in Jakarta, never shows. The watcher reads
    # a complaint's view after its change is projected, so when the projector has already moved
    # on, F may also show once for its CaseOpened, with the routed view.
    tickets = [c.complaint.ticket_number for c in changes]
    assert "ADU-E" not in tickets
    assert tickets[-1] == "ADU-B"
    # The auditor still sees B where it went: its view as it now stands, marked removed.
    assert changes[-1].removed
    assert changes[-1].complaint.holding_office.code == "KANWIL.31"
    assert set(tickets[:-1]) == {"ADU-F"}
    assert all(c.complaint.holding_office.code == KANTAH for c in changes[:-1])
    assert not any(c.removed for c in changes[:-1])


async def read_until_removed(call: Any, wanted: str) -> list[query_pb2.ComplaintChange]:
    changes: list[query_pb2.ComplaintChange] = []
    while not (changes and changes[-1].removed and changes[-1].complaint.complaint_id == wanted):
        changes.append(await asyncio.wait_for(call.read(), timeout=10))
    return changes


@pytest.mark.parametrize(
    ("role", "watcher_office", "to_office", "hidden_as"),
    [
        # An overseer loses a complaint the Inspectorate now holds: sealed, it does not exist.
        ("supervisor", "PUSAT.HAK_TANAH", "PUSAT.ITJEN", grpc.StatusCode.NOT_FOUND),
        # The Kanwil's officer loses a complaint transferred to another Kanwil.
        ("officer", KANWIL, "KANWIL.31", grpc.StatusCode.PERMISSION_DENIED),
    ],
)
async def test_a_complaint_leaving_the_callers_view_shows_only_its_id(
    running: Running,
    role: str,
    watcher_office: str,
    to_office: str,
    hidden_as: grpc.StatusCode,
) -> None:
    """The change that takes a complaint out of what the watcher may see tells them that it
    left, not where it went, what it says or which event moved it."""
    b = running.ids["b"]
    stub = running.stub_for(role, watcher_office)
    call = stub.WatchComplaints(query_pb2.WatchComplaintsRequest(include_initial=True))
    # The Kanwil sees A, B and D (Bandung, Kab. Bandung); the overseer every office's four.
    initial = [await call.read() for _ in range(3 if role == "officer" else 4)]
    assert b in {c.complaint.complaint_id for c in initial}
    assert not any(c.removed for c in initial)

    h = running.history
    later = History()
    later.logs = {s: list(log) for s, log in h.logs.items()}
    later.add(
        NOW,
        b,
        events_pb2.CaseReassigned(
            kind=common_pb2.REASSIGNMENT_KIND_TRANSFER,
            from_office=office(KANWIL),
            to_office=office(to_office),
            note="Pungutan liar oleh petugas ukur",
        ),
    )
    later.seal()
    for service in WRITE_SERVICES:
        for envelope in later.logs[service][len(h.logs[service]) :]:
            await asyncio.to_thread(running.projector.process, envelope)

    changes = await read_until_removed(call, b)
    call.cancel()
    assert changes[-1] == query_pb2.ComplaintChange(
        complaint=query_pb2.ComplaintView(complaint_id=b), removed=True
    )
    # What the watcher no longer sees, GetComplaint does not show them either.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetComplaint(query_pb2.GetComplaintRequest(complaint_id=b))
    assert refused.value.code() == hidden_as


async def test_read_your_writes_waits_for_positions_and_times_out(running: Running) -> None:
    h = running.history
    later = History()
    later.logs = {s: list(log) for s, log in h.logs.items()}
    complaint_id, _ = file_complaint(later, NOW, "32.73", ticket="ADU-G")
    later.seal()
    filed = later.logs["intake"][-1]
    position = common_pb2.EventPosition(service="intake", position=filed.position)
    request = query_pb2.GetComplaintRequest(
        complaint_id="ADU-G", consistency=query_pb2.Consistency(min_positions=[position])
    )
    pending = asyncio.ensure_future(running.stub.GetComplaint(request))
    await asyncio.sleep(0.2)  # the query is waiting; now the event arrives
    assert not pending.done()
    await asyncio.to_thread(running.projector.process, filed)
    assert (await asyncio.wait_for(pending, timeout=10)).complaint.complaint_id == complaint_id

    ahead = common_pb2.EventPosition(service="routing", position=10_000)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await running.stub.GetComplaint(
            query_pb2.GetComplaintRequest(
                complaint_id="ADU-G",
                consistency=query_pb2.Consistency(
                    min_positions=[ahead], timeout=Duration(nanos=200_000_000)
                ),
            )
        )
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_rebuild_projections_rpc(running: Running) -> None:
    before = await running.stub.ListComplaints(query_pb2.ListComplaintsRequest())
    response = await running.stub.RebuildProjections(query_pb2.RebuildProjectionsRequest())
    assert response.events_processed == sum(len(log) for log in running.history.logs.values())
    assert response.events_per_second > 0
    assert {p.service: p.position for p in response.positions} == {
        s: len(log) for s, log in running.history.logs.items() if log
    }
    after = await running.stub.ListComplaints(query_pb2.ListComplaintsRequest())
    assert after == before
