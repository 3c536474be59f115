"""Adapter: notification's stored events -> the published aduan.v1 payloads.

Every Delivery event is published (positions stay dense). An operator's retry (Rescheduled) is
published as a second DeliveryScheduled for the same delivery id; a provider's status report
(StatusReported) as DeliveryStatusReported.
"""

from __future__ import annotations

from typing import Any

from aduan.contract.envelopes import EnvelopeTranslator, timestamp
from aduan.v1 import events_pb2
from aduan_notification.domain import Delivery

SERVICE = "notification"


def recipient_kind(value: str) -> Any:
    return events_pb2.RecipientKind.Value(f"RECIPIENT_KIND_{value}")


def delivery_channel(value: str) -> Any:
    return events_pb2.DeliveryChannel.Value(f"DELIVERY_CHANNEL_{value}")


def _scheduled(event: Any) -> events_pb2.DeliveryScheduled:
    return events_pb2.DeliveryScheduled(
        delivery_id=str(event.originator_id),
        recipient_kind=recipient_kind(event.recipient_kind),
        recipient=event.recipient,
        channel=delivery_channel(event.channel),
        template=event.template,
        language=event.language,
        source_event_id=event.source_event_id,
        idempotency_key=event.idempotency_key,
    )


def _attempted(event: Any) -> events_pb2.DeliveryAttempted:
    return events_pb2.DeliveryAttempted(delivery_id=str(event.originator_id), attempt=event.attempt)


def _sent(event: Any) -> events_pb2.DeliverySent:
    return events_pb2.DeliverySent(
        delivery_id=str(event.originator_id),
        attempt=event.attempt,
        provider_message_id=event.provider_message_id,
    )


def _failed(event: Any) -> events_pb2.DeliveryFailed:
    failed = events_pb2.DeliveryFailed(
        delivery_id=str(event.originator_id), attempt=event.attempt, error=event.error
    )
    if event.retry_at is not None:
        failed.retry_at.CopyFrom(timestamp(event.retry_at))
    return failed


def _gave_up(event: Any) -> events_pb2.DeliveryGaveUp:
    return events_pb2.DeliveryGaveUp(
        delivery_id=str(event.originator_id), attempts=event.attempts, last_error=event.last_error
    )


def _skipped(event: Any) -> events_pb2.DeliverySkipped:
    return events_pb2.DeliverySkipped(delivery_id=str(event.originator_id), reason=event.reason)


def _status_reported(event: Any) -> events_pb2.DeliveryStatusReported:
    reported = events_pb2.DeliveryStatusReported(
        delivery_id=str(event.originator_id),
        status=f"PROVIDER_STATUS_{event.status}",
        provider_message_id=event.provider_message_id,
        error=event.error,
    )
    if event.reported_at is not None:
        reported.reported_at.CopyFrom(timestamp(event.reported_at))
    return reported


def translator() -> EnvelopeTranslator:
    return EnvelopeTranslator(
        SERVICE,
        {
            Delivery.Scheduled: _scheduled,
            Delivery.Rescheduled: _scheduled,
            Delivery.Attempted: _attempted,
            Delivery.Sent: _sent,
            Delivery.Failed: _failed,
            Delivery.GaveUp: _gave_up,
            Delivery.Skipped: _skipped,
            Delivery.StatusReported: _status_reported,
        },
    )
