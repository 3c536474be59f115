"""rules.plan for the citizen's loop and the questions: pure, one event at a time; every planned
delivery supplies what its packaged template needs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aduan.reference.areas import area_registry
from aduan_notification.domain import DeliveryChannel, DeliveryStatus, RecipientKind
from aduan_notification.facts import (
    CaseReopenedFacts,
    CaseResolvedFacts,
    CaseRoutedFacts,
    ConversationReplyRequestedFacts,
    DetailsRequestedFacts,
    NotificationFacts,
    Office,
    ReporterMessageAddedFacts,
    ResolutionRatedFacts,
)
from aduan_notification.rules import (
    QUESTION,
    QUESTION_CANDIDATES,
    QUESTION_PAGE,
    QUESTION_PROVINCE,
    QUESTION_TICKET,
    ComplaintContact,
    ComplaintNotKnownYetError,
    Plan,
    UpstreamEvent,
    plan,
    tells_office_undelivered,
    undelivered_notice,
    with_status_overview,
)
from aduan_notification.templates import TemplateCatalog, status_line

CATALOG = TemplateCatalog.load_packaged()
FILED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TICKET = "ADU-2026-AAAAAA"

UNPLACED = ComplaintContact(
    complaint_id="c-1",
    ticket_number=TICKET,
    reporter_id="rep-1",
    anonymous=False,
    reporter_channel="WHATSAPP",
    language="id",
    masked_contact="+62812****0001",
    last_inbound_whatsapp_at=FILED_AT,
)
HELD = replace(
    UNPLACED,
    office_code="KANTAH.32.73",
    office_name="Kantor Pertanahan Kota Bandung",
    status="IN_PROGRESS",
)


def event(
    facts: NotificationFacts | None, *, kind: str = "", minutes: int = 5, service: str = "intake"
) -> UpstreamEvent:
    """An event with these facts (of the kind the facts are named after, unless given)."""
    return UpstreamEvent(
        service=service,
        position=7,
        event_id=f"{service}:7",
        event_type=kind or type(facts).__name__.removesuffix("Facts"),
        complaint_id="c-1",
        occurred_at=FILED_AT + timedelta(minutes=minutes),
        facts=facts,
        meta={},
    )


def planned(outcome: Plan) -> list[tuple[str, RecipientKind, str]]:
    return [(d.template, d.recipient_kind, d.recipient) for d in outcome.deliveries]


def assert_templates_satisfied(outcome: Plan) -> None:
    for delivery in outcome.deliveries:
        template = CATALOG.get(delivery.template)
        assert not template.missing(delivery.variables), delivery.template
        expected = "reporter" if delivery.recipient_kind is RecipientKind.REPORTER else "office"
        assert template.audience == expected


# -- the questions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "template"),
    [("PROVINCE", "ask_location"), ("REGENCY", "ask_regency"), ("CATEGORY", "ask_category")],
)
def test_details_requested_asks_the_reporter_by_whatsapp_list(question: str, template: str) -> None:
    email_reporter = replace(UNPLACED, reporter_channel="EMAIL")
    outcome = plan(
        event(DetailsRequestedFacts(question=question, province_code="32", page=1)),
        email_reporter,
    )
    [ask] = outcome.deliveries
    assert ask.template == template
    assert ask.recipient_kind is RecipientKind.REPORTER
    assert ask.channel is DeliveryChannel.WHATSAPP  # a list exists on WhatsApp only
    assert ask.question[QUESTION] == question
    assert ask.question[QUESTION_TICKET] == TICKET
    assert_templates_satisfied(outcome)


def test_a_question_opens_the_whatsapp_window_and_names_the_province() -> None:
    asked = event(
        DetailsRequestedFacts(
            question="REGENCY", province_code="32", candidates=("32.73", "32.04"), page=2
        ),
        minutes=60 * 30,  # a day and more after the filing: the window had closed
    )
    assert not UNPLACED.within_whatsapp_window(asked.occurred_at)
    outcome = plan(asked, UNPLACED)
    assert outcome.contact_changed
    assert outcome.contact is not None
    assert outcome.contact.last_inbound_whatsapp_at == asked.occurred_at
    assert outcome.contact.within_whatsapp_window(asked.occurred_at + timedelta(hours=1))
    [ask] = outcome.deliveries
    assert ask.variables["province_name"] == area_registry().provinces["32"].name
    assert ask.question == {
        QUESTION: "REGENCY",
        QUESTION_TICKET: TICKET,
        QUESTION_PROVINCE: "32",
        QUESTION_CANDIDATES: "32.73 32.04",
        QUESTION_PAGE: "2",
    }


def test_an_unknown_question_asks_nothing() -> None:
    assert plan(event(DetailsRequestedFacts(question="UNSPECIFIED")), UNPLACED).deliveries == []


def test_an_anonymous_reporter_is_not_asked() -> None:
    anonymous = replace(UNPLACED, anonymous=True, reporter_id="", masked_contact="")
    [ask] = plan(event(DetailsRequestedFacts(question="PROVINCE")), anonymous).deliveries
    assert ask.skip_reason == "ANONYMOUS"


# -- the citizen's loop ---------------------------------------------------------------------------


def test_a_follow_up_is_acknowledged_and_passed_to_the_holding_office() -> None:
    outcome = plan(event(ReporterMessageAddedFacts(channel="WHATSAPP")), HELD)
    assert planned(outcome) == [
        ("follow_up_received", RecipientKind.REPORTER, "rep-1"),
        ("office_follow_up", RecipientKind.OFFICE, "KANTAH.32.73"),
    ]
    ack, office = outcome.deliveries
    assert ack.variables["office_name"] == office.variables["office_name"] == HELD.office_name
    assert office.variables["complaint_id"] == "c-1"
    assert_templates_satisfied(outcome)


def test_a_follow_up_by_email_is_acknowledged_by_email() -> None:
    [ack, _] = plan(event(ReporterMessageAddedFacts(channel="EMAIL")), HELD).deliveries
    assert ack.channel is DeliveryChannel.EMAIL


def test_a_follow_up_while_awaiting_details_is_only_acknowledged() -> None:
    outcome = plan(event(ReporterMessageAddedFacts(channel="WHATSAPP")), UNPLACED)
    assert planned(outcome) == [("follow_up_received", RecipientKind.REPORTER, "rep-1")]
    assert outcome.deliveries[0].variables["office_name"] == ""
    assert_templates_satisfied(outcome)


def test_a_message_after_resolution_waits_for_routing_to_reopen() -> None:
    resolved = replace(HELD, status="RESOLVED")
    outcome = plan(event(ReporterMessageAddedFacts(channel="WHATSAPP")), resolved)
    assert outcome.deliveries == []
    # It still opened the WhatsApp window.
    assert outcome.contact is not None
    assert outcome.contact_changed
    assert outcome.contact.last_inbound_whatsapp_at == FILED_AT + timedelta(minutes=5)


def test_reopened_by_the_reporter_tells_the_reporter_and_the_office() -> None:
    resolved = replace(HELD, status="RESOLVED")
    reopened = event(
        CaseReopenedFacts(by_reporter=True, reason="the reporter replied after resolution"),
        service="routing",
    )
    outcome = plan(reopened, resolved)
    assert planned(outcome) == [
        ("case_reopened", RecipientKind.REPORTER, "rep-1"),
        ("office_case_reopened", RecipientKind.OFFICE, "KANTAH.32.73"),
    ]
    assert outcome.contact is not None
    assert outcome.contact.status == "IN_PROGRESS"
    assert_templates_satisfied(outcome)


def test_reopened_by_an_officer_tells_nobody() -> None:
    resolved = replace(HELD, status="RESOLVED")
    outcome = plan(event(CaseReopenedFacts(by_reporter=False), service="routing"), resolved)
    assert outcome.deliveries == []
    assert outcome.contact is not None
    assert outcome.contact.status == "IN_PROGRESS"


def test_a_rating_is_thanked_for() -> None:
    outcome = plan(event(ResolutionRatedFacts(rating=4)), replace(HELD, status="RESOLVED"))
    [thanks] = outcome.deliveries
    assert thanks.template == "rating_received"
    assert thanks.variables == {"ticket_number": TICKET, "rating": "4"}
    assert_templates_satisfied(outcome)


@pytest.mark.parametrize("kind", ["ComplaintLocated", "ComplaintClassified"])
def test_located_and_classified_tell_nobody_and_need_nothing(kind: str) -> None:
    # Before routing's events (the contact unplaced), after them, or before anything at all.
    for contact in (UNPLACED, HELD):
        outcome = plan(event(None, kind=kind), contact)
        assert outcome.deliveries == []
        assert not outcome.contact_changed
    assert plan(event(None, kind=kind), None) == Plan(None, False, [])


def test_the_loops_intake_events_before_the_filing_are_not_an_error() -> None:
    for facts in (ReporterMessageAddedFacts(channel="WHATSAPP"), ResolutionRatedFacts(rating=5)):
        assert plan(event(facts), None).deliveries == []


def test_an_event_kind_without_a_rule_tells_nobody() -> None:
    unknown = event(None, kind="CaseSnoozed", service="routing")
    assert plan(unknown, HELD) == Plan(HELD, False, [])
    # Routing's events wait for the filing all the same (the consumer retries).
    with pytest.raises(ComplaintNotKnownYetError):
        plan(unknown, None)


# -- a message that could not be delivered ----------------------------------------------------


def test_the_holding_office_hears_of_an_undelivered_message() -> None:
    notice = undelivered_notice(HELD, "pemberitahuan kantor penanganan")
    assert notice is not None
    assert (notice.template, notice.recipient_kind, notice.recipient) == (
        "office_delivery_failed",
        RecipientKind.OFFICE,
        "KANTAH.32.73",
    )
    assert notice.variables == {
        "ticket_number": TICKET,
        "complaint_id": "c-1",
        "office_name": HELD.office_name,
        "office_code": "KANTAH.32.73",
        "template_label": "pemberitahuan kantor penanganan",
    }
    assert not CATALOG.get("office_delivery_failed").missing(notice.variables)
    assert undelivered_notice(UNPLACED, "x") is None
    assert undelivered_notice(None, "x") is None


# -- times in the office's zone -----------------------------------------------------------------


def test_office_messages_name_their_office_for_its_time_zone() -> None:
    routed = event(
        CaseRoutedFacts(
            to_office=Office("KANTAH.73.71", "Kantor Pertanahan Kota Makassar"),
            accept_due=datetime(2026, 3, 27, 15, 59, 59, tzinfo=UTC),
        ),
        service="routing",
    )
    outcome = plan(routed, UNPLACED)
    office = next(d for d in outcome.deliveries if d.recipient_kind is RecipientKind.OFFICE)
    assert office.variables["office_code"] == "KANTAH.73.71"
    body = CATALOG.get(office.template).render("id", "OFFICE_WEBHOOK", office.variables).body
    assert "27 Maret 2026 pukul 23.59 WITA" in body  # Makassar's time, not Jakarta's


def test_a_resolution_says_when_the_case_closes_by_itself() -> None:
    resolved = event(
        CaseResolvedFacts(
            office=Office("KANTAH.73.71", "Kantor Pertanahan Kota Makassar"),
            summary="Selesai.",
            auto_close_due=datetime(2026, 4, 10, 15, 59, 59, tzinfo=UTC),
        ),
        service="routing",
    )
    [message] = plan(resolved, HELD).deliveries
    assert message.variables["auto_close_due"] == "2026-04-10T15:59:59+00:00"
    assert message.variables["office_code"] == "KANTAH.73.71"
    variables = {**message.variables, "reporter_name": ""}  # added at send time
    body = CATALOG.get("case_resolved").render("id", "WHATSAPP", variables).body
    assert "10 April 2026 pukul 23.59 WITA" in body


# -- answers about no complaint -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "template", "facts"),
    [
        ("WELCOME", "welcome", {}),
        ("UNSUPPORTED_MESSAGE", "unsupported_message", {"message_kind": "video_call"}),
        ("STATUS_OVERVIEW", "status_overview", {"complaint_lines": ""}),
        ("UNKNOWN_TICKET", "status_unknown_ticket", {"ticket_number": "ADU-2026-ZZZZZZ"}),
    ],
)
def test_a_conversation_reply_answers_the_sender_by_whatsapp(
    reply: str, template: str, facts: dict[str, Any]
) -> None:
    outcome = plan(
        event(
            ConversationReplyRequestedFacts(
                reply=reply,
                reporter_id="rep-conv",
                masked_contact="+62812****0009",
                language="id",
                **facts,
            )
        ),
        None,  # no complaint record: the sender's conversation gets its own
    )
    assert outcome.contact is not None
    assert outcome.contact.reporter_id == "rep-conv"
    assert outcome.contact.within_whatsapp_window(FILED_AT + timedelta(minutes=6))
    [answer] = outcome.deliveries
    assert (answer.template, answer.channel) == (template, DeliveryChannel.WHATSAPP)
    assert answer.recipient == "rep-conv"
    assert_templates_satisfied(outcome)
    variables = {**answer.variables, "reporter_name": "Siti Aminah"}  # added at send time
    body = CATALOG.get(template).render("id", "WHATSAPP", variables).body
    if reply == "UNKNOWN_TICKET":
        assert "ADU-2026-ZZZZZZ" in body


# -- what the rules are given and when they are asked ---------------------------------------------


def test_a_status_overview_lists_the_records_it_finds_in_the_senders_language() -> None:
    asked = event(
        ConversationReplyRequestedFacts(
            reply="STATUS_OVERVIEW", language="en", complaint_ids=("c-1", "c-gone", "c-2")
        )
    )
    other = replace(HELD, complaint_id="c-2", ticket_number="ADU-2026-BBBBBB")
    records = {"c-1": UNPLACED, "c-2": other}
    overview = with_status_overview(asked, records.get)
    assert isinstance(overview.facts, ConversationReplyRequestedFacts)
    assert overview.facts.complaint_lines == "\n".join(
        [
            status_line(TICKET, UNPLACED.status, "", "en"),
            status_line(other.ticket_number, other.status, other.office_name, "en"),
        ]
    )
    assert overview.facts.complaint_lines.startswith(TICKET + ": ")
    assert replace(overview, facts=asked.facts) == asked  # nothing else changes


def test_only_a_status_overview_is_given_lines() -> None:
    welcome = event(ConversationReplyRequestedFacts(reply="WELCOME", complaint_ids=("c-1",)))
    assert with_status_overview(welcome, {"c-1": HELD}.get) is welcome
    rated = event(ResolutionRatedFacts(rating=5))
    assert with_status_overview(rated, {"c-1": HELD}.get) is rated


def test_the_office_is_told_when_a_reporters_message_has_just_become_undelivered() -> None:
    sent, undelivered = DeliveryStatus.SENT, DeliveryStatus.UNDELIVERED
    assert tells_office_undelivered(sent, undelivered, RecipientKind.REPORTER)
    assert tells_office_undelivered(DeliveryStatus.ATTEMPTING, undelivered, RecipientKind.REPORTER)
    assert not tells_office_undelivered(undelivered, undelivered, RecipientKind.REPORTER)
    assert not tells_office_undelivered(sent, undelivered, RecipientKind.OFFICE)
    assert not tells_office_undelivered(sent, DeliveryStatus.DELIVERED, RecipientKind.REPORTER)
