"""Intake's questions (DetailsRequested) as WhatsApp interactive list messages: the payload's
shape and limits, the rows from aduan.reference.questions, sent through the stand-in Cloud API, skipped
outside the 24-hour window, and logged without personal data in log mode."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aduan.reference.areas import area_registry
from aduan.reference.questions import MAX_ROWS, Question, choices, parse_reply
from aduan.v1 import events_pb2
from aduan_devtools.testing.notification import (
    ALL_LIVE,
    CANARY,
    FakeIntake,
    StandInProvider,
    Upstream,
    fake_intake_contacts,
    filed,
    list_problem,
    memory_app,
    run_worker_until,
    stand_in_worker,
)
from aduan_notification.channels import (
    LogSender,
    OutgoingMessage,
    WhatsAppConfig,
    WhatsAppSender,
)
from aduan_notification.consumer import NotificationProcessor
from aduan_notification.domain import DeliveryChannel, DeliveryStatus
from aduan_notification.templates import TemplateCatalog
from aduan_notification.worker import DeliveryWorker

TICKET = "ADU-2026-AAAAAA"
CATALOG = TemplateCatalog.load_packaged()


def payload_of(message: OutgoingMessage) -> dict[str, Any]:
    """The Cloud API request body the WhatsApp sender builds (no request is made)."""
    sender = WhatsAppSender(WhatsAppConfig("http://127.0.0.1:9", "token", "1234567890"))
    try:
        return sender.payload(message)
    finally:
        asyncio.run(sender.close())


def question_message(rows: list[Any], **overrides: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "delivery_id": "d-1",
        "provider_key": "d-1",
        "channel": DeliveryChannel.WHATSAPP,
        "template": "ask_location",
        "template_version": "abc",
        "language": "id",
        "recipient": "rep-1",
        "recipient_masked": "+62812****0001",
        "complaint_id": "c-1",
        "source_event_id": "intake:2",
        "source_event_type": "DetailsRequested",
        "address": CANARY.phone,
        "body": "Di provinsi mana tanah yang Anda adukan?",
        "list_rows": tuple(rows),
        "list_button": "Pilih provinsi",
        "list_title": "Provinsi",
    }
    values.update(overrides)
    return OutgoingMessage(**values)


def test_the_list_payload_has_the_cloud_api_shape() -> None:
    rows = choices(TICKET, Question.PROVINCE)
    payload = payload_of(question_message(rows))
    assert payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CANARY.phone.lstrip("+"),
        "biz_opaque_callback_data": "d-1",
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Di provinsi mana tanah yang Anda adukan?"},
            "action": {
                "button": "Pilih provinsi",
                "sections": [
                    {
                        "title": "Provinsi",
                        "rows": [
                            {"id": r.id, "title": r.title, "description": r.description}
                            for r in rows
                        ],
                    }
                ],
            },
        },
    }
    assert list_problem(payload) is None
    listed = payload["interactive"]["action"]["sections"][0]["rows"]
    assert len(listed) == MAX_ROWS  # 38 provinces: nine and a row for the next page
    answers = [parse_reply(row["id"]) for row in listed]
    assert all(a is not None and a.ticket_number == TICKET for a in answers)
    assert answers[-1] is not None
    assert answers[-1].wants_more


def test_over_long_list_parts_are_cut_to_whatsapps_limits() -> None:
    message = question_message(
        choices(TICKET, Question.CATEGORY), list_button="x" * 40, list_title="y" * 40
    )
    payload = payload_of(message)
    assert list_problem(payload) is None
    action = payload["interactive"]["action"]
    assert len(action["button"]) == 20
    assert len(action["sections"][0]["title"]) == 24


def every_page(question: Question, province_code: str = "") -> list[list[Any]]:
    pages, page = [], 1
    while True:
        rows = choices(TICKET, question, province_code=province_code, page=page, language="en")
        pages.append(rows)
        more = parse_reply(rows[-1].id)
        if more is None or not more.wants_more:
            return pages
        page = more.next_page


def test_every_page_of_every_question_is_a_valid_list() -> None:
    pages = every_page(Question.PROVINCE) + every_page(Question.CATEGORY)
    for province in area_registry().provinces:
        pages += every_page(Question.REGENCY, province)
    for rows in pages:
        payload = payload_of(question_message(rows))
        assert list_problem(payload) is None, rows
        assert 1 <= len(rows) <= MAX_ROWS


# -- through the sender ----------------------------------------------------------------------


def asked(
    question: Any, province_code: str = "", candidates: tuple[str, ...] = (), page: int = 1
) -> events_pb2.DetailsRequested:
    return events_pb2.DetailsRequested(
        question=question, province_code=province_code, candidates=candidates, page=page
    )


def rendered_list(template: str, language: str, variables: dict[str, str]) -> Any:
    return CATALOG.get(template).render(
        language, "WHATSAPP", {"ticket_number": TICKET, **variables}
    )


async def test_a_question_goes_out_as_an_interactive_list(
    provider: StandInProvider, intake_server: FakeIntake
) -> None:
    provider.dedupe = False  # the Cloud API does not deduplicate
    app = memory_app(channels=ALL_LIVE)
    processor = NotificationProcessor(app)
    intake = Upstream("intake")
    processor.process(intake.envelope("c-1", complaint_filed=filed(TICKET)))
    processor.process(
        intake.envelope("c-1", details_requested=asked(events_pb2.DETAIL_QUESTION_PROVINCE))
    )
    processor.process(
        intake.envelope(
            "c-1",
            details_requested=asked(
                events_pb2.DETAIL_QUESTION_REGENCY, "32", ("32.73", "32.04"), page=1
            ),
        )
    )
    processor.process(
        intake.envelope("c-1", details_requested=asked(events_pb2.DETAIL_QUESTION_CATEGORY))
    )

    worker = stand_in_worker(app, provider, intake_server)
    await run_worker_until(
        worker,
        lambda: all(d.status is DeliveryStatus.SENT for d in app.list_deliveries("c-1")),
    )
    texts = [r for r in provider.requests if r.document.get("type") == "text"]
    assert len(texts) == 1  # complaint_filed
    lists = provider.lists
    assert len(lists) == 3
    expected = {
        "ask_location": (choices(TICKET, Question.PROVINCE), {}),
        "ask_regency": (
            choices(TICKET, Question.REGENCY, province_code="32", candidates=("32.73", "32.04")),
            {"province_name": area_registry().provinces["32"].name},
        ),
        "ask_category": (choices(TICKET, Question.CATEGORY), {}),
    }
    deliveries = {d.provider_key: d for d in app.list_deliveries("c-1")}
    # Sent concurrently: in any order.
    by_template = {deliveries[request.key].template: request for request in lists}
    assert set(by_template) == set(expected)
    for template, (rows, variables) in expected.items():
        request = by_template[template]
        document = request.document
        assert document["to"] == CANARY.phone.lstrip("+")
        assert document["biz_opaque_callback_data"] == request.key
        interactive = document["interactive"]
        rendered = rendered_list(template, "id", variables)
        assert rendered.is_list
        assert interactive["body"] == {"text": rendered.body}
        assert interactive["action"]["button"] == rendered.list_button
        [section] = interactive["action"]["sections"]
        assert section.get("title", "") == rendered.list_title
        assert [row["id"] for row in section["rows"]] == [r.id for r in rows]
        assert [row["title"] for row in section["rows"]] == [r.title for r in rows]
        assert len(section["rows"]) <= MAX_ROWS
    # The regency question offers the candidates only, each answer naming the ticket.
    regency_rows = by_template["ask_regency"].document["interactive"]["action"]["sections"][0][
        "rows"
    ]
    regency_answers = [parse_reply(row["id"]) for row in regency_rows]
    assert {a.value for a in regency_answers if a is not None} == {"32.73", "32.04"}
    # The stored delivery keeps the question, never the contact.
    for delivery in deliveries.values():
        assert CANARY.phone not in str(delivery.variables)
        assert CANARY.name not in str(delivery.variables)


async def test_a_question_in_english_is_listed_in_english(
    provider: StandInProvider, intake_server: FakeIntake
) -> None:
    app = memory_app(channels=ALL_LIVE)
    processor = NotificationProcessor(app)
    intake = Upstream("intake")
    processor.process(intake.envelope("c-2", complaint_filed=filed(TICKET, language="en")))
    processor.process(
        intake.envelope("c-2", details_requested=asked(events_pb2.DETAIL_QUESTION_CATEGORY))
    )
    await run_worker_until(
        stand_in_worker(app, provider, intake_server),
        lambda: all(d.status is DeliveryStatus.SENT for d in app.list_deliveries("c-2")),
    )
    [request] = provider.lists
    rows = request.document["interactive"]["action"]["sections"][0]["rows"]
    assert [row["title"] for row in rows] == [
        r.title for r in choices(TICKET, Question.CATEGORY, language="en")
    ]
    assert request.document["interactive"]["action"]["button"] == (
        rendered_list("ask_category", "en", {}).list_button
    )


async def test_outside_the_window_a_question_is_skipped_not_sent_as_a_template(
    provider: StandInProvider, intake_server: FakeIntake
) -> None:
    # The sender runs a day and more after the question was asked (it was down, say).
    app = memory_app(channels=ALL_LIVE, clock=lambda: datetime.now(UTC) + timedelta(hours=25))
    processor = NotificationProcessor(app)
    intake = Upstream("intake")
    processor.process(intake.envelope("c-3", complaint_filed=filed(TICKET)))
    processor.process(
        intake.envelope("c-3", details_requested=asked(events_pb2.DETAIL_QUESTION_PROVINCE))
    )
    final = {DeliveryStatus.SENT, DeliveryStatus.SKIPPED}
    await run_worker_until(
        stand_in_worker(app, provider, intake_server),
        lambda: all(d.status in final for d in app.list_deliveries("c-3")),
    )
    filed_message, question = app.list_deliveries("c-3")
    assert filed_message.status is DeliveryStatus.SENT  # as the approved template
    assert question.status is DeliveryStatus.SKIPPED
    assert question.skip_reason == "OUTSIDE_WINDOW"
    assert [r.document["type"] for r in provider.requests] == ["template"]
    # Intake was not even asked for the contact of the skipped question.
    assert {purpose for _, purpose, _ in intake_server.calls} == {"notification:ComplaintFiled"}


async def test_in_log_mode_a_question_is_logged_without_personal_data(
    provider: StandInProvider, intake_server: FakeIntake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = memory_app()  # log mode
    processor = NotificationProcessor(app)
    intake = Upstream("intake")
    processor.process(intake.envelope("c-4", complaint_filed=filed(TICKET)))
    processor.process(
        intake.envelope("c-4", details_requested=asked(events_pb2.DETAIL_QUESTION_PROVINCE))
    )
    worker = DeliveryWorker(
        app,
        {DeliveryChannel.LOG: LogSender()},
        fake_intake_contacts(intake_server),
        poll_seconds=0.05,
    )
    await run_worker_until(
        worker, lambda: all(d.status is DeliveryStatus.SENT for d in app.list_deliveries("c-4"))
    )
    [logged] = [
        r
        for r in caplog.records
        if r.getMessage() == "notification delivered to the log channel"
        and getattr(r, "template", "") == "ask_location"
    ]
    assert getattr(logged, "list_rows", 0) == MAX_ROWS
    text = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    for canary in (CANARY.name, CANARY.phone, CANARY.phone.lstrip("+"), CANARY.email):
        assert canary not in text
    assert intake_server.calls == []  # the log channel needs no contact
    assert provider.requests == []


async def test_a_question_of_unknown_codes_gives_up_without_asking_intake(
    provider: StandInProvider, intake_server: FakeIntake
) -> None:
    app = memory_app(channels=ALL_LIVE)
    processor = NotificationProcessor(app)
    intake = Upstream("intake")
    processor.process(intake.envelope("c-5", complaint_filed=filed(TICKET)))
    processor.process(
        intake.envelope(
            "c-5",
            details_requested=asked(events_pb2.DETAIL_QUESTION_REGENCY, "32", ("99.99",)),
        )
    )
    final = {DeliveryStatus.SENT, DeliveryStatus.GAVE_UP}
    await run_worker_until(
        stand_in_worker(app, provider, intake_server),
        lambda: all(d.status in final for d in app.list_deliveries("c-5")),
    )
    question = next(d for d in app.list_deliveries("c-5") if d.template == "ask_regency")
    assert question.status is DeliveryStatus.GAVE_UP
    assert question.last_error == "question without choices"
    assert provider.lists == []
    assert {purpose for _, purpose, _ in intake_server.calls} == {"notification:ComplaintFiled"}
