"""RecordProviderStatus over in-process gRPC (WhatsApp's status webhooks, forwarded by intake):
who may call it, how a delivery is found, statuses moving forward only, a delivery left
ATTEMPTING by a dead sender recorded as sent and never sent again, and a reporter's message that
could not be delivered told to the holding office. The aggregate's rules: test_domain.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from aduan.core.context import Actor, CommandContext
from aduan.service.auth import (
    AuthInterceptor,
    DevTokens,
    TokenVerifier,
    bearer_interceptors,
    bearer_metadata,
)
from aduan.service.grpcerrors import ErrorMappingInterceptor
from aduan.v1 import events_pb2, notification_pb2, notification_pb2_grpc
from aduan_devtools.testing.notification import (
    ALL_LIVE,
    FakeIntake,
    StandInProvider,
    Upstream,
    filed,
    memory_app,
    office,
    run_worker_until,
    sqlite_app,
    stand_in_worker,
)
from aduan_notification.application import NotificationApplication
from aduan_notification.consumer import NotificationProcessor
from aduan_notification.contract import translator
from aduan_notification.domain import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    ProviderStatus,
    RecipientKind,
)
from aduan_notification.servicer import NOTIFICATION_POLICY, NotificationServicer

pytestmark = pytest.mark.integration
SECRET = "notification-status-tests-secret-012345"
TOKENS = DevTokens(SECRET)
INTAKE = TOKENS.issue("service", sub="service:intake")


@asynccontextmanager
async def served(
    app: NotificationApplication,
) -> AsyncIterator[notification_pb2_grpc.NotificationStub]:
    server = grpc.aio.server(
        interceptors=[
            AuthInterceptor(TokenVerifier(secret=SECRET), [NOTIFICATION_POLICY]),
            ErrorMappingInterceptor(),
        ]
    )
    notification_pb2_grpc.add_NotificationServicer_to_server(NotificationServicer(app), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    # Calls without a token of their own come from intake.
    channel = grpc.aio.insecure_channel(
        f"127.0.0.1:{port}", interceptors=bearer_interceptors(lambda: INTAKE)
    )
    try:
        yield notification_pb2_grpc.NotificationStub(channel)
    finally:
        await channel.close()
        await server.stop(0)


def status_request(
    status: Any, *, delivery_id: str = "", message_id: str = "", error: str = "", at: int = 0
) -> notification_pb2.RecordProviderStatusRequest:
    request = notification_pb2.RecordProviderStatusRequest(
        delivery_id=delivery_id, provider_message_id=message_id, status=status, error=error
    )
    if at:
        request.reported_at.CopyFrom(Timestamp(seconds=at))
    return request


def complaint(app: NotificationApplication, complaint_id: str, ticket: str) -> None:
    """Filed by WhatsApp and routed to KANTAH.32.73."""
    processor = NotificationProcessor(app)
    processor.process(Upstream("intake").envelope(complaint_id, complaint_filed=filed(ticket)))
    processor.process(
        Upstream("routing").envelope(
            complaint_id,
            case_routed=events_pb2.CaseRouted(to_office=office("KANTAH.32.73", "Kantah Bandung")),
        )
    )


def by_template(app: NotificationApplication, complaint_id: str) -> dict[str, list[Delivery]]:
    found: dict[str, list[Delivery]] = {}
    for delivery in app.list_deliveries(complaint_id):
        found.setdefault(delivery.template, []).append(delivery)
    return found


def all_final(app: NotificationApplication, complaint_id: str) -> Any:
    final = {DeliveryStatus.SENT, DeliveryStatus.SKIPPED, DeliveryStatus.GAVE_UP}
    return lambda: all(d.status in final for d in app.list_deliveries(complaint_id))


@pytest.fixture
async def sent_app(
    provider: StandInProvider, intake_server: FakeIntake
) -> AsyncIterator[NotificationApplication]:
    """c-1 filed and routed, and its three messages sent through the stand-ins."""
    app = memory_app(channels=ALL_LIVE)
    complaint(app, "c-1", "ADU-2026-AAAAAA")
    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-1"))
    return app


async def test_statuses_move_forward_and_show_in_list_deliveries(
    sent_app: NotificationApplication, provider: StandInProvider
) -> None:
    [assigned] = by_template(sent_app, "c-1")["case_assigned"]
    key = str(assigned.id)
    async with served(sent_app) as stub:
        delivered = await stub.RecordProviderStatus(
            status_request(
                events_pb2.PROVIDER_STATUS_DELIVERED,
                delivery_id=key,
                message_id=assigned.provider_message_id,
                at=1_772_442_000,
            )
        )
        assert delivered.changed
        assert delivered.delivery.status == notification_pb2.DELIVERY_STATUS_DELIVERED
        assert delivered.delivery.delivered_at.seconds == 1_772_442_000
        for older in (events_pb2.PROVIDER_STATUS_DELIVERED, events_pb2.PROVIDER_STATUS_SENT):
            again = await stub.RecordProviderStatus(
                status_request(older, delivery_id=key, message_id=assigned.provider_message_id)
            )
            assert not again.changed
            assert again.delivery.status == notification_pb2.DELIVERY_STATUS_DELIVERED
        read = await stub.RecordProviderStatus(
            status_request(
                events_pb2.PROVIDER_STATUS_READ,
                delivery_id=key,
                message_id=assigned.provider_message_id,
                at=1_772_442_060,
            )
        )
        assert read.changed
        listed = await stub.ListDeliveries(
            notification_pb2.ListDeliveriesRequest(complaint_id="c-1"),
            metadata=bearer_metadata(TOKENS.issue("auditor", sub="auditor-1")),
        )
    [shown] = [d for d in listed.deliveries if d.delivery_id == key]
    assert shown.status == notification_pb2.DELIVERY_STATUS_READ
    assert shown.delivered_at.seconds == 1_772_442_000
    assert shown.read_at.seconds == 1_772_442_060
    assert shown.provider_message_id == provider.message_ids[key]

    # Published as DeliveryStatusReported, acted by intake, in the delivery's correlation.
    contract = translator()
    published = [
        contract.translate(n, sent_app.decode(n)) for n in sent_app.read_notifications(0, 1000)
    ]
    reports = [e for e in published if e is not None and e.event_type == "DeliveryStatusReported"]
    assert [e.delivery_status_reported.status for e in reports] == [
        events_pb2.PROVIDER_STATUS_DELIVERED,
        events_pb2.PROVIDER_STATUS_READ,
    ]
    assert reports[0].delivery_status_reported.delivery_id == key
    assert reports[0].delivery_status_reported.reported_at.seconds == 1_772_442_000
    assert reports[0].actor.id == "service:intake"
    assert reports[0].complaint_id == "c-1"
    scheduled = next(
        e for e in published if e is not None and e.delivery_scheduled.delivery_id == key
    )
    assert reports[0].correlation_id == scheduled.correlation_id


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_a_status_naming_only_the_message_id_finds_its_delivery(
    tmp_path: Path, provider: StandInProvider, intake_server: FakeIntake, store: str
) -> None:
    app = (
        memory_app(channels=ALL_LIVE)
        if store == "memory"
        else sqlite_app(tmp_path / "n.sqlite", channels=ALL_LIVE)
    )
    complaint(app, "c-2", "ADU-2026-BBBBBB")
    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-2"))
    [filed_message] = by_template(app, "c-2")["complaint_filed"]
    async with served(app) as stub:
        response = await stub.RecordProviderStatus(
            status_request(
                events_pb2.PROVIDER_STATUS_READ, message_id=filed_message.provider_message_id
            )
        )
        # A callback value that is not one of ours falls back to the message id too.
        again = await stub.RecordProviderStatus(
            status_request(
                events_pb2.PROVIDER_STATUS_READ,
                delivery_id="not-a-delivery",
                message_id=filed_message.provider_message_id,
            )
        )
    assert response.changed
    assert not again.changed
    assert response.delivery.delivery_id == str(filed_message.id)
    assert response.delivery.status == notification_pb2.DELIVERY_STATUS_READ
    app.close()


async def test_unknown_deliveries_are_not_found_and_bad_reports_invalid(
    sent_app: NotificationApplication,
) -> None:
    async with served(sent_app) as stub:
        for request in (
            status_request(events_pb2.PROVIDER_STATUS_SENT, message_id="wamid.unknown"),
            status_request(
                events_pb2.PROVIDER_STATUS_SENT,
                delivery_id="7d3c0b8e-0000-4000-8000-000000000000",
                message_id="wamid.unknown",
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await stub.RecordProviderStatus(request)
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        for request in (
            status_request(events_pb2.PROVIDER_STATUS_UNSPECIFIED, message_id="wamid.1"),
            status_request(events_pb2.PROVIDER_STATUS_SENT),
            status_request(events_pb2.PROVIDER_STATUS_FAILED, message_id="w" * 201),
            status_request(
                events_pb2.PROVIDER_STATUS_FAILED, message_id="wamid.1", error="e" * 501
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as invalid:
                await stub.RecordProviderStatus(request)
            assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        out_of_range = status_request(events_pb2.PROVIDER_STATUS_SENT, message_id="wamid.1")
        out_of_range.reported_at.seconds = 10**12
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await stub.RecordProviderStatus(out_of_range)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_only_intake_and_administrators_may_report_statuses(
    sent_app: NotificationApplication,
) -> None:
    [filed_message] = by_template(sent_app, "c-1")["complaint_filed"]
    request = status_request(
        events_pb2.PROVIDER_STATUS_DELIVERED, message_id=filed_message.provider_message_id
    )
    async with served(sent_app) as stub:
        for token in (
            TOKENS.issue("service", sub="service:notification"),
            TOKENS.issue("service", sub="service:routing"),
            TOKENS.issue("officer", "KANTAH.32.73", sub="officer-1"),
            TOKENS.issue("supervisor", "KANWIL.32", sub="supervisor-1"),
            TOKENS.issue("gateway", sub="gateway:whatsapp"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await stub.RecordProviderStatus(request, metadata=bearer_metadata(token))
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert sent_app.get_delivery(filed_message.id).status is DeliveryStatus.SENT
        by_admin = await stub.RecordProviderStatus(
            request, metadata=bearer_metadata(TOKENS.issue("admin", sub="admin-1"))
        )
        assert by_admin.changed
        assert by_admin.delivery.status == notification_pb2.DELIVERY_STATUS_DELIVERED


async def test_a_failed_message_to_the_reporter_is_told_to_the_holding_office(
    sent_app: NotificationApplication, provider: StandInProvider, intake_server: FakeIntake
) -> None:
    templates = by_template(sent_app, "c-1")
    [assigned] = templates["case_assigned"]
    [office_message] = templates["office_case_assigned"]
    async with served(sent_app) as stub:
        failed = await stub.RecordProviderStatus(
            status_request(
                events_pb2.PROVIDER_STATUS_FAILED,
                message_id=assigned.provider_message_id,
                error="131026 Message undeliverable",
            )
        )
        repeated = await stub.RecordProviderStatus(
            status_request(
                events_pb2.PROVIDER_STATUS_FAILED, message_id=assigned.provider_message_id
            )
        )
        late_read = await stub.RecordProviderStatus(
            status_request(events_pb2.PROVIDER_STATUS_READ, message_id=assigned.provider_message_id)
        )
        # An office's message reported failed (by an administrator) tells nobody else.
        office_failed = await stub.RecordProviderStatus(
            status_request(
                events_pb2.PROVIDER_STATUS_FAILED,
                delivery_id=str(office_message.id),
                message_id=office_message.provider_message_id,
            )
        )
    assert failed.changed
    assert failed.delivery.status == notification_pb2.DELIVERY_STATUS_UNDELIVERED
    assert failed.delivery.last_error == "131026 Message undeliverable"
    assert not repeated.changed
    assert not late_read.changed
    assert office_failed.changed
    assert office_failed.delivery.status == notification_pb2.DELIVERY_STATUS_UNDELIVERED

    [notice] = by_template(sent_app, "c-1")["office_delivery_failed"]
    assert notice.recipient_kind is RecipientKind.OFFICE
    assert notice.recipient == "KANTAH.32.73"
    assert notice.variables == {
        "ticket_number": "ADU-2026-AAAAAA",
        "complaint_id": "c-1",
        "office_name": "Kantah Bandung",
        "template_label": sent_app.catalog.get("case_assigned").label("id"),
    }
    assert notice.source_event_type == "DeliveryStatusReported"
    assert notice.status is DeliveryStatus.SCHEDULED

    await run_worker_until(
        stand_in_worker(sent_app, provider, intake_server),
        lambda: sent_app.get_delivery(notice.id).status is DeliveryStatus.SENT,
    )
    [webhook] = [r for r in provider.requests if r.key == str(notice.id)]
    assert webhook.path == "/webhook"
    assert webhook.document["template"] == "office_delivery_failed"
    assert webhook.document["office_code"] == "KANTAH.32.73"
    assert sent_app.catalog.get("case_assigned").label("id") in webhook.document["text"]


async def test_a_failure_before_any_office_holds_the_complaint_tells_nobody(
    provider: StandInProvider, intake_server: FakeIntake
) -> None:
    app = memory_app(channels=ALL_LIVE)
    NotificationProcessor(app).process(
        Upstream("intake").envelope("c-5", complaint_filed=filed("ADU-2026-EEEEEE"))
    )
    await run_worker_until(stand_in_worker(app, provider, intake_server), all_final(app, "c-5"))
    [filed_message] = app.list_deliveries("c-5")
    async with served(app) as stub:
        failed = await stub.RecordProviderStatus(
            status_request(
                events_pb2.PROVIDER_STATUS_FAILED, message_id=filed_message.provider_message_id
            )
        )
    assert failed.delivery.status == notification_pb2.DELIVERY_STATUS_UNDELIVERED
    assert [d.template for d in app.list_deliveries("c-5")] == ["complaint_filed"]


async def test_a_status_for_a_send_interrupted_before_it_was_recorded_stops_the_repeat(
    tmp_path: Path, provider: StandInProvider, intake_server: FakeIntake
) -> None:
    """The takeover case: the sender recorded Attempted, the Cloud API (which does not
    deduplicate) accepted the message, and the sender died before recording Sent. The status
    webhook of that message reaches notification before the restarted sender repeats it: the
    delivery is recorded as sent, and nothing more is sent."""
    provider.dedupe = False
    store = tmp_path / "notification.sqlite"
    first = sqlite_app(store, channels=ALL_LIVE)
    NotificationProcessor(first).process(
        Upstream("intake").envelope("c-7", complaint_filed=filed("ADU-2026-XXXXXX"))
    )
    [delivery] = first.list_deliveries("c-7")
    _, attempt = first.record_attempt(delivery.id)
    crashed = stand_in_worker(first, provider, intake_server)
    message = crashed._message(delivery, await crashed.contacts.reporter_contact("c-7", "test"))
    assert message is not None
    message_id = await crashed.senders[DeliveryChannel.WHATSAPP].send(message)
    await crashed.contacts.close()
    for sender in crashed.senders.values():
        await sender.close()
    first.close()  # ... and the process died

    restarted = sqlite_app(store, channels=ALL_LIVE)
    assert restarted.get_delivery(delivery.id).status is DeliveryStatus.ATTEMPTING
    async with served(restarted) as stub:
        response = await stub.RecordProviderStatus(
            status_request(
                events_pb2.PROVIDER_STATUS_DELIVERED,
                delivery_id=str(delivery.id),
                message_id=message_id,
            )
        )
    assert response.changed
    assert response.delivery.status == notification_pb2.DELIVERY_STATUS_DELIVERED
    assert response.delivery.provider_message_id == message_id
    assert response.delivery.attempts == attempt
    assert restarted.index.due(restarted.clock(), set(), 10) == []

    worker = stand_in_worker(restarted, provider, intake_server)
    await run_worker_until(worker, lambda: True)
    await asyncio.sleep(0.3)  # the worker would have picked it up by now
    assert provider.requests_for(str(delivery.id)) == 1
    assert provider.accept_counts[str(delivery.id)] == 1
    assert worker.sent == 0
    # The message id is in the index: a status naming only it finds the delivery.
    assert restarted.find_delivery("", message_id).id == delivery.id
    restarted.close()


async def test_a_status_that_overtakes_the_senders_own_record_is_no_error(
    provider: StandInProvider, intake_server: FakeIntake, caplog: pytest.LogCaptureFixture
) -> None:
    """The status webhook can arrive before the sender has stored the provider's answer: the
    report records the Sent, and the sender's own record of it is then no change."""
    caplog.set_level(logging.WARNING)
    provider.hold_after = 1
    app = memory_app(channels=ALL_LIVE)
    NotificationProcessor(app).process(
        Upstream("intake").envelope("c-8", complaint_filed=filed("ADU-2026-WWWWWW"))
    )
    [delivery] = app.list_deliveries("c-8")
    key = str(delivery.id)
    worker = stand_in_worker(app, provider, intake_server)
    task = asyncio.create_task(
        run_worker_until(worker, lambda: worker.sent == 1 and not worker._in_flight)
    )
    assert await asyncio.to_thread(provider.holding.wait, 10)
    reported, changed = await asyncio.to_thread(
        lambda: app.record_provider_status(
            delivery_id=key,
            provider_message_id=provider.message_ids[key],
            status=ProviderStatus.SENT,
            reported_at=None,
            error="",
            ctx=CommandContext(actor=Actor.service("intake")),
        )
    )
    assert changed
    assert reported.status is DeliveryStatus.SENT
    provider.release.set()
    await task
    stored = app.get_delivery(delivery.id)
    assert stored.status is DeliveryStatus.SENT
    assert stored.provider_message_id == provider.message_ids[key]
    sent_events = [
        n for n in app.read_notifications(0, 100) if isinstance(app.decode(n), Delivery.Sent)
    ]
    assert len(sent_events) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
