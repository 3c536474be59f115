"""The complaint fold's typed state and the handler tables of the fold and the audit trail.

The expected rows and audit details below were recorded from the fold as it was before it had a
typed state and handler tables (the if/elif chains over a dict): they pin today's behaviour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aduan.reference.locations import Location
from aduan.v1 import common_pb2, events_pb2
from aduan_devtools.testing.query import (
    EPOCH,
    History,
    file_complaint,
    lifecycle,
    office,
    officer,
    ts,
)
from aduan_query.audit import AUDITS, audit_details, audit_row
from aduan_query.history import (
    FOLDS,
    STATE_COLUMNS,
    ComplaintState,
    apply,
    changes_view,
)
from aduan_query.readmodels import LIVE

EVERY_KIND = frozenset(
    field.name for field in events_pb2.Envelope.DESCRIPTOR.oneofs_by_name["payload"].fields
)
# The kinds that leave the complaint view as it is: they show in the audit trail only.
AUDIT_ONLY = frozenset(
    {
        "status_requested",
        "contact_revealed",
        "text_revealed",
        "complaint_located",
        "complaint_classified",
        "details_requested",
        "conversation_reply_requested",
        "delivery_scheduled",
        "delivery_attempted",
        "delivery_sent",
        "delivery_failed",
        "delivery_gave_up",
        "delivery_skipped",
        "delivery_status_reported",
        "checkpoint_sealed",
    }
)


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fold(envelopes: list[events_pb2.Envelope], complaint_id: str) -> ComplaintState:
    state = ComplaintState(complaint_id)
    for envelope in envelopes:
        if envelope.complaint_id == complaint_id:
            apply(state, envelope)
    return state


def test_every_event_kind_has_an_audit_handler_and_the_view_kinds_a_fold() -> None:
    assert set(AUDITS) == EVERY_KIND
    assert set(FOLDS) == EVERY_KIND - AUDIT_ONLY


@pytest.mark.parametrize("kind", sorted(EVERY_KIND))
def test_each_kind_is_folded_by_its_own_handler_or_not_at_all(kind: str) -> None:
    envelope = events_pb2.Envelope(
        event_id="routing:7", event_type="Whatever", complaint_id="c", service="routing"
    )
    envelope.occurred_at.CopyFrom(ts(EPOCH))
    getattr(envelope, kind).SetInParent()
    state = ComplaintState("c")
    assert apply(state, envelope) is (kind in FOLDS)
    assert changes_view(envelope) is (kind in FOLDS)
    if kind in FOLDS:
        assert (state.last_event_id, state.last_occurred_at, state.updated_at) == (
            "routing:7",
            EPOCH,
            EPOCH,
        )
    else:
        assert state == ComplaintState("c")


def test_an_event_of_a_kind_this_version_does_not_know_is_audited_by_its_type_only() -> None:
    envelope = events_pb2.Envelope(
        event_id="notification:9",
        event_type="DeliveryTeleported",
        complaint_id="c",
        service="notification",
        position=9,
    )
    state = ComplaintState("c")
    assert apply(state, envelope) is False
    assert state == ComplaintState("c")
    assert audit_details(envelope) == {
        "from_office": "",
        "to_office": "",
        "reason_code": "",
        "note": "",
        "rule_id": "",
        "ruleset_version": "",
        "summary": "DeliveryTeleported",
    }


def test_a_conversations_events_are_no_complaints() -> None:
    envelope = events_pb2.Envelope(
        event_type="ReporterErased",
        complaint_id="conv",
        service="intake",
        stored_topic="aduan_intake.domain:Conversation.Erased",
        reporter_erased=events_pb2.ReporterErased(reporter_id="r"),
    )
    state = ComplaintState("conv")
    assert not changes_view(envelope)
    assert apply(state, envelope) is False
    assert state == ComplaintState("conv")


def test_the_row_has_the_columns_of_the_complaint_tables_in_order() -> None:
    assert list(ComplaintState("c").to_row()) == list(STATE_COLUMNS)
    assert [c.name for c in LIVE.complaints.columns] == list(STATE_COLUMNS)
    versions = [c.name for c in LIVE.versions.columns]
    assert [name for name in versions if name not in {"valid_from", "valid_to"}] == list(
        STATE_COLUMNS
    )


def test_a_row_read_back_is_the_state_it_was_written_from() -> None:
    history, complaint_id = lifecycle()
    state = fold(history.in_history_order(), complaint_id)
    row = state.to_row()
    assert ComplaintState.from_row(row) == state
    # SQLite hands instants back naive; the state holds them in UTC. Other columns are ignored.
    naive = {
        **row,
        "filed_at": row["filed_at"].replace(tzinfo=None),
        "valid_from": row["filed_at"],
    }
    assert ComplaintState.from_row(naive) == state
    # Breaches are kept as stored, not re-sorted.
    assert ComplaintState.from_row({**row, "breached": "B,A"}).to_row()["breached"] == "B,A"


def test_a_copy_is_independent_of_its_original() -> None:
    state = ComplaintState("c", breached=("ACCEPT",), location=Location("32", "32.73"))
    copied = state.copy()
    copied.breached = ("ACCEPT", "RESOLUTION")
    copied.reassignment_count = 3
    assert state == ComplaintState("c", breached=("ACCEPT",), location=Location("32", "32.73"))
    assert copied != state


def test_the_row_of_a_whole_lifecycle_is_as_recorded() -> None:
    history, complaint_id = lifecycle()
    row = fold(history.in_history_order(), complaint_id).to_row()
    assert row == {
        "complaint_id": complaint_id,
        "ticket_number": "ADU-LIFE-0001",
        "status": "CLOSED",
        "routing_status": "CLOSED",
        "withdrawn": False,
        "filed": True,
        "classified": False,
        "category": "LAND_SERVICE",
        "scope": "UNSPECIFIED",
        "channel": "WHATSAPP",
        "province_code": "32",
        "regency_code": "32.73",
        "address": "Jl. Merdeka 1",
        # The reporter was erased: their words went with them (aduan_query.erasure).
        "subject": "",
        "description": "",
        "holding_office": "KANWIL.32",
        "office_chain": "|KANWIL.32|PUSAT.IP3|",
        "accept_due": utc(2026, 3, 6, 1, 1),
        "response_due": utc(2026, 3, 8, 1, 1),
        "resolution_due": utc(2026, 5, 1, 1, 0),
        "breached": "FIRST_RESPONSE",
        "masked_contact": "[erased]",
        "anonymous": False,
        "confidential": False,
        "reporter_erased": True,
        "reassignment_count": 1,
        "ping_pong_flagged": False,
        "rating": 4,
        "filed_at": utc(2026, 3, 2, 1, 0),
        "assigned_at": utc(2026, 3, 2, 3, 1),
        "accepted_at": utc(2026, 3, 2, 4, 1),
        "first_response_at": utc(2026, 3, 2, 5, 1),
        "resolved_at": utc(2026, 3, 12, 1, 1),
        "closed_at": utc(2026, 3, 22, 1, 1),
        "updated_at": utc(2026, 4, 1, 1, 1),
        "last_occurred_at": utc(2026, 4, 1, 1, 1),
        "last_service": "intake",
        "last_position": 3,
        "last_event_id": "intake:3",
    }


# -- a history of the fold's corner cases -----------------------------------------------------

CORNERS = "aaaaaaaa-0000-4000-8000-000000000001"
ERASED_FIRST = "bbbbbbbb-0000-4000-8000-000000000002"


def corner_cases() -> History:
    """Routing ahead of intake; classification before the filing and a classification that
    changes nothing; SLA breaches at one instant, escalating to the holder itself and to another
    office; acceptance by another office and by none; closing, reopening, withdrawal; every
    audit-only intake event and every delivery event; an erasure before the filing; a
    checkpoint."""
    history = History()
    t = EPOCH
    where = common_pb2.Location(province_code="32", regency_code="32.73", address="Jl. A")
    add = history.add
    add(
        t,
        CORNERS,
        events_pb2.CaseOpened(
            category=common_pb2.CATEGORY_LAND_DISPUTE,
            location=where,
            confidential=True,
            resolution_due=ts(t + timedelta(days=60)),
        ),
    )
    add(
        t + timedelta(seconds=1),
        CORNERS,
        events_pb2.CaseClassified(
            location=common_pb2.Location(regency_code="33.01"), note="nothing new"
        ),
        officer("PUSAT.IP3", 9),
    )
    add(
        t + timedelta(seconds=2),
        CORNERS,
        events_pb2.CaseClassified(
            category=common_pb2.CATEGORY_SPATIAL_PLANNING,
            location=common_pb2.Location(province_code="33", regency_code="33.01", address="B"),
            scope=common_pb2.SCOPE_REGIONAL,
            note="reclassified",
        ),
        officer("PUSAT.IP3", 9),
    )
    add(
        t + timedelta(seconds=3),
        CORNERS,
        events_pb2.ComplaintFiled(
            ticket_number="ADU-X-1",
            channel=common_pb2.CHANNEL_WHATSAPP,
            reporter_id="rep-x",
            masked_contact="+62811****000",
            category=common_pb2.CATEGORY_LAND_SERVICE,
            location=where,
            subject="x",
            description="y",
        ),
    )
    audit_only: list[object] = [
        events_pb2.ComplaintLocated(
            location=where,
            source=events_pb2.DETAIL_SOURCE_LOCATION_PIN,
            rule_id="pin",
            rules_version="r1",
            evidence="pin at",
        ),
        events_pb2.ComplaintClassified(
            category=common_pb2.CATEGORY_LAND_SERVICE,
            source=events_pb2.DETAIL_SOURCE_TEXT_RULE,
            rule_id="kw",
            rules_version="r1",
            evidence="sertifikat",
        ),
        events_pb2.DetailsRequested(question=events_pb2.DETAIL_QUESTION_REGENCY),
        events_pb2.StatusRequested(channel=common_pb2.CHANNEL_WHATSAPP),
        events_pb2.ContactRevealed(reporter_id="rep-x", purpose="call back"),
        events_pb2.ConversationReplyRequested(reply=events_pb2.CONVERSATION_REPLY_WELCOME),
        events_pb2.ReporterMessageAdded(message_id="m", text="t"),
        events_pb2.TextRevealed(
            reporter_id="rep-x",
            purpose="field visit",
            reveal_purpose=common_pb2.REVEAL_PURPOSE_FIELD_VERIFICATION,
            revealed_fields=["description", "message:m"],
        ),
        events_pb2.ReporterMessageAdded(
            message_id="m2", text="hubungi [nomor telepon]", redaction_rules=["phone-mobile"]
        ),
    ]
    for i, payload in enumerate(audit_only):
        add(t + timedelta(seconds=10 + i), CORNERS, payload)  # type: ignore[arg-type]
    t += timedelta(minutes=1)
    kantah = office("KANTAH.32.73")
    add(t, CORNERS, events_pb2.CaseRouted(to_office=kantah, rule_id="r", ruleset_version="v"))
    add(t, CORNERS, events_pb2.SlaBreached(sla=common_pb2.SLA_KIND_RESOLUTION, office=kantah))
    add(
        t + timedelta(minutes=1),
        CORNERS,
        events_pb2.SlaBreached(sla=common_pb2.SLA_KIND_ACCEPT, office=kantah, escalated_to=kantah),
    )
    add(
        t + timedelta(minutes=2),
        CORNERS,
        events_pb2.SlaBreached(
            sla=common_pb2.SLA_KIND_ACCEPT, office=kantah, escalated_to=office("KANWIL.32")
        ),
    )
    add(t + timedelta(minutes=3), CORNERS, events_pb2.CaseAccepted(office=office("KANWIL.33")))
    add(t + timedelta(minutes=4), CORNERS, events_pb2.CaseAccepted())
    add(
        t + timedelta(minutes=5),
        CORNERS,
        events_pb2.ReporterAnswered(office=office("KANWIL.33"), text="a"),
    )
    add(t + timedelta(minutes=6), CORNERS, events_pb2.CaseClosed(reason="duplicate"))
    add(t + timedelta(minutes=7), CORNERS, events_pb2.CaseReopened(reason="again"))
    add(t + timedelta(minutes=8), CORNERS, events_pb2.ComplaintWithdrawn(reason="bye"))
    add(t + timedelta(minutes=8), CORNERS, events_pb2.ResolutionRated(rating=2, comment="meh"))
    add(
        t + timedelta(minutes=9),
        CORNERS,
        events_pb2.PingPongFlagged(
            reassignment_count=4,
            returned_to=office("KANWIL.33"),
            supervising_office=office("PUSAT.IP3"),
        ),
    )
    d = t + timedelta(minutes=20)
    deliveries: list[object] = [
        events_pb2.DeliveryScheduled(
            delivery_id="dx",
            recipient_kind=events_pb2.RECIPIENT_KIND_OFFICE,
            recipient="KANWIL.33",
            template="office_assigned",
        ),
        events_pb2.DeliveryAttempted(delivery_id="dx", attempt=1),
        events_pb2.DeliveryFailed(delivery_id="dx", attempt=1, error="timeout"),
        events_pb2.DeliveryGaveUp(delivery_id="dx", attempts=5, last_error="e"),
        events_pb2.DeliverySkipped(delivery_id="dy", reason="no contact"),
        events_pb2.DeliveryStatusReported(
            delivery_id="dz", status=events_pb2.PROVIDER_STATUS_DELIVERED, error="late"
        ),
        events_pb2.DeliverySent(delivery_id="dz", attempt=1),
    ]
    for i, payload in enumerate(deliveries):
        add(d + timedelta(seconds=i), CORNERS, payload)  # type: ignore[arg-type]
    add(d, ERASED_FIRST, events_pb2.ReporterErased(reporter_id="rep-y", reason="asked"))
    add(
        d + timedelta(seconds=1),
        ERASED_FIRST,
        events_pb2.CaseOpened(
            ticket_number="ADU-Y",
            category=common_pb2.CATEGORY_OTHER,
            location=where,
            filed_at=ts(d - timedelta(days=1)),
            confidential=True,
        ),
    )
    file_complaint(history, d + timedelta(seconds=2), "32.73", complaint_id=ERASED_FIRST)
    add(
        d + timedelta(seconds=3), ERASED_FIRST, events_pb2.CaseRouted(to_office=office("PUSAT.IP3"))
    )
    add(d + timedelta(seconds=4), ERASED_FIRST, events_pb2.CaseReopened(reason="x"))
    add(
        d + timedelta(seconds=5),
        ERASED_FIRST,
        events_pb2.CaseReassigned(
            kind=common_pb2.REASSIGNMENT_KIND_TRANSFER,
            from_office=office("PUSAT.IP3"),
            to_office=office("PUSAT.ITJEN"),
            reason_code=common_pb2.REASON_CODE_WRONG_JURISDICTION,
            rule_id="levy",
            ruleset_version="2026.1",
        ),
    )
    add(
        d + timedelta(seconds=6),
        ERASED_FIRST,
        events_pb2.CaseResolved(office=office("PUSAT.ITJEN"), summary="done"),
    )
    add(
        d + timedelta(seconds=7),
        ERASED_FIRST,
        events_pb2.CaseReopened(reason="not done", by_reporter=True),
    )
    add(d + timedelta(seconds=8), ERASED_FIRST, events_pb2.CaseClosed(automatic=True))
    add(
        d + timedelta(seconds=9),
        "",
        events_pb2.CheckpointSealed(
            from_position=1, to_position=40, event_count=40, key_id="routing-2026"
        ),
    )
    history.seal()
    return history


def test_the_rows_of_the_corner_cases_are_as_recorded() -> None:
    envelopes = corner_cases().in_history_order()
    assert fold(envelopes, CORNERS).to_row() == {
        "complaint_id": CORNERS,
        "ticket_number": "ADU-X-1",
        "status": "WITHDRAWN",
        "routing_status": "IN_PROGRESS",
        "withdrawn": True,
        "filed": True,
        "classified": True,
        "category": "SPATIAL_PLANNING",
        "scope": "REGIONAL",
        "channel": "WHATSAPP",
        "province_code": "33",
        "regency_code": "33.01",
        "address": "B",
        "subject": "x",
        "description": "y",
        "holding_office": "KANWIL.33",
        "office_chain": "|KANWIL.33|PUSAT.IP3|",
        "accept_due": None,
        "response_due": None,
        "resolution_due": utc(2026, 5, 1, 1, 0),
        "breached": "ACCEPT,RESOLUTION",
        "masked_contact": "+62811****000",
        "anonymous": False,
        "confidential": True,
        "reporter_erased": False,
        "reassignment_count": 0,
        "ping_pong_flagged": True,
        "rating": 2,
        "filed_at": utc(2026, 3, 2, 1, 0, 3),
        "assigned_at": utc(2026, 3, 2, 1, 3),
        "accepted_at": utc(2026, 3, 2, 1, 5),
        "first_response_at": utc(2026, 3, 2, 1, 6),
        "resolved_at": None,
        "closed_at": None,
        "updated_at": utc(2026, 3, 2, 1, 10),
        "last_occurred_at": utc(2026, 3, 2, 1, 10),
        "last_service": "routing",
        "last_position": 13,
        "last_event_id": "routing:13",
    }
    assert fold(envelopes, ERASED_FIRST).to_row() == {
        "complaint_id": ERASED_FIRST,
        "ticket_number": "ADU-BBBBBBBB",
        "status": "CLOSED",
        "routing_status": "CLOSED",
        "withdrawn": False,
        "filed": True,
        "classified": False,
        "category": "LAND_SERVICE",
        "scope": "UNSPECIFIED",
        "channel": "WHATSAPP",
        "province_code": "32",
        "regency_code": "32.73",
        "address": "Jl. Merdeka 1",
        # Erased before the filing arrived: the filing brings no words (aduan_query.erasure).
        "subject": "",
        "description": "",
        "holding_office": "PUSAT.ITJEN",
        "office_chain": "|PUSAT.ITJEN|PUSAT.IP3|",
        "accept_due": None,
        "response_due": None,
        "resolution_due": utc(2026, 5, 1, 1, 21, 2),
        "breached": "",
        "masked_contact": "[erased]",
        "anonymous": False,
        "confidential": True,
        "reporter_erased": True,
        "reassignment_count": 1,
        "ping_pong_flagged": False,
        "rating": 0,
        "filed_at": utc(2026, 3, 2, 1, 21, 2),
        "assigned_at": utc(2026, 3, 2, 1, 21, 5),
        "accepted_at": None,
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": utc(2026, 3, 2, 1, 21, 8),
        "updated_at": utc(2026, 3, 2, 1, 21, 8),
        "last_occurred_at": utc(2026, 3, 2, 1, 21, 8),
        "last_service": "routing",
        "last_position": 21,
        "last_event_id": "routing:21",
    }


def _reveal(**fields: Any) -> events_pb2.Envelope:
    return events_pb2.Envelope(
        event_id="intake:5",
        event_type="ContactRevealed",
        complaint_id="c",
        service="intake",
        position=5,
        contact_revealed=events_pb2.ContactRevealed(reporter_id="r", **fields),
    )


def test_the_audit_trail_shows_a_reveal_s_purpose_and_fields() -> None:
    contact = _reveal(
        purpose="call back",
        reveal_purpose=common_pb2.REVEAL_PURPOSE_CONTACT_REPORTER,
        revealed_fields=["name", "phone", "email", "language"],
    )
    legal = _reveal(
        purpose="summons 12/2026",
        reveal_purpose=common_pb2.REVEAL_PURPOSE_LEGAL_PROCESS,
        revealed_fields=["name", "phone", "email", "nik", "language"],
    )
    newer = _reveal(purpose="x", reveal_purpose=42, revealed_fields=["name"])  # a later purpose

    assert audit_details(contact)["summary"] == (
        "Contact revealed for call back (contact reporter: name, phone, email, language)"
    )
    assert audit_details(contact)["note"] == "call back"
    assert audit_details(legal)["summary"] == (
        "Contact revealed for summons 12/2026 (legal process: name, phone, email, nik, language)"
    )
    assert audit_details(newer)["summary"] == "Contact revealed for x (42: name)"


def test_a_reveal_recorded_before_purposes_reads_as_it_always_did() -> None:
    assert (
        audit_details(_reveal(purpose="call back"))["summary"] == "Contact revealed for call back"
    )


def test_the_audit_details_of_every_kind_are_as_recorded() -> None:
    envelopes = corner_cases().in_history_order() + lifecycle()[0].in_history_order()
    assert {e.WhichOneof("payload") for e in envelopes} == EVERY_KIND
    recorded = [(e.event_type, {k: v for k, v in audit_details(e).items() if v}) for e in envelopes]
    assert recorded == RECORDED_AUDIT
    for envelope in envelopes:
        row = audit_row(envelope)
        assert {k: row[k] for k in audit_details(envelope)} == audit_details(envelope)


RECORDED_AUDIT: list[tuple[str, dict[str, str]]] = [
    ("CaseOpened", {"summary": "Case opened"}),
    ("CaseClassified", {"note": "nothing new", "summary": "Classified as UNSPECIFIED"}),
    ("CaseClassified", {"note": "reclassified", "summary": "Classified as SPATIAL_PLANNING"}),
    ("ComplaintFiled", {"summary": "Filed ADU-X-1 via WHATSAPP"}),
    (
        "ComplaintLocated",
        {
            "note": "pin at",
            "rule_id": "pin",
            "ruleset_version": "r1",
            "summary": "Located in 32.73 (location_pin)",
        },
    ),
    (
        "ComplaintClassified",
        {
            "note": "sertifikat",
            "rule_id": "kw",
            "ruleset_version": "r1",
            "summary": "Classified as LAND_SERVICE (text_rule)",
        },
    ),
    ("DetailsRequested", {"summary": "Reporter asked for the regency"}),
    ("StatusRequested", {"summary": "Reporter asked for the status"}),
    ("ContactRevealed", {"note": "call back", "summary": "Contact revealed for call back"}),
    ("ConversationReplyRequested", {"summary": "WhatsApp sender answered: welcome"}),
    ("ReporterMessageAdded", {"note": "t", "summary": "Reporter added a message"}),
    (
        "TextRevealed",
        {
            "note": "field visit",
            "summary": "Text revealed for field visit (field verification: description, message:m)",
        },
    ),
    (
        "ReporterMessageAdded",
        {
            "note": "hubungi [nomor telepon]",
            "summary": "Reporter added a message (masked: phone-mobile)",
        },
    ),
    (
        "CaseRouted",
        {
            "to_office": "KANTAH.32.73",
            "rule_id": "r",
            "ruleset_version": "v",
            "summary": "Routed to KANTAH.32.73 by rule r",
        },
    ),
    (
        "SlaBreached",
        {
            "from_office": "KANTAH.32.73",
            "reason_code": "SLA_BREACH",
            "summary": "RESOLUTION deadline missed by KANTAH.32.73",
        },
    ),
    (
        "SlaBreached",
        {
            "from_office": "KANTAH.32.73",
            "to_office": "KANTAH.32.73",
            "reason_code": "SLA_BREACH",
            "summary": "ACCEPT deadline missed by KANTAH.32.73, escalated to KANTAH.32.73",
        },
    ),
    (
        "SlaBreached",
        {
            "from_office": "KANTAH.32.73",
            "to_office": "KANWIL.32",
            "reason_code": "SLA_BREACH",
            "summary": "ACCEPT deadline missed by KANTAH.32.73, escalated to KANWIL.32",
        },
    ),
    ("CaseAccepted", {"to_office": "KANWIL.33", "summary": "Accepted by KANWIL.33"}),
    ("CaseAccepted", {"summary": "Accepted by "}),
    (
        "ReporterAnswered",
        {"from_office": "KANWIL.33", "note": "a", "summary": "KANWIL.33 answered the reporter"},
    ),
    ("CaseClosed", {"note": "duplicate", "summary": "Closed"}),
    ("CaseReopened", {"note": "again", "summary": "Reopened"}),
    ("ComplaintWithdrawn", {"note": "bye", "summary": "Withdrawn by the reporter"}),
    ("ResolutionRated", {"note": "meh", "summary": "Resolution rated 2/5"}),
    (
        "PingPongFlagged",
        {
            "from_office": "KANWIL.33",
            "to_office": "PUSAT.IP3",
            "summary": "Ping-pong flagged after 4 reassignments; supervisor PUSAT.IP3",
        },
    ),
    ("ReporterErased", {"note": "asked", "summary": "Reporter's personal data erased"}),
    (
        "DeliveryScheduled",
        {"to_office": "KANWIL.33", "summary": "Message office_assigned scheduled for office"},
    ),
    ("DeliveryAttempted", {"summary": "DeliveryAttempted dx"}),
    ("CaseOpened", {"summary": "Case opened"}),
    ("ComplaintFiled", {"summary": "Filed ADU-BBBBBBBB via WHATSAPP"}),
    ("DeliveryFailed", {"note": "timeout", "summary": "Delivery dx attempt 1 failed"}),
    ("DeliveryGaveUp", {"note": "e", "summary": "Delivery dx gave up after 5 attempts"}),
    ("CaseRouted", {"to_office": "PUSAT.IP3", "summary": "Routed to PUSAT.IP3 by rule "}),
    ("DeliverySkipped", {"note": "no contact", "summary": "Delivery dy skipped (no contact)"}),
    ("CaseOpened", {"summary": "Case opened"}),
    ("CaseReopened", {"note": "x", "summary": "Reopened"}),
    (
        "DeliveryStatusReported",
        {"note": "late", "summary": "Delivery dz reported delivered by the provider"},
    ),
    (
        "CaseReassigned",
        {
            "from_office": "PUSAT.IP3",
            "to_office": "PUSAT.ITJEN",
            "reason_code": "WRONG_JURISDICTION",
            "rule_id": "levy",
            "ruleset_version": "2026.1",
            "summary": "Transfer PUSAT.IP3 -> PUSAT.ITJEN (WRONG_JURISDICTION)",
        },
    ),
    ("DeliverySent", {"summary": "DeliverySent dz"}),
    (
        "CaseResolved",
        {"from_office": "PUSAT.ITJEN", "note": "done", "summary": "Resolved by PUSAT.ITJEN"},
    ),
    ("CaseReopened", {"note": "not done", "summary": "Reopened by the reporter"}),
    ("CaseClosed", {"summary": "Closed automatically"}),
    ("CheckpointSealed", {"summary": "Log sealed: positions 1..40 (40 events), key routing-2026"}),
    ("ComplaintFiled", {"summary": "Filed ADU-LIFE-0001 via WHATSAPP"}),
    ("CaseOpened", {"summary": "Case opened"}),
    (
        "CaseRouted",
        {
            "to_office": "KANTAH.32.73",
            "rule_id": "land-service",
            "summary": "Routed to KANTAH.32.73 by rule land-service",
        },
    ),
    (
        "CaseReassigned",
        {
            "from_office": "KANTAH.32.73",
            "to_office": "KANWIL.32",
            "reason_code": "WIDE_IMPACT",
            "note": "affects three villages",
            "summary": "Escalate KANTAH.32.73 -> KANWIL.32 (WIDE_IMPACT)",
        },
    ),
    ("CaseAccepted", {"to_office": "KANWIL.32", "summary": "Accepted by KANWIL.32"}),
    (
        "ReporterAnswered",
        {
            "from_office": "KANWIL.32",
            "note": "Kami proses",
            "summary": "KANWIL.32 answered the reporter (first response)",
        },
    ),
    (
        "ReporterAnswered",
        {
            "from_office": "KANWIL.32",
            "note": "Masih diproses",
            "summary": "KANWIL.32 answered the reporter",
        },
    ),
    (
        "SlaBreached",
        {
            "from_office": "KANWIL.32",
            "reason_code": "SLA_BREACH",
            "summary": "FIRST_RESPONSE deadline missed by KANWIL.32",
        },
    ),
    (
        "CaseResolved",
        {"from_office": "KANWIL.32", "note": "selesai", "summary": "Resolved by KANWIL.32"},
    ),
    ("CaseReopened", {"note": "belum", "summary": "Reopened by the reporter"}),
    (
        "CaseResolved",
        {
            "from_office": "KANWIL.32",
            "note": "selesai sekarang",
            "summary": "Resolved by KANWIL.32",
        },
    ),
    ("ResolutionRated", {"summary": "Resolution rated 4/5"}),
    ("CaseClosed", {"summary": "Closed automatically"}),
    ("ReporterErased", {"summary": "Reporter's personal data erased"}),
]
