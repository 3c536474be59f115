"""A WhatsApp complaint waits unplaced while intake learns where and what it is about: placed
once the details are complete, at the triage desk when the reporter does not answer in time,
and re-placed when a late answer changes the rules' choice. One by one and in batches alike."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aduan.v1 import common_pb2, events_pb2
from aduan_routing.application import RoutingApplication
from aduan_routing.consumer import IntakeReactor
from aduan_routing.domain import CaseStatus, ReassignmentKind
from aduan_routing.policy import RoutingPolicy

FILED_AT = dt.datetime(2026, 3, 17, 3, 0, tzinfo=dt.UTC)
DUE = FILED_AT + dt.timedelta(minutes=30)
TEXT = events_pb2.DETAIL_SOURCE_TEXT_RULE
ANSWER = events_pb2.DETAIL_SOURCE_REPORTER_ANSWER


def envelope(position: int, complaint_id: str, **payload: Any) -> events_pb2.Envelope:
    """Intake's event at `position`, following on from the one before."""
    built = events_pb2.Envelope(
        service="intake", position=position, previous_position=position - 1, **payload
    )
    built.event_id, built.complaint_id = f"intake:{position}", complaint_id
    built.occurred_at.FromDatetime(FILED_AT)
    return built


@pytest.fixture(params=["one-by-one", "batch"])
def feed(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Any, policy: RoutingPolicy
) -> Iterator[tuple[RoutingApplication, Any]]:
    app = RoutingApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "r.db")},
        policy=policy,
        clock=clock,
    )
    reactor = IntakeReactor(app)

    def deliver(*envelopes: events_pb2.Envelope) -> None:
        if request.param == "batch":
            reactor.process_batch(list(envelopes))
        else:
            for item in envelopes:
                reactor.process(item)

    yield app, deliver
    app.close()


def pending_filing(position: int, complaint_id: str, ticket: str) -> events_pb2.Envelope:
    filed = events_pb2.ComplaintFiled(
        ticket_number=ticket,
        channel=common_pb2.CHANNEL_WHATSAPP,
        category=common_pb2.CATEGORY_UNCLASSIFIED,
        details_pending=True,
    )
    filed.details_due.FromDatetime(DUE)
    return envelope(position, complaint_id, complaint_filed=filed)


def located(
    position: int, complaint_id: str, regency: str, *, pending: bool, source: int = TEXT
) -> events_pb2.Envelope:
    return envelope(
        position,
        complaint_id,
        complaint_located=events_pb2.ComplaintLocated(
            location=common_pb2.Location(province_code=regency[:2], regency_code=regency),
            source=source,  # type: ignore[arg-type]
            rule_id=f"regency:{regency}",
            details_pending=pending,
        ),
    )


def classified(
    position: int, complaint_id: str, category: int, *, pending: bool, source: int = TEXT
) -> events_pb2.Envelope:
    return envelope(
        position,
        complaint_id,
        complaint_classified=events_pb2.ComplaintClassified(
            category=category,  # type: ignore[arg-type]
            source=source,  # type: ignore[arg-type]
            rule_id="land-service/sertipikat",
            details_pending=pending,
        ),
    )


def asked(position: int, complaint_id: str) -> events_pb2.Envelope:
    return envelope(
        position,
        complaint_id,
        details_requested=events_pb2.DetailsRequested(question=events_pb2.DETAIL_QUESTION_PROVINCE),
    )


def test_text_findings_place_the_case_at_the_kantah_with_no_stop_at_triage(feed: Any) -> None:
    app, deliver = feed
    complaint = str(uuid.uuid4())
    deliver(
        pending_filing(1, complaint, "ADU-2026-DDDDD1"),
        located(2, complaint, "32.73", pending=True),
        classified(3, complaint, common_pb2.CATEGORY_LAND_SERVICE, pending=False),
    )
    case = app.get_case(complaint)
    assert case.status is CaseStatus.ASSIGNED
    assert case.holder == "KANTAH.32.73"
    assert [entry["office"] for entry in case.custody] == ["KANTAH.32.73"]
    kinds = [type(e).__name__ for e in map(app.decode, app.read_notifications(0, 100))]
    assert kinds == ["Opened", "Classified", "Classified", "Routed"]


def test_the_case_waits_unplaced_for_the_reporters_answers(feed: Any) -> None:
    app, deliver = feed
    complaint = str(uuid.uuid4())
    deliver(pending_filing(1, complaint, "ADU-2026-DDDDD2"), asked(2, complaint))
    case = app.get_case(complaint)
    assert case.status is None
    assert case.holder == ""
    assert case.next_deadline() == DUE
    deliver(
        located(3, complaint, "73.71", pending=True, source=ANSWER),
        classified(4, complaint, common_pb2.CATEGORY_LAND_DISPUTE, pending=False, source=ANSWER),
    )
    case = app.get_case(complaint)
    assert case.holder == "KANTAH.73.71"
    assert case.next_deadline() != DUE


def test_no_answer_in_time_sends_it_to_triage_and_a_late_answer_reroutes_it(
    feed: Any, clock: Any
) -> None:
    app, deliver = feed
    complaint = str(uuid.uuid4())
    deliver(pending_filing(1, complaint, "ADU-2026-DDDDD3"), asked(2, complaint))
    clock.set(DUE - dt.timedelta(seconds=1))
    assert app.enforce_deadlines() == 0
    assert app.get_case(complaint).status is None
    clock.set(DUE + dt.timedelta(seconds=1))
    assert app.enforce_deadlines() == 1
    case = app.get_case(complaint)
    assert (case.status, case.holder) == (CaseStatus.ASSIGNED, "PUSAT.IP3")
    assert case.rule_id == "triage"

    deliver(
        located(3, complaint, "32.04", pending=True, source=ANSWER),
        classified(4, complaint, common_pb2.CATEGORY_LAND_SERVICE, pending=False, source=ANSWER),
    )
    case = app.get_case(complaint)
    assert case.holder == "KANTAH.32.04"
    last = app.decode(app.read_notifications(0, 100)[-1])
    assert type(last).__name__ == "Reassigned"
    assert last.kind == ReassignmentKind.REROUTE


def test_what_intake_already_knew_changes_nothing_on_a_placed_case(feed: Any) -> None:
    app, deliver = feed
    complaint = str(uuid.uuid4())
    deliver(
        pending_filing(1, complaint, "ADU-2026-DDDDD4"),
        located(2, complaint, "32.73", pending=True),
        classified(3, complaint, common_pb2.CATEGORY_LAND_SERVICE, pending=False),
    )
    before = app.get_case(complaint).version
    deliver(located(4, complaint, "32.73", pending=False, source=ANSWER))
    assert app.get_case(complaint).version == before
    assert app.tracked_position("intake") == 4
