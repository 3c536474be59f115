"""WhatsApp status notifications (`entry[].changes[].value.statuses[]`: sent, delivered, read,
failed) arrive at intake's webhook, but they are about deliveries that the notification service
owns: intake forwards each to `aduan.v1.Notification/RecordProviderStatus` under its own service
identity. Parsing is transport-free; `NotificationStatusForwarder` is the gRPC adapter.

The delivery is named by `biz_opaque_callback_data` (the delivery id notification sent with the
message), else by the provider's message id. A status for a message notification never sent
(NOT_FOUND) is logged and answered "ignored"; notification unreachable makes the webhook answer
500, so that the gateway delivers the status again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc

from aduan.v1 import events_pb2, notification_pb2, notification_pb2_grpc

log = logging.getLogger(__name__)

PROVIDER_STATUSES = {
    "sent": events_pb2.PROVIDER_STATUS_SENT,
    "delivered": events_pb2.PROVIDER_STATUS_DELIVERED,
    "read": events_pb2.PROVIDER_STATUS_READ,
    "failed": events_pb2.PROVIDER_STATUS_FAILED,
}


@dataclass(frozen=True)
class StatusReport:
    provider_message_id: str
    status: str  # sent | delivered | read | failed, or another the provider may add
    delivery_id: str = ""
    reported_at: datetime | None = None
    error: str = ""  # code and title, never message content


@dataclass(frozen=True)
class StatusOutcome:
    provider_message_id: str
    action: str  # recorded | unchanged | ignored
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"status_id": self.provider_message_id, "action": self.action, "detail": self.detail}


def parse_statuses(payload: Any) -> list[StatusReport]:
    """The status notifications of a (structurally valid) webhook payload; malformed entries
    are skipped with a log line, since the messages beside them must still be handled."""
    reports: list[StatusReport] = []
    entries = payload.get("entry") if isinstance(payload, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            statuses = value.get("statuses") if isinstance(value, dict) else None
            for raw in statuses if isinstance(statuses, list) else []:
                report = _report(raw)
                if report is None:
                    log.warning("WhatsApp status notification without an id or status skipped")
                else:
                    reports.append(report)
    return reports


def _report(raw: Any) -> StatusReport | None:
    if not isinstance(raw, dict):
        return None
    message_id, status = raw.get("id"), raw.get("status")
    if not isinstance(message_id, str) or not message_id or not isinstance(status, str):
        return None
    callback = raw.get("biz_opaque_callback_data")
    reported_at = None
    stamp = raw.get("timestamp")
    if isinstance(stamp, str) and stamp.isdigit() and len(stamp) <= 12:
        reported_at = datetime.fromtimestamp(int(stamp), UTC)
    errors = raw.get("errors")
    error = ""
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code, title = errors[0].get("code", ""), errors[0].get("title", "")
        error = f"{code} {title if isinstance(title, str) else ''}".strip()[:200]
    return StatusReport(
        provider_message_id=message_id[:200],
        status=status.lower(),
        delivery_id=callback[:200] if isinstance(callback, str) else "",
        reported_at=reported_at,
        error=error,
    )


class NotificationStatusForwarder:
    """gRPC client of Notification/RecordProviderStatus; the channel (from `channel_factory`,
    `aduan.service.tls.service_channel` in production) carries TLS and intake's own token."""

    def __init__(
        self,
        address: str,
        channel_factory: Callable[[str], grpc.aio.Channel] = grpc.aio.insecure_channel,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.address = address
        self.channel_factory = channel_factory
        self.timeout_seconds = timeout_seconds
        self._channel: grpc.aio.Channel | None = None

    async def forward(self, report: StatusReport) -> StatusOutcome:
        """Raises grpc.aio.AioRpcError when notification cannot take it now (retry later)."""
        status = PROVIDER_STATUSES.get(report.status)
        if status is None:
            return StatusOutcome(
                report.provider_message_id, "ignored", f"status {report.status!r} is not tracked"
            )
        if self._channel is None:
            self._channel = self.channel_factory(self.address)
        request = notification_pb2.RecordProviderStatusRequest(
            delivery_id=report.delivery_id,
            provider_message_id=report.provider_message_id,
            status=status,
            error=report.error,
        )
        if report.reported_at is not None:
            request.reported_at.FromDatetime(report.reported_at)
        stub = notification_pb2_grpc.NotificationStub(self._channel)
        try:
            response = await stub.RecordProviderStatus(request, timeout=self.timeout_seconds)
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                log.info(
                    "WhatsApp status for no known delivery ignored",
                    extra={"status": report.status, "code": error.code().name},
                )
                return StatusOutcome(
                    report.provider_message_id, "ignored", f"{error.code().name}: no delivery"
                )
            raise
        action = "recorded" if response.changed else "unchanged"
        return StatusOutcome(report.provider_message_id, action)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
