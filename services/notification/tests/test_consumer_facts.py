"""The consumer adapter reads each envelope into the typed facts the rules use: enumerations by
name without their prefix, timestamps as aware datetimes, offices with code and name, and no
facts for an event notification does not react to."""

from __future__ import annotations

from datetime import UTC, datetime

from aduan.contract.envelopes import timestamp
from aduan.v1 import common_pb2, events_pb2
from aduan_devtools.testing.notification import Upstream, filed, office
from aduan_notification.consumer import upstream_event
from aduan_notification.facts import (
    CaseReassignedFacts,
    ComplaintFiledFacts,
    DetailsRequestedFacts,
    Office,
    SlaBreachedFacts,
)

DUE = datetime(2026, 4, 6, 16, 59, 59, tzinfo=UTC)


def test_a_filing_carries_its_channel_by_name() -> None:
    envelope = Upstream("intake").envelope("c-1", complaint_filed=filed("ADU-2026-AAAAAA"))
    event = upstream_event(envelope)
    assert event.event_type == "ComplaintFiled"
    assert event.facts == ComplaintFiledFacts(
        ticket_number="ADU-2026-AAAAAA",
        channel="WHATSAPP",
        reporter_id="rep-1",
        masked_contact="+62812****0001",
        anonymous=False,
        language="id",
    )


def test_an_escalation_names_both_offices_and_the_acceptance_deadline() -> None:
    envelope = Upstream("routing").envelope(
        "c-1",
        case_reassigned=events_pb2.CaseReassigned(
            kind=common_pb2.REASSIGNMENT_KIND_ESCALATE,
            from_office=office("KANTAH.73.71", "Kantor Pertanahan Kota Makassar"),
            to_office=office("KANWIL.73"),
            accept_due=timestamp(DUE),
        ),
    )
    assert upstream_event(envelope).facts == CaseReassignedFacts(
        to_office=Office("KANWIL.73", "Kantor KANWIL.73"),
        kind="ESCALATE",
        from_office=Office("KANTAH.73.71", "Kantor Pertanahan Kota Makassar"),
        accept_due=DUE,
    )


def test_fields_an_event_leaves_unset_read_as_empty() -> None:
    envelope = Upstream("routing").envelope(
        "c-1",
        sla_breached=events_pb2.SlaBreached(
            sla=common_pb2.SLA_KIND_ACCEPT, office=office("KANTAH.73.71")
        ),
    )
    facts = upstream_event(envelope).facts
    assert facts == SlaBreachedFacts(
        sla="ACCEPT", office=Office("KANTAH.73.71", "Kantor KANTAH.73.71")
    )
    assert isinstance(facts, SlaBreachedFacts)
    assert facts.escalated_to.label == ""
    assert facts.due_at is None


def test_a_question_carries_its_kind_candidates_and_page() -> None:
    envelope = Upstream("intake").envelope(
        "c-1",
        details_requested=events_pb2.DetailsRequested(
            question=events_pb2.DETAIL_QUESTION_REGENCY,
            province_code="32",
            candidates=["32.73", "32.04"],
            page=2,
        ),
    )
    assert upstream_event(envelope).facts == DetailsRequestedFacts(
        question="REGENCY", province_code="32", candidates=("32.73", "32.04"), page=2
    )


def test_an_event_notification_ignores_has_no_facts() -> None:
    envelope = Upstream("intake").envelope(
        "c-1", complaint_located=events_pb2.ComplaintLocated(details_pending=False)
    )
    event = upstream_event(envelope)
    assert event.event_type == "ComplaintLocated"
    assert event.facts is None
