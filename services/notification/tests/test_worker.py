"""The sender worker against the stand-in provider and a fake intake: exactly one successful send
per recipient, through failures, redeliveries, erasure and a crash between send and record."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from aduan.context import Actor, CommandContext
from aduan.store import DuplicateEventError
from aduan.v1 import common_pb2, events_pb2
from aduan_notification.application import NotificationApplication
from aduan_notification.consumer import NotificationProcessor, upstream_event
from aduan_notification.domain import DeliveryChannel, DeliveryStatus, RetryPolicy
from aduan_notification.testing import (
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


async def test_a_send_interrupted_before_it_was_recorded_is_repeated_with_the_same_key(
    tmp_path: Path, provider: StandInProvider, intake_server: FakeIntake
) -> None:
    store = tmp_path / "notification.sqlite"
    first = sqlite_app(store, channels=ALL_LIVE)
    [delivery] = first.react(
        upstream_event(Upstream("intake").envelope("c-7", complaint_filed=filed("ADU-2026-XXXXXX")))
    )
    # The process records the attempt, the provider accepts the message ... and the process dies.
    _, attempt = first.record_attempt(delivery.id)
    crashed = stand_in_worker(first, provider, intake_server)
    message = crashed._message(delivery, await crashed.contacts.reporter_contact("c-7", "test"))
    assert message is not None
    await crashed.senders[DeliveryChannel.WHATSAPP].send(message)
    first.close()
    assert provider.sends == 1

    restarted = sqlite_app(store, channels=ALL_LIVE)
    assert restarted.get_delivery(delivery.id).status is DeliveryStatus.ATTEMPTING
    await run_worker_until(
        stand_in_worker(restarted, provider, intake_server), all_final(restarted, "c-7")
    )
    recovered = restarted.get_delivery(delivery.id)
    assert recovered.status is DeliveryStatus.SENT
    assert recovered.attempts == attempt + 1
    assert provider.requests_for(delivery.provider_key) == 2
    assert provider.sends == 1
    assert provider.accept_counts[delivery.provider_key] == 1


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
