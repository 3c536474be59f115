"""gRPC adapter for aduan.v1.Notification: ListDeliveries, RetryDelivery, PreviewTemplate,
RecordProviderStatus.

Callers authenticate with a bearer token (`aduan.service.auth`); `NOTIFICATION_POLICY` names the roles.
Deliveries name reporters by id and offices by code, never a contact, so they are not scoped by
office: supervisors, auditors and administrators see them, administrators retry them. Provider
status reports come from intake (which receives WhatsApp's webhooks) under its own service
identity, `service:intake`, the one service admitted; administrators may record one by hand.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import grpc

from aduan.contract.envelopes import timestamp
from aduan.core.context import CommandContext
from aduan.core.errors import FieldViolation, PermissionDeniedError, ValidationError
from aduan.service.auth import (
    ADMIN,
    AUDITOR,
    SERVICE,
    STAFF,
    SUPERVISOR,
    Access,
    access,
    command_context,
    current_principal,
    policy,
)
from aduan.v1 import common_pb2, events_pb2, notification_pb2, notification_pb2_grpc
from aduan_notification.application import NotificationApplication
from aduan_notification.contract import SERVICE as SERVICE_NAME
from aduan_notification.contract import delivery_channel, recipient_kind
from aduan_notification.domain import Delivery, ProviderStatus

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def _stamp(moment: datetime | None) -> Any:
    return timestamp(moment) if moment is not None else None


def _status(delivery: Delivery) -> Any:
    return notification_pb2.DeliveryStatus.Value(f"DELIVERY_STATUS_{delivery.status.value}")


def delivery_message(delivery: Delivery) -> notification_pb2.Delivery:
    return notification_pb2.Delivery(
        delivery_id=str(delivery.id),
        complaint_id=delivery.complaint_id,
        recipient_kind=recipient_kind(delivery.recipient_kind.value),
        recipient=delivery.recipient,
        channel=delivery_channel(delivery.channel.value),
        template=delivery.template,
        language=delivery.language,
        status=_status(delivery),
        attempts=delivery.attempts,
        last_error=delivery.last_error,
        provider_message_id=delivery.provider_message_id,
        source_event_id=delivery.source_event_id,
        scheduled_at=timestamp(delivery.scheduled_at),
        next_attempt_at=_stamp(delivery.next_attempt_at),
        sent_at=_stamp(delivery.sent_at),
        skip_reason=delivery.skip_reason,
        delivered_at=_stamp(delivery.delivered_at),
        read_at=_stamp(delivery.read_at),
    )


def _offset(token: str) -> int:
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        offset = int(value)
    except ValueError:
        offset = -1
        kind = ""
    if kind != "o" or offset < 0:
        raise ValidationError(FieldViolation("page.page_token", "not a token from this service"))
    return offset


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


# The only service identity that may report providers' statuses: it receives their webhooks.
STATUS_SERVICE = "service:intake"

NOTIFICATION_POLICY: dict[str, Access] = policy(
    notification_pb2.DESCRIPTOR.services_by_name["Notification"].full_name,
    {
        "ListDeliveries": access(SUPERVISOR, AUDITOR, ADMIN),
        "RetryDelivery": access(ADMIN),
        "PreviewTemplate": access(*STAFF),
        # Intake (STATUS_SERVICE only; the servicer checks the subject) or an administrator.
        "RecordProviderStatus": access(SERVICE, ADMIN),
    },
)

# Provider statuses by their contract value.
PROVIDER_STATUSES = {
    events_pb2.PROVIDER_STATUS_SENT: ProviderStatus.SENT,
    events_pb2.PROVIDER_STATUS_DELIVERED: ProviderStatus.DELIVERED,
    events_pb2.PROVIDER_STATUS_READ: ProviderStatus.READ,
    events_pb2.PROVIDER_STATUS_FAILED: ProviderStatus.FAILED,
}
# Bounds of what a report may carry into the store (WhatsApp's ids are under 100 characters).
MAX_ID = 200
MAX_ERROR = 500
# Timestamp.seconds of 0001-01-01 and 9999-12-31T23:59:59 (protobuf's valid range).
MIN_SECONDS, MAX_SECONDS = -62135596800, 253402300799


def _reported_at(request: notification_pb2.RecordProviderStatusRequest) -> datetime | None:
    if not request.HasField("reported_at"):
        return None
    stamp = request.reported_at
    if not (MIN_SECONDS <= stamp.seconds <= MAX_SECONDS and 0 <= stamp.nanos < 1_000_000_000):
        raise ValidationError(FieldViolation("reported_at", "not a valid timestamp"))
    return stamp.ToDatetime(tzinfo=UTC)


def _status_report(
    request: notification_pb2.RecordProviderStatusRequest,
) -> tuple[ProviderStatus, datetime | None]:
    violations = []
    status = PROVIDER_STATUSES.get(request.status)
    if status is None:
        violations.append(FieldViolation("status", "must be SENT, DELIVERED, READ or FAILED"))
    if not request.provider_message_id:
        violations.append(FieldViolation("provider_message_id", "required"))
    for name, value, limit in (
        ("delivery_id", request.delivery_id, MAX_ID),
        ("provider_message_id", request.provider_message_id, MAX_ID),
        ("error", request.error, MAX_ERROR),
    ):
        if len(value) > limit:
            violations.append(FieldViolation(name, f"at most {limit} characters"))
    if violations:
        raise ValidationError(violations)
    assert status is not None
    return status, _reported_at(request)


def caller_context(context: grpc.aio.ServicerContext[Any, Any]) -> CommandContext:
    """The authenticated caller as the actor, plus correlation and trace context."""
    return command_context(context.invocation_metadata())


class NotificationServicer(notification_pb2_grpc.NotificationServicer):
    def __init__(
        self, app: NotificationApplication, on_retry: Callable[[], None] | None = None
    ) -> None:
        self.app = app
        self.on_retry = on_retry

    async def ListDeliveries(  # noqa: N802 - gRPC method name
        self,
        request: notification_pb2.ListDeliveriesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> notification_pb2.ListDeliveriesResponse:
        size = request.page.page_size or DEFAULT_PAGE_SIZE
        if size < 0 or size > MAX_PAGE_SIZE:
            raise ValidationError(
                FieldViolation("page.page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
            )
        offset = _offset(request.page.page_token)
        deliveries = await asyncio.to_thread(self.app.list_deliveries, request.complaint_id)
        page = deliveries[offset : offset + size]
        more = offset + size < len(deliveries)
        return notification_pb2.ListDeliveriesResponse(
            deliveries=[delivery_message(d) for d in page],
            page=common_pb2.PageResponse(next_page_token=_token(offset + size) if more else ""),
        )

    async def RetryDelivery(  # noqa: N802 - gRPC method name
        self,
        request: notification_pb2.RetryDeliveryRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> notification_pb2.RetryDeliveryResponse:
        if not request.delivery_id:
            raise ValidationError(FieldViolation("delivery_id", "required"))
        delivery, position = await asyncio.to_thread(
            self.app.retry_delivery, request.delivery_id, caller_context(context)
        )
        if self.on_retry is not None:
            self.on_retry()
        return notification_pb2.RetryDeliveryResponse(
            delivery=delivery_message(delivery),
            position=common_pb2.EventPosition(service=SERVICE_NAME, position=position),
        )

    async def RecordProviderStatus(  # noqa: N802 - gRPC method name
        self,
        request: notification_pb2.RecordProviderStatusRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> notification_pb2.RecordProviderStatusResponse:
        principal = current_principal()
        if principal.role == SERVICE and principal.sub != STATUS_SERVICE:
            raise PermissionDeniedError(f"{principal.sub} may not report delivery statuses")
        status, reported_at = _status_report(request)
        ctx = caller_context(context)
        delivery, changed = await asyncio.to_thread(
            lambda: self.app.record_provider_status(
                delivery_id=request.delivery_id,
                provider_message_id=request.provider_message_id,
                status=status,
                reported_at=reported_at,
                error=request.error,
                ctx=ctx,
            )
        )
        return notification_pb2.RecordProviderStatusResponse(
            delivery=delivery_message(delivery), changed=changed
        )

    async def PreviewTemplate(  # noqa: N802 - gRPC method name
        self,
        request: notification_pb2.PreviewTemplateRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> notification_pb2.PreviewTemplateResponse:
        if not request.template:
            raise ValidationError(FieldViolation("template", "required"))
        channel = ""
        if request.channel not in (
            events_pb2.DELIVERY_CHANNEL_UNSPECIFIED,
            events_pb2.DELIVERY_CHANNEL_LOG,
        ):
            try:
                name = events_pb2.DeliveryChannel.Name(request.channel)
            except ValueError:
                raise ValidationError(
                    FieldViolation("channel", f"{request.channel} is not a delivery channel")
                ) from None
            channel = str(name).removeprefix("DELIVERY_CHANNEL_")
        rendered = self.app.catalog.preview(
            request.template, request.language or "id", channel, dict(request.variables)
        )
        return notification_pb2.PreviewTemplateResponse(
            subject=rendered.subject, body=rendered.body, version=rendered.version
        )
