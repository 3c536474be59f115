"""reactions.py: what a batch of upstream events writes besides deliveries (complaint records,
ticket claims), kept as one event at a time would write it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from aduan_notification.reactions import BatchRecords, claimed_ticket
from aduan_notification.rules import ComplaintContact, Plan, UpstreamEvent

RECORD = ComplaintContact(
    complaint_id="c-1",
    ticket_number="ADU-2026-AAAAAA",
    reporter_id="rep-1",
    anonymous=False,
    reporter_channel="WHATSAPP",
    language="id",
    masked_contact="+62812****0001",
)
HELD = replace(RECORD, office_code="KANTAH.32.73", status="IN_PROGRESS")


def event(kind: str, complaint_id: str = "c-1") -> UpstreamEvent:
    return UpstreamEvent(
        service="intake",
        position=1,
        event_id="intake:1",
        event_type=kind,
        complaint_id=complaint_id,
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
        facts=None,
        meta={},
    )


def test_the_changed_contact_is_the_plans_record_only_when_the_event_changed_it() -> None:
    assert Plan(RECORD, True, []).changed_contact == RECORD
    assert Plan(RECORD, False, []).changed_contact is None
    assert Plan(None, True, []).changed_contact is None


def test_only_a_filing_that_wrote_the_record_claims_its_ticket() -> None:
    assert claimed_ticket(event("ComplaintFiled"), Plan(RECORD, True, [])) == RECORD.ticket_number
    assert claimed_ticket(event("ComplaintFiled"), Plan(RECORD, False, [])) is None
    assert claimed_ticket(event("CaseRouted"), Plan(RECORD, True, [])) is None


def test_a_batch_writes_the_records_it_changed_with_their_next_versions() -> None:
    other = replace(RECORD, complaint_id="c-2", ticket_number="ADU-2026-BBBBBB")
    unchanged = replace(RECORD, complaint_id="c-3", ticket_number="ADU-2026-CCCCCC")
    records = BatchRecords({"c-1": (RECORD, 4), "c-2": None, "c-3": (unchanged, 2)})

    assert records.current("c-1") == RECORD
    records.apply(event("CaseRouted"), Plan(HELD, True, []))
    assert records.current("c-1") == HELD
    assert records.current("c-2") is None
    records.apply(event("ComplaintFiled", "c-2"), Plan(other, True, []))
    assert records.current("c-3") == unchanged
    records.apply(event("CaseRouted", "c-3"), Plan(unchanged, False, []))

    assert records.changed() == [(HELD, 5), (other, 1)]
    assert records.tickets == {other.ticket_number: "c-2"}


def test_a_record_the_batch_left_equal_to_the_stored_one_is_not_written() -> None:
    records = BatchRecords({"c-1": (RECORD, 3)})
    records.current("c-1")
    records.apply(event("CaseRouted"), Plan(HELD, True, []))
    records.apply(event("CaseRouted"), Plan(RECORD, True, []))
    assert records.changed() == []


def test_the_first_filing_of_a_ticket_in_a_batch_keeps_it() -> None:
    records = BatchRecords({"c-1": None, "c-2": None})
    records.apply(event("ComplaintFiled", "c-1"), Plan(RECORD, True, []))
    records.apply(
        event("ComplaintFiled", "c-2"), Plan(replace(RECORD, complaint_id="c-2"), True, [])
    )
    assert records.tickets == {RECORD.ticket_number: "c-1"}


def test_records_are_looked_up_as_the_batch_left_them_else_as_stored() -> None:
    records = BatchRecords({"c-1": (RECORD, 1)})
    stored = {"c-1": RECORD, "c-9": replace(RECORD, complaint_id="c-9")}
    # Not touched by the batch yet: as stored, and looking does not touch it.
    assert records.record_of("c-1", stored.get) == RECORD
    assert records.record_of("c-9", stored.get) == stored["c-9"]
    assert records.changed() == []
    records.current("c-1")
    records.apply(event("CaseRouted"), Plan(HELD, True, []))
    assert records.record_of("c-1", stored.get) == HELD
