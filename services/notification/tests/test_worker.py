"""The sender worker against the stand-in provider and a fake intake: exactly one successful send
per recipient, through failures, redeliveries, erasure and a crash between send and record."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aduan.core.context import Actor, CommandContext
from aduan.eventstore.store import DuplicateEventError
from aduan.v1 import common_pb2, events_pb2
from aduan_devtools.testing.notification import (
    ALL_LIVE,
    CANARY,
    FAST_RETRIES,
    Answer,
    FakeIntake,
    StandInProvider,
    Upstream,
    filed,
    memory_app,
    office,
    run_worker_until,
    sqlite_app,
    stand_in_worker,
    store_bytes,
    story,
)
from aduan_notification.application import NotificationApplication
from aduan_notification.consumer import NotificationProcessor, upstream_event
from aduan_notification.domain import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    ProviderStatus,
    RetryPolicy,
)

pytestmark = pytest.mark.integration

CANARY_STRINGS = [
    CANARY.name,
    CANARY.phone,
    CANARY.phone.lstrip("+"),
    CANARY.email,
    CANARY.nik,
]


def statuses(app: NotificationApplication, complaint: str) -> list[DeliveryStatus]:
    return [d.status for d in app.list_deliveries(complaint)]


def all_final(app: NotificationApplication, complaint: str) -> Callable[[], bool]:
    final = {DeliveryStatus.SENT, DeliveryStatus.SKIPPED, DeliveryStatus.GAVE_UP}
    return lambda: all(s in final for s in statuses(app, complaint))


async def test_every_notifying_event_is_sent_exactly_once_despite_redelivery_and_failures(
    provider: StandInProvider, intake_server: FakeIntake
) -> None:
    provider.failures_per_key = [Answer(500), Answer(429, {"Retry-After": "0.05"})]
    app = memory_app(channels=ALL_LIVE, retry_policy=FAST_RETRIES)
    processor = NotificationProcessor(app)
    envelopes = story(Upstream("intake"), Upstream("routing"), "c-1", "ADU-2026-AAAAAA")
    for envelope in envelopes:
        processor.process(envelope)
    for envelope in envelopes:  # NATS redelivers everything
        with pytest.raises(DuplicateEventError):
            processor.process(envelope)

    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-1"))

    deliveries = app.list_deliveries("c-1")
    assert {d.status for d in deliveries} == {DeliveryStatus.SENT}
    assert provider.sends == len(deliveries) == 11
    for delivery in deliveries:
        assert provider.accept_counts[delivery.provider_key] == 1
        assert provider.requests_for(delivery.provider_key) == 3  # 500, 429, then accepted
        assert delivery.attempts == 3
        assert delivery.provider_message_id == provider.message_ids[delivery.provider_key]
    purposes = {purpose for _, purpose, _ in intake_server.calls}
    assert purposes == {
        "notification:ComplaintFiled",
        "notification:CaseRouted",
        "notification:CaseReassigned",
        "notification:ReporterAnswered",
        "notification:StatusRequested",
        "notification:CaseResolved",
        "notification:CaseClosed",
    }
    assert {caller for _, _, caller in intake_server.calls} == {"service:notification"}


async def test_an_erased_reporter_is_skipped(
    provider: StandInProvider, intake_server: FakeIntake
) -> None:
    intake_server.erased.add("c-9")
    app = memory_app(channels=ALL_LIVE)
    [delivery] = app.react(
        upstream_event(Upstream("intake").envelope("c-9", complaint_filed=filed("ADU-2026-ZZZZZZ")))
    )
    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-9"))
    skipped = app.get_delivery(delivery.id)
    assert skipped.status is DeliveryStatus.SKIPPED
    assert skipped.skip_reason == "ERASED"
    assert provider.requests == []


async def test_gives_up_after_the_maximum_then_an_operator_retry_sends_it(
    provider: StandInProvider, intake_server: FakeIntake
) -> None:
    provider.failures_per_key = [Answer(500)] * 3
    app = memory_app(
        channels=ALL_LIVE,
        retry_policy=RetryPolicy(max_attempts=3, base_seconds=0.01, cap_seconds=0.02),
    )
    [delivery] = app.react(
        upstream_event(Upstream("intake").envelope("c-8", complaint_filed=filed("ADU-2026-YYYYYY")))
    )
    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-8"))
    gave_up = app.get_delivery(delivery.id)
    assert gave_up.status is DeliveryStatus.GAVE_UP
    assert gave_up.attempts == 3
    assert gave_up.last_error == "whatsapp HTTP 500"
    assert provider.sends == 0

    app.retry_delivery(str(delivery.id), CommandContext(actor=Actor.system("operator")))
    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-8"))
    assert app.get_delivery(delivery.id).status is DeliveryStatus.SENT
    assert provider.sends == 1


class MovableClock:
    """The application's clock, moved forward by the test (event times stay real)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


GRACE = 60.0


async def interrupted(
    app: NotificationApplication,
    provider: StandInProvider,
    intake: FakeIntake,
    delivery: Delivery,
) -> int:
    """The process records the attempt, the provider accepts the message ... and the process
    dies before recording it: returns the attempt left ATTEMPTING."""
    _, attempt = app.record_attempt(delivery.id)
    crashed = stand_in_worker(app, provider, intake)
    message = crashed._message(delivery, await crashed._contact(delivery))
    assert message is not None
    await crashed.senders[delivery.channel].send(message)
    await crashed.contacts.close()
    for sender in crashed.senders.values():
        await sender.close()
    return attempt


async def test_an_interrupted_whatsapp_send_waits_the_grace_period_then_is_repeated_once(
    tmp_path: Path, provider: StandInProvider, intake_server: FakeIntake
) -> None:
    """No status report comes for a WhatsApp send left in doubt: it is not repeated before the
    confirmation grace period has passed (counted from the restart: reports sent while no
    instance ran could not stop it), then once, with the same key."""
    store = tmp_path / "notification.sqlite"
    first = sqlite_app(store, channels=ALL_LIVE)
    [delivery] = first.react(
        upstream_event(Upstream("intake").envelope("c-7", complaint_filed=filed("ADU-2026-XXXXXX")))
    )
    attempt = await interrupted(first, provider, intake_server, delivery)
    first.close()
    key = delivery.provider_key
    assert provider.requests_for(key) == 1

    clock = MovableClock()
    restarted = sqlite_app(
        store, channels=ALL_LIVE, retry_policy=RetryPolicy(confirm_grace_seconds=GRACE), clock=clock
    )
    assert restarted.get_delivery(delivery.id).status is DeliveryStatus.ATTEMPTING
    worker = stand_in_worker(restarted, provider, intake_server)
    running = asyncio.create_task(
        run_worker_until(
            worker, lambda: restarted.get_delivery(delivery.id).status is DeliveryStatus.SENT
        )
    )
    await asyncio.sleep(0.5)  # many polls of the worker
    assert provider.requests_for(key) == 1, "repeated before the grace period"
    assert restarted.get_delivery(delivery.id).status is DeliveryStatus.ATTEMPTING
    assert restarted.index.next_due_at(set()) == restarted.started_at + timedelta(seconds=GRACE)

    clock.offset = timedelta(seconds=GRACE + 1)
    worker.wake()
    await running
    recovered = restarted.get_delivery(delivery.id)
    assert recovered.attempts == attempt + 1
    assert provider.requests_for(key) == 2
    assert provider.sends == 1  # the stand-in deduplicates on the key; the Cloud API would not
    restarted.close()


async def test_an_interrupted_office_webhook_send_is_repeated_at_once_with_its_key(
    tmp_path: Path, provider: StandInProvider, intake_server: FakeIntake
) -> None:
    """The office webhook deduplicates on its Idempotency-Key (email: the Message-ID): no grace."""
    store = tmp_path / "notification.sqlite"
    first = sqlite_app(store, channels=ALL_LIVE)
    processor = NotificationProcessor(first)
    processor.process(Upstream("intake").envelope("c-9", complaint_filed=filed("ADU-2026-YYYYYY")))
    processor.process(
        Upstream("routing").envelope(
            "c-9",
            case_routed=events_pb2.CaseRouted(to_office=office("KANTAH.32.73", "Kantah Bandung")),
        )
    )
    [to_office] = [
        d for d in first.list_deliveries("c-9") if d.channel is DeliveryChannel.OFFICE_WEBHOOK
    ]
    attempt = await interrupted(first, provider, intake_server, to_office)
    first.close()

    restarted = sqlite_app(
        store, channels=ALL_LIVE, retry_policy=RetryPolicy(confirm_grace_seconds=GRACE)
    )
    await run_worker_until(
        stand_in_worker(restarted, provider, intake_server),
        lambda: restarted.get_delivery(to_office.id).status is DeliveryStatus.SENT,
    )
    assert restarted.get_delivery(to_office.id).attempts == attempt + 1
    request = provider.accepted[to_office.provider_key]
    assert request.headers["idempotency-key"] == str(to_office.id)
    assert request.document["delivery_id"] == str(to_office.id)
    assert provider.requests_for(to_office.provider_key) == 2
    assert provider.accept_counts[to_office.provider_key] == 1
    restarted.close()


async def test_a_timed_out_whatsapp_send_is_retried_after_the_grace_unless_confirmed(
    provider: StandInProvider, intake_server: FakeIntake
) -> None:
    """A time-out leaves the send in doubt as a crash does: the retry waits at least the grace
    period, and the provider's status report, coming meanwhile, records it as sent."""
    provider.failures_per_key = [Answer(500, stall_seconds=3)]  # past the sender's 2 s
    app = memory_app(
        channels=ALL_LIVE,
        retry_policy=RetryPolicy(base_seconds=0.01, cap_seconds=0.02, confirm_grace_seconds=GRACE),
    )
    [delivery] = app.react(
        upstream_event(Upstream("intake").envelope("c-3", complaint_filed=filed("ADU-2026-ZZZZZZ")))
    )
    await run_worker_until(
        stand_in_worker(app, provider, intake_server),
        lambda: app.get_delivery(delivery.id).status is DeliveryStatus.FAILED,
    )
    failed = app.get_delivery(delivery.id)
    assert failed.last_error == "whatsapp timed out"
    assert failed.next_attempt_at is not None
    assert failed.next_attempt_at - app.clock() > timedelta(seconds=GRACE - 5)
    reported, changed = app.record_provider_status(
        delivery_id=str(delivery.id),
        provider_message_id="wamid.late",
        status=ProviderStatus.SENT,
        reported_at=None,
        error="",
        ctx=CommandContext(actor=Actor.service("intake")),
    )
    assert changed
    assert reported.status is DeliveryStatus.SENT
    app.index.catch_up()
    assert app.index.due(app.clock() + timedelta(seconds=GRACE * 2), set(), 10) == []


@pytest.mark.parametrize(
    ("channel", "expected_type"),
    [(common_pb2.CHANNEL_WHATSAPP, "text"), (common_pb2.CHANNEL_WEB, "template")],
)
async def test_outside_the_24_hour_window_whatsapp_gets_a_template(
    provider: StandInProvider, intake_server: FakeIntake, channel: int, expected_type: str
) -> None:
    app = memory_app(channels=ALL_LIVE)
    app.react(
        upstream_event(
            Upstream("intake").envelope(
                "c-6", complaint_filed=filed("ADU-2026-WWWWWW", channel=channel)
            )
        )
    )
    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-6"))
    [request] = provider.requests
    assert request.document["type"] == expected_type


async def test_an_approved_templates_parameters_are_cleaned_as_whatsapp_requires(
    provider: StandInProvider, intake_server: FakeIntake
) -> None:
    """Outside the window an officer's multi-line answer goes as one line (WhatsApp refuses
    newlines and empty values in a template's parameters)."""
    app = memory_app(channels=ALL_LIVE)
    processor = NotificationProcessor(app)
    processor.process(
        Upstream("intake").envelope(
            "c-4", complaint_filed=filed("ADU-2026-UUUUUU", channel=common_pb2.CHANNEL_WEB)
        )
    )
    processor.process(
        Upstream("routing").envelope(
            "c-4",
            reporter_answered=events_pb2.ReporterAnswered(
                office=office("KANTAH.32.73", "Kantor Pertanahan Kota Bandung"),
                text="Mohon datang ke loket 3.\n\nBawa KTP asli.",
            ),
        )
    )
    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-4"))
    answered = next(
        r for r in provider.requests if r.document["template"]["name"] == "aduan_officer_response"
    )
    parameters = [p["text"] for p in answered.document["template"]["components"][0]["parameters"]]
    assert parameters == [
        "ADU-2026-UUUUUU",
        "Kantor Pertanahan Kota Bandung",
        "Mohon datang ke loket 3. Bawa KTP asli.",
    ]


async def test_the_canary_never_reaches_the_store_or_the_logs(
    tmp_path: Path,
    provider: StandInProvider,
    intake_server: FakeIntake,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    provider.failures_per_key = [Answer(500)]
    store = tmp_path / "notification.sqlite"
    app = sqlite_app(store, channels=ALL_LIVE, retry_policy=FAST_RETRIES)
    processor = NotificationProcessor(app)
    for envelope in story(Upstream("intake"), Upstream("routing"), "c-5", "ADU-2026-VVVVVV"):
        processor.process(envelope)
    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-5"))
    assert set(statuses(app, "c-5")) == {DeliveryStatus.SENT}
    # The provider did receive the contact: it was used, just never kept.
    assert any(r.document.get("to") == CANARY.phone.lstrip("+") for r in provider.requests)
    assert any(CANARY.name in str(r.document) for r in provider.requests)
    app.close()

    stored = store_bytes(store)
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    for canary in CANARY_STRINGS:
        assert canary.encode() not in stored, canary
        assert canary not in logged, canary


def _strings(value: object) -> list[str]:
    """Every string in a decoded JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


async def test_the_service_keeps_no_contact_cache(
    tmp_path: Path, provider: StandInProvider, intake_server: FakeIntake
) -> None:
    """A reporter's delivery names the reporter by id; the contact is asked of intake for every
    send and never kept, nor the message rendered with it; so once intake erased the reporter,
    the next message is skipped, not sent to a remembered number (docs/security.md, the
    personal-data inventory)."""
    store = tmp_path / "notification.sqlite"
    app = sqlite_app(store, channels=ALL_LIVE, retry_policy=FAST_RETRIES)
    processor = NotificationProcessor(app)
    intake, routing = Upstream("intake"), Upstream("routing")
    for envelope in story(intake, routing, "c-7", "ADU-2026-KKKKKK"):
        processor.process(envelope)
    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-7"))

    reporter = [d for d in app.list_deliveries("c-7") if d.recipient_kind.value == "REPORTER"]
    assert reporter
    assert {d.status for d in reporter} == {DeliveryStatus.SENT}
    # ComplaintFiled's reporter id and masked contact (`filed`), never the contact itself.
    assert {(d.recipient, d.recipient_masked) for d in reporter} == {("rep-1", "+62812****0001")}
    events = [app.decode(n) for n in app.read_notifications(0, 10_000)]
    scheduled = [
        e for e in events if isinstance(e, Delivery.Scheduled) and e.recipient_kind == "REPORTER"
    ]
    assert len(scheduled) == len(reporter)
    assert {event.recipient for event in scheduled} == {"rep-1"}
    # One reveal per message sent to the reporter: asked at send time, every time.
    assert len(intake_server.calls) == len(reporter)
    # What the provider was given, rendered with the reporter's name and number, is not kept.
    rendered = [
        text
        for request in provider.requests
        for text in _strings(request.document)
        if CANARY.name in text or CANARY.phone.lstrip("+") in text
    ]
    assert rendered
    stored = store_bytes(store)
    for text in rendered:
        assert text.encode() not in stored, text

    sent_before = len(provider.requests)
    intake_server.erased.add("c-7")
    processor.process(
        intake.envelope(
            "c-7",
            status_requested=events_pb2.StatusRequested(channel=common_pb2.CHANNEL_WHATSAPP),
        )
    )
    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-7"))
    [reply] = [d for d in app.list_deliveries("c-7") if d.status is DeliveryStatus.SKIPPED]
    assert (reply.template, reply.skip_reason) == ("status_reply", "ERASED")
    assert len(provider.requests) == sent_before
    app.close()
