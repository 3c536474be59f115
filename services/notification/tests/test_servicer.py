"""aduan.v1.Notification over in-process gRPC: ListDeliveries (by complaint id or ticket),
RetryDelivery, PreviewTemplate, and their errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from aduan.service.auth import (
    AuthInterceptor,
    DevTokens,
    TokenVerifier,
    bearer_interceptors,
    bearer_metadata,
)
from aduan.service.grpcerrors import ErrorMappingInterceptor
from aduan.v1 import common_pb2, events_pb2, notification_pb2, notification_pb2_grpc
from aduan_devtools.testing.notification import ALL_LIVE, Upstream, filed, memory_app, story
from aduan_notification.application import NotificationApplication
from aduan_notification.consumer import NotificationProcessor, upstream_event
from aduan_notification.servicer import NOTIFICATION_POLICY, NotificationServicer

pytestmark = pytest.mark.integration
SECRET = "notification-servicer-tests-secret-0123"
TOKENS = DevTokens(SECRET)


@pytest.fixture
async def served() -> AsyncIterator[
    tuple[NotificationApplication, notification_pb2_grpc.NotificationStub]
]:
    app = memory_app(channels=ALL_LIVE)
    server = grpc.aio.server(
        interceptors=[
            AuthInterceptor(TokenVerifier(secret=SECRET), [NOTIFICATION_POLICY]),
            ErrorMappingInterceptor(),
        ]
    )
    notification_pb2_grpc.add_NotificationServicer_to_server(NotificationServicer(app), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    # Calls without their own token come from an administrator.
    admin = bearer_interceptors(lambda: TOKENS.issue("admin", sub="admin-1"))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=admin)
    try:
        yield app, notification_pb2_grpc.NotificationStub(channel)
    finally:
        await channel.close()
        await server.stop(0)


async def test_list_deliveries_by_ticket_or_complaint_id_with_pages(served) -> None:  # type: ignore[no-untyped-def]
    app, stub = served
    processor = NotificationProcessor(app)
    for envelope in story(Upstream("intake"), Upstream("routing"), "c-1", "ADU-2026-AAAAAA"):
        processor.process(envelope)
    by_ticket = await stub.ListDeliveries(
        notification_pb2.ListDeliveriesRequest(complaint_id="adu-2026-aaaaaa")
    )
    by_id = await stub.ListDeliveries(notification_pb2.ListDeliveriesRequest(complaint_id="c-1"))
    assert len(by_ticket.deliveries) == len(by_id.deliveries) == 11
    first = by_ticket.deliveries[0]
    assert first.template == "complaint_filed"
    assert first.recipient_kind == events_pb2.RECIPIENT_KIND_REPORTER
    assert first.channel == events_pb2.DELIVERY_CHANNEL_WHATSAPP
    assert first.status == notification_pb2.DELIVERY_STATUS_SCHEDULED
    assert first.source_event_id == "intake:1"
    assert first.complaint_id == "c-1"
    assert first.scheduled_at.seconds > 0

    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListDeliveries(
            notification_pb2.ListDeliveriesRequest(
                complaint_id="c-1", page=common_pb2.PageRequest(page_size=4, page_token=token)
            )
        )
        seen.extend(d.delivery_id for d in page.deliveries)
        token = page.page.next_page_token
        if not token:
            break
    assert seen == [d.delivery_id for d in by_id.deliveries]


async def test_list_deliveries_errors(served) -> None:  # type: ignore[no-untyped-def]
    _, stub = served
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.ListDeliveries(
            notification_pb2.ListDeliveriesRequest(complaint_id="ADU-2026-NOPE00")
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await stub.ListDeliveries(notification_pb2.ListDeliveriesRequest())
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_retry_delivery_reschedules_a_given_up_delivery(served) -> None:  # type: ignore[no-untyped-def]
    app, stub = served
    [delivery] = app.react(
        upstream_event(Upstream("intake").envelope("c-2", complaint_filed=filed("ADU-2026-BBBBBB")))
    )
    with pytest.raises(grpc.aio.AioRpcError) as pending:
        await stub.RetryDelivery(
            notification_pb2.RetryDeliveryRequest(delivery_id=str(delivery.id))
        )
    assert pending.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    _, attempt = app.record_attempt(delivery.id)
    app.record_failure(delivery.id, attempt, "whatsapp HTTP 400", retryable=False)

    response = await stub.RetryDelivery(
        notification_pb2.RetryDeliveryRequest(delivery_id=str(delivery.id)),
        metadata=bearer_metadata(TOKENS.issue("admin", sub="officer-17")),
    )
    assert response.delivery.status == notification_pb2.DELIVERY_STATUS_SCHEDULED
    assert response.delivery.last_error == "whatsapp HTTP 400"
    assert response.position.service == "notification"
    assert response.position.position == app.head_position()
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stub.RetryDelivery(notification_pb2.RetryDeliveryRequest(delivery_id="nope"))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


async def test_preview_template(served) -> None:  # type: ignore[no-untyped-def]
    _, stub = served
    preview = await stub.PreviewTemplate(
        notification_pb2.PreviewTemplateRequest(
            template="case_resolved",
            language="en",
            channel=events_pb2.DELIVERY_CHANNEL_EMAIL,
            variables={"summary": "The certificate was reissued."},
        )
    )
    assert preview.subject == "Complaint ADU-2026-7KQ9M2 resolved"
    assert "The certificate was reissued." in preview.body
    assert "not solved" in preview.body  # what to do if it is not (the rating is asked by WhatsApp)
    assert len(preview.version) == 12
    default = await stub.PreviewTemplate(
        notification_pb2.PreviewTemplateRequest(template="complaint_filed")
    )
    assert default.body.startswith("Yth.")
    for request, code in [
        (notification_pb2.PreviewTemplateRequest(template="nope"), grpc.StatusCode.NOT_FOUND),
        (notification_pb2.PreviewTemplateRequest(), grpc.StatusCode.INVALID_ARGUMENT),
        (
            notification_pb2.PreviewTemplateRequest(template="case_closed", language="fr"),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            notification_pb2.PreviewTemplateRequest(template="case_closed", variables={"nik": "1"}),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.PreviewTemplate(request)
        assert caught.value.code() == code
