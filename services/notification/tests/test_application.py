"""What notifies whom, exactly once per (event, recipient, channel); the published contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from aduan.core.context import Actor, CommandContext
from aduan.eventstore.store import DuplicateEventError
from aduan.v1 import common_pb2, events_pb2
from aduan_devtools.testing.notification import (
    ALL_LIVE,
    LOOP_DELIVERIES,
    STORY_DELIVERIES,
    Upstream,
    filed,
    loop_story,
    memory_app,
    office,
    sqlite_app,
    story,
)
from aduan_notification.application import NotificationApplication
from aduan_notification.consumer import NotificationProcessor, upstream_event
from aduan_notification.contract import translator
from aduan_notification.domain import Delivery, DeliveryChannel, DeliveryStatus
from aduan_notification.rules import ComplaintNotKnownYetError
from aduan_notification.scheduling import ChannelPolicy


def test_every_notifying_event_schedules_its_deliveries() -> None:
    app = memory_app(channels=ALL_LIVE)
    processor = NotificationProcessor(app)
    intake, routing = Upstream("intake"), Upstream("routing")
    for envelope in story(intake, routing, "c-1", "ADU-2026-AAAAAA"):
        processor.process(envelope)
    deliveries = app.list_deliveries("ADU-2026-AAAAAA")
    assert [(d.template, d.recipient_kind.value) for d in deliveries] == STORY_DELIVERIES
    by_template = {d.template: d for d in deliveries}
    assert by_template["office_case_assigned"].recipient == "KANTAH.32.73"
    assert by_template["office_case_escalated"].recipient == "KANWIL.32"
    assert by_template["office_sla_breached"].recipient == "PUSAT.IP3"  # escalated_to supervises
    assert by_template["office_ping_pong"].recipient == "KANWIL.32"
    assert by_template["officer_response"].variables["response_text"] == "Mohon datang ke loket 3."
    assert by_template["status_reply"].variables["status"] == "ASSIGNED"
    reporter = [d for d in deliveries if d.recipient_kind.value == "REPORTER"]
    assert {d.channel for d in reporter} == {DeliveryChannel.WHATSAPP}
    assert {d.recipient for d in reporter} == {"rep-1"}
    office_channels = {d.channel for d in deliveries if d.recipient_kind.value == "OFFICE"}
    assert office_channels == {DeliveryChannel.OFFICE_WEBHOOK}
    for delivery in deliveries:
        assert not app.catalog.get(delivery.template).missing(delivery.variables)
        assert delivery.status is DeliveryStatus.SCHEDULED


def test_the_citizens_loop_schedules_its_deliveries() -> None:
    app = memory_app(channels=ALL_LIVE)
    processor = NotificationProcessor(app)
    for envelope in loop_story(Upstream("intake"), Upstream("routing"), "c-9", "ADU-2026-LOOPAA"):
        processor.process(envelope)
    deliveries = app.list_deliveries("ADU-2026-LOOPAA")
    assert [(d.template, d.recipient_kind.value) for d in deliveries] == LOOP_DELIVERIES
    offices = {d.recipient for d in deliveries if d.recipient_kind.value == "OFFICE"}
    assert offices == {"KANTAH.32.73"}
    questions = [d for d in deliveries if d.template.startswith("ask_")]
    assert {d.channel for d in questions} == {DeliveryChannel.WHATSAPP}
    for delivery in deliveries:
        assert not app.catalog.get(delivery.template).missing(delivery.variables)
    rated = next(d for d in deliveries if d.template == "rating_received")
    assert rated.variables["rating"] == "5"


def test_the_citizens_loop_in_batches_equals_one_by_one(tmp_path: Path) -> None:
    one_by_one = memory_app(channels=ALL_LIVE)
    batched = sqlite_app(tmp_path / "n.sqlite", channels=ALL_LIVE)
    envelopes = loop_story(Upstream("intake"), Upstream("routing"), "c-9", "ADU-2026-LOOPAA")
    for envelope in envelopes:
        NotificationProcessor(one_by_one).process(envelope)
    assert NotificationProcessor(batched).process_batch(envelopes) == len(envelopes)

    def seen(app: NotificationApplication) -> list[tuple[str, str, dict[str, str]]]:
        return [(d.template, d.recipient, d.variables) for d in app.list_deliveries("c-9")]

    assert seen(batched) == seen(one_by_one)
    assert batched.contact("c-9") == one_by_one.contact("c-9")
    batched.close()


def test_a_redelivered_event_never_schedules_twice() -> None:
    app = memory_app(channels=ALL_LIVE)
    processor = NotificationProcessor(app)
    intake, routing = Upstream("intake"), Upstream("routing")
    envelopes = story(intake, routing, "c-1", "ADU-2026-AAAAAA")
    for envelope in envelopes:
        processor.process(envelope)
    head = app.head_position()
    for envelope in envelopes:
        with pytest.raises(DuplicateEventError):
            processor.process(envelope)
    assert app.head_position() == head
    assert len(app.list_deliveries("c-1")) == len(STORY_DELIVERIES)


def test_anonymous_reporters_get_nothing_and_the_record_says_why() -> None:
    app = memory_app(channels=ALL_LIVE)
    intake, routing = Upstream("intake"), Upstream("routing")
    app.react(
        upstream_event(
            intake.envelope("c-2", complaint_filed=filed("ADU-2026-BBBBBB", anonymous=True))
        )
    )
    app.react(
        upstream_event(
            routing.envelope(
                "c-2", case_routed=events_pb2.CaseRouted(to_office=office("KANTAH.32.73"))
            )
        )
    )
    deliveries = app.list_deliveries("c-2")
    reporter = [d for d in deliveries if d.recipient_kind.value == "REPORTER"]
    assert reporter
    assert all(d.status is DeliveryStatus.SKIPPED for d in reporter)
    assert {d.skip_reason for d in reporter} == {"ANONYMOUS"}
    assert app.index.due(app.clock(), set(), 100) == [
        d.id for d in deliveries if d.recipient_kind.value == "OFFICE"
    ]


@pytest.mark.parametrize(
    ("channel", "masked", "expected"),
    [
        (common_pb2.CHANNEL_WHATSAPP, "b***@example.id", DeliveryChannel.WHATSAPP),
        (common_pb2.CHANNEL_WEB, "+62812****0001", DeliveryChannel.WHATSAPP),
        (common_pb2.CHANNEL_WEB, "b***@example.id", DeliveryChannel.EMAIL),
        (common_pb2.CHANNEL_EMAIL, "b***@example.id", DeliveryChannel.EMAIL),
    ],
)
def test_the_reporter_is_answered_by_whatsapp_when_possible_else_email(
    channel: int, masked: str, expected: DeliveryChannel
) -> None:
    app = memory_app(channels=ALL_LIVE)
    envelope = Upstream("intake").envelope(
        "c-3", complaint_filed=filed("ADU-2026-CCCCCC", channel=channel, masked=masked)
    )
    [delivery] = app.react(upstream_event(envelope))
    assert delivery.channel is expected


def test_log_mode_and_unconfigured_channels_go_to_the_log() -> None:
    envelope = Upstream("intake").envelope("c-4", complaint_filed=filed("ADU-2026-DDDDDD"))
    [logged] = memory_app().react(upstream_event(envelope))
    assert logged.channel is DeliveryChannel.LOG
    live_without_whatsapp = ChannelPolicy(live=True, configured=frozenset({DeliveryChannel.EMAIL}))
    [fallback] = memory_app(channels=live_without_whatsapp).react(upstream_event(envelope))
    assert fallback.channel is DeliveryChannel.LOG


def test_a_routing_event_before_the_filing_is_retried_not_lost() -> None:
    app = memory_app()
    routing = Upstream("routing")
    early = routing.envelope(
        "c-5", case_routed=events_pb2.CaseRouted(to_office=office("KANTAH.32.73"))
    )
    with pytest.raises(ComplaintNotKnownYetError):
        app.react(upstream_event(early))
    assert app.tracked_position("routing") == 0
    app.react(
        upstream_event(Upstream("intake").envelope("c-5", complaint_filed=filed("ADU-2026-EEEEEE")))
    )
    assert len(app.react(upstream_event(early))) == 2


def test_the_language_follows_the_reporter_and_offices_read_indonesian() -> None:
    app = memory_app(channels=ALL_LIVE)
    intake, routing = Upstream("intake"), Upstream("routing")
    [filed_en] = app.react(
        upstream_event(
            intake.envelope("c-6", complaint_filed=filed("ADU-2026-FFFFFF", language="en"))
        )
    )
    assert filed_en.language == "en"
    routed = app.react(
        upstream_event(
            routing.envelope(
                "c-6", case_routed=events_pb2.CaseRouted(to_office=office("KANTAH.32.73"))
            )
        )
    )
    assert sorted(d.language for d in routed) == ["en", "id"]


def test_every_stored_event_is_published_with_its_complaint_id() -> None:
    app = memory_app(channels=ALL_LIVE)
    envelope = Upstream("intake").envelope("c-7", complaint_filed=filed("ADU-2026-GGGGGG"))
    [delivery] = app.react(upstream_event(envelope))
    _, attempt = app.record_attempt(delivery.id)
    app.record_failure(delivery.id, attempt, "whatsapp HTTP 500", retryable=False)
    app.retry_delivery(str(delivery.id), CommandContext(actor=Actor.system("test")))
    _, attempt = app.record_attempt(delivery.id)
    app.record_sent(delivery.id, attempt, "wamid.9")
    other = app.react(
        upstream_event(
            Upstream("intake", position=1).envelope(
                "c-7", status_requested=events_pb2.StatusRequested()
            )
        )
    )
    app.record_attempt(other[0].id)
    app.record_skipped(
        other[0].id, __import__("aduan_notification.domain").domain.SkipReason.ERASED
    )

    contract = translator()
    published = []
    for notification in app.read_notifications(0, 100):
        event = app.decode(notification)
        envelope_out = contract.translate(notification, event)
        assert envelope_out is not None, f"{type(event).__qualname__} has no builder"
        assert envelope_out.complaint_id == "c-7"
        published.append(envelope_out)
    # Work done for an upstream event keeps its correlation id and names its cause.
    assert published[0].causation_id == envelope.event_id
    assert {e.correlation_id for e in published[:4]} == {envelope.correlation_id}
    assert published[0].actor.id == "service:notification"
    assert published[1].actor.id == "system:notification-sender"
    assert [e.event_type for e in published] == [
        "DeliveryScheduled",
        "DeliveryAttempted",
        "DeliveryFailed",
        "DeliveryGaveUp",
        "DeliveryScheduled",
        "DeliveryAttempted",
        "DeliverySent",
        "DeliveryScheduled",
        "DeliveryAttempted",
        "DeliverySkipped",
    ]
    event_classes = {
        value
        for value in vars(Delivery).values()
        if isinstance(value, type)
        and issubclass(value, Delivery.Event)
        and value not in (Delivery.Event, Delivery.Created)  # Scheduled is the creation event
    }
    assert event_classes <= set(contract._builders)


@pytest.mark.parametrize("batched", [False, True])
def test_a_status_overview_lists_the_senders_open_complaints_as_notification_knows_them(
    tmp_path: Path, batched: bool
) -> None:
    app = sqlite_app(tmp_path / "n.sqlite", channels=ALL_LIVE)
    intake, routing = Upstream("intake"), Upstream("routing")
    events = [
        intake.envelope("c-10", complaint_filed=filed("ADU-2026-KKKKK1")),
        intake.envelope("c-11", complaint_filed=filed("ADU-2026-KKKKK2")),
        routing.envelope(
            "c-10",
            case_routed=events_pb2.CaseRouted(
                to_office=office("KANTAH.73.71", "Kantor Pertanahan Kota Makassar")
            ),
        ),
        intake.envelope(
            "conv-1",
            conversation_reply_requested=events_pb2.ConversationReplyRequested(
                reporter_id="rep-conv",
                masked_contact="+62812****0001",
                reply=events_pb2.CONVERSATION_REPLY_STATUS_OVERVIEW,
                message_id="wamid.status",
                complaint_ids=["c-11", "c-10"],
                language="id",
            ),
        ),
    ]
    processor = NotificationProcessor(app)
    if batched:
        processor.process_batch(events)
    else:
        for envelope in events:
            processor.process(envelope)
    [overview] = app.list_deliveries("conv-1")
    assert overview.template == "status_overview"
    assert overview.channel is DeliveryChannel.WHATSAPP
    lines = overview.variables["complaint_lines"].splitlines()
    assert [line.split(":")[0] for line in lines] == ["ADU-2026-KKKKK2", "ADU-2026-KKKKK1"]
    assert "Kantor Pertanahan Kota Makassar" in lines[1]
