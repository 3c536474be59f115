"""Finding complaints (`lookups.py`) and routing's view of the case (`caseview.py`), through the
in-memory application that holds them."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from aduan.core.context import CommandContext
from aduan.core.errors import NotFoundError, ValidationError
from aduan_intake.application import IntakeApplication
from aduan_intake.caseview import CaseView
from aduan_intake.domain import CaseStatus, ConversationReply, Reply
from aduan_intake.filing import FilingRequest
from aduan_intake.sidetables import MemorySideTables

PHONE = "+6281298765432"  # the conftest filing's reporter, normalised


def test_a_complaint_is_found_by_id_or_ticket_number_in_any_case(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    filed = app.file_complaint(filing(), ctx)

    for ref in (str(filed.complaint_id), filed.ticket_number.lower(), f" {filed.ticket_number} "):
        assert app.lookups.resolve(ref) == filed.complaint_id
        assert app.lookups.get_complaint(ref).id == filed.complaint_id


@pytest.mark.parametrize("ref", [str(uuid.uuid4()), "ADU-2026-ZZZZZZ"])
def test_an_unknown_reference_is_not_found(app: IntakeApplication, ref: str) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        app.lookups.resolve(ref)


def test_an_empty_reference_is_invalid(app: IntakeApplication) -> None:
    with pytest.raises(ValidationError):
        app.lookups.resolve("  ")


def test_a_conversation_is_no_complaint_but_holds_a_contact(
    app: IntakeApplication, ctx: CommandContext
) -> None:
    conversation_id, _ = app.reply_to_sender(
        PHONE, "Siti", Reply(ConversationReply.WELCOME, message_id="wamid.1"), ctx
    )

    assert app.lookups.complaint(conversation_id) is None
    assert app.lookups.conversation(conversation_id) is not None
    assert app.lookups.contact_holder(str(conversation_id)).id == conversation_id
    with pytest.raises(NotFoundError):
        app.lookups.get_complaint(str(conversation_id))
    with pytest.raises(NotFoundError):
        app.lookups.contact_holder("ADU-2026-ZZZZZZ")


def test_a_phones_open_complaints_are_newest_first_without_withdrawn_or_closed_ones(
    app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    older, withdrawn, closed, newest = (
        app.file_complaint(filing(idempotency_key=f"k-{n}"), ctx) for n in range(4)
    )
    app.withdraw_complaint(str(withdrawn.complaint_id), "selesai sendiri", ctx)
    app.note_case_status("routing", 1, str(closed.complaint_id), CaseStatus.CLOSED)

    found = [c.id for c in app.lookups.open_complaints_for_phone(PHONE)]

    assert found == [newest.complaint_id, older.complaint_id]
    assert app.lookups.open_complaints_for_phone("+6281200000000") == []


def test_the_case_view_keeps_routings_latest_status_and_office() -> None:
    view = CaseView(MemorySideTables())
    complaint_id = uuid.uuid4()
    assert view.status(complaint_id) == CaseStatus.ACTIVE
    assert view.holding_office(complaint_id) == ""

    view.note(str(complaint_id), CaseStatus.RESOLVED, "KANTAH.32.73", 5)
    view.note(str(complaint_id), CaseStatus.ACTIVE, "KANWIL.32", 4)  # older: ignored
    view.note(str(complaint_id), None, "", 6)  # decides neither

    assert view.status(complaint_id) == CaseStatus.RESOLVED
    assert view.holding_office(complaint_id) == "KANTAH.32.73"


def test_the_case_view_ignores_an_event_about_no_complaint() -> None:
    tables = MemorySideTables()
    CaseView(tables).note("", CaseStatus.CLOSED, "KANTAH.32.73", 1)

    assert tables.case_status("") is None
    assert tables.case_office("") == ""
