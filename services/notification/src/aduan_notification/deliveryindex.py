"""An in-memory view of notification's own log: the deliveries of each complaint, and the ones
the sender still has to work on (with when each is due).

Rebuilt from the log at start (so deliveries left ATTEMPTING by a crash, or by another replica
that led before, are found again) and caught up before every use. An ATTEMPTING WhatsApp delivery
is due only after the confirmation grace period (domain.resend_after): until then a status report
may still show that the provider has it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.persistence import Notification

from aduan_notification.domain import Delivery, DeliveryChannel, DeliveryStatus, resend_after

CATCH_UP_PAGE = 500


class DeliveryLog(Protocol):
    """The service's notification log, as the index reads it (the application is one)."""

    def read_notifications(self, after: int, limit: int) -> Sequence[Notification]: ...

    def decode(self, notification: Notification) -> Any: ...


@dataclass
class _Pending:
    status: DeliveryStatus
    due_at: datetime | None
    channel: DeliveryChannel


class DeliveryIndex:
    def __init__(self, log: DeliveryLog, *, confirm_grace_seconds: float, since: datetime) -> None:
        """`confirm_grace_seconds` and `since` as for domain.resend_after: the grace an in-doubt
        WhatsApp send waits, counted at the earliest from `since`, when this instance started
        taking the provider's status reports."""
        self.log = log
        self.confirm_grace_seconds = confirm_grace_seconds
        self.since = since
        self.position = 0
        self._by_complaint: dict[str, list[uuid.UUID]] = {}
        self._pending: dict[uuid.UUID, _Pending] = {}
        self._lock = threading.Lock()

    def catch_up(self) -> int:
        with self._lock:
            while True:
                notifications = self.log.read_notifications(self.position, CATCH_UP_PAGE)
                for notification in notifications:
                    self._apply(self.log.decode(notification))
                    self.position = notification.id
                if len(notifications) < CATCH_UP_PAGE:
                    # A short page is the end of the log: no second query to learn so.
                    return self.position

    def _apply(self, event: Any) -> None:
        delivery_id = event.originator_id
        if isinstance(event, Delivery.Scheduled):
            self._by_complaint.setdefault(event.complaint_id, []).append(delivery_id)
            self._pending[delivery_id] = _Pending(
                DeliveryStatus.SCHEDULED, event.due_at, DeliveryChannel(event.channel)
            )
        elif isinstance(event, Delivery.Rescheduled):
            self._pending[delivery_id] = _Pending(
                DeliveryStatus.SCHEDULED, event.due_at, DeliveryChannel(event.channel)
            )
        elif isinstance(event, Delivery.Attempted | Delivery.Failed):
            pending = self._pending.get(delivery_id)
            if pending is None:
                return  # finished already (a report recorded it as sent); nothing to do
            if isinstance(event, Delivery.Failed):
                self._pending[delivery_id] = _Pending(
                    DeliveryStatus.FAILED, event.retry_at, pending.channel
                )
            else:
                due_at = resend_after(
                    pending.channel, event.timestamp, self.confirm_grace_seconds, self.since
                )
                self._pending[delivery_id] = _Pending(
                    DeliveryStatus.ATTEMPTING, due_at, pending.channel
                )
        elif isinstance(event, Delivery.Sent | Delivery.GaveUp | Delivery.Skipped):
            self._pending.pop(delivery_id, None)

    def by_complaint(self, complaint_id: str) -> list[uuid.UUID]:
        self.catch_up()
        with self._lock:
            return list(self._by_complaint.get(complaint_id, []))

    def due(
        self, now: datetime, exclude: Sequence[uuid.UUID] | set[uuid.UUID], limit: int
    ) -> list[uuid.UUID]:
        """Deliveries to work on now, oldest first: due SCHEDULED/FAILED ones and ATTEMPTING ones
        nobody in this process is working on (interrupted by a crash), WhatsApp ones once their
        confirmation grace period has passed."""
        excluded = set(exclude)
        with self._lock:
            ready = [
                (pending.due_at or now, delivery_id)
                for delivery_id, pending in self._pending.items()
                if delivery_id not in excluded
                and pending.status is not DeliveryStatus.GAVE_UP
                and (pending.due_at is None or pending.due_at <= now)
            ]
        ready.sort()
        return [delivery_id for _, delivery_id in ready[:limit]]

    def next_due_at(self, exclude: set[uuid.UUID]) -> datetime | None:
        with self._lock:
            times = [
                p.due_at
                for i, p in self._pending.items()
                if i not in exclude and p.due_at is not None
            ]
        return min(times) if times else None

    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)
