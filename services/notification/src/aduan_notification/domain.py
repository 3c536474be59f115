"""The Delivery aggregate: one message to one recipient over one channel, and what became of it.

Pure domain: no gRPC, NATS or protobuf. A delivery's id is derived from its idempotency key
(source event, recipient, channel), so the same upstream event can never schedule the same
message twice: a second `Delivery(...)` with that id collides in the store.

After the provider accepted a message (SENT), its status reports (WhatsApp's status webhooks,
forwarded by intake) move it forward only: SENT < DELIVERED < READ, or SENT -> UNDELIVERED when
the provider reports that it failed after all.

A send interrupted between the provider's acceptance and its record (the sender died: ATTEMPTING)
is in doubt. Over a channel whose provider deduplicates on the delivery id (email's Message-ID,
the office webhook's Idempotency-Key) it is repeated at once with the same key. WhatsApp's Cloud
API does not deduplicate but reports every accepted message (status webhooks carrying the
delivery id): there the repeat waits for the confirmation grace period, and a status report that
comes meanwhile records the delivery as sent instead (`resend_after`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from aduan.core.errors import InvalidStateError

DELIVERY_NAMESPACE = uuid.UUID("0c3f6a52-9d1e-4b8e-8f3a-5e2b7d9c1a64")


class RecipientKind(StrEnum):
    REPORTER = "REPORTER"
    OFFICE = "OFFICE"


class DeliveryChannel(StrEnum):
    WHATSAPP = "WHATSAPP"
    EMAIL = "EMAIL"
    OFFICE_WEBHOOK = "OFFICE_WEBHOOK"
    LOG = "LOG"


class DeliveryStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    ATTEMPTING = "ATTEMPTING"
    SENT = "SENT"
    FAILED = "FAILED"
    GAVE_UP = "GAVE_UP"
    SKIPPED = "SKIPPED"
    # Reported by the provider after it accepted the message.
    DELIVERED = "DELIVERED"
    READ = "READ"
    UNDELIVERED = "UNDELIVERED"


class SkipReason(StrEnum):
    ANONYMOUS = "ANONYMOUS"
    ERASED = "ERASED"
    NO_CONTACT = "NO_CONTACT"
    # An interactive message (a question list) can only be sent inside WhatsApp's 24-hour
    # customer-service window; there is no approved template to send instead.
    OUTSIDE_WINDOW = "OUTSIDE_WINDOW"


class ProviderStatus(StrEnum):
    """What the provider reports about a message it accepted."""

    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"


# The provider has the message: it is never sent again.
ACCEPTED_STATUSES = frozenset(
    {
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
        DeliveryStatus.UNDELIVERED,
    }
)
FINAL_STATUSES = ACCEPTED_STATUSES | {DeliveryStatus.GAVE_UP, DeliveryStatus.SKIPPED}
# Channels whose provider does not recognise a repeated send (the WhatsApp Cloud API ignores the
# Idempotency-Key) but reports each message it accepted, with the delivery id: a send left in
# doubt by a dead sender is not repeated before the confirmation grace period has passed.
CONFIRMED_BY_STATUS = frozenset({DeliveryChannel.WHATSAPP})
# Statuses only move forward along this order; UNDELIVERED is final.
_PROGRESS = {DeliveryStatus.SENT: 1, DeliveryStatus.DELIVERED: 2, DeliveryStatus.READ: 3}
_REPORTED = {
    ProviderStatus.SENT: DeliveryStatus.SENT,
    ProviderStatus.DELIVERED: DeliveryStatus.DELIVERED,
    ProviderStatus.READ: DeliveryStatus.READ,
}


def idempotency_key_for(
    source_event_id: str, recipient_kind: RecipientKind, recipient: str, channel: DeliveryChannel
) -> str:
    return f"{source_event_id}|{recipient_kind.value}:{recipient}|{channel.value}"


def delivery_id_for(idempotency_key: str) -> uuid.UUID:
    return uuid.uuid5(DELIVERY_NAMESPACE, idempotency_key)


def resend_after(
    channel: DeliveryChannel,
    attempted_at: datetime | None,
    grace_seconds: float,
    since: datetime | None = None,
) -> datetime | None:
    """When a send left in doubt (ATTEMPTING, nobody working on it: the sender died between
    recording the attempt and recording its outcome) may be repeated; None: at once.

    Over a channel confirmed by status reports (WhatsApp) the provider may have the message, and
    a repeat would reach the citizen twice: it waits `grace_seconds` for the provider's status
    report, counted from the attempt, or from `since` (when this instance started taking status
    reports) if that is later: reports that reached no running instance cannot have stopped it."""
    if channel not in CONFIRMED_BY_STATUS or grace_seconds <= 0 or attempted_at is None:
        return None
    start = max(attempted_at, since) if since is not None else attempted_at
    return start + timedelta(seconds=grace_seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, honouring the provider's Retry-After.

    The n-th failure of the current attempt budget waits base * 2**(n-1), capped, scaled by a
    random factor in [0.5, 1] ("equal jitter", so that a provider outage does not make every
    delivery come back at the same instant), and never less than Retry-After.
    """

    max_attempts: int = 6
    base_seconds: float = 5.0
    cap_seconds: float = 3600.0
    jitter: Callable[[], float] = random.random
    # How long a WhatsApp send left in doubt (a dead sender's ATTEMPTING delivery; a time-out)
    # waits for the provider's status report before it is sent again (resend_after).
    confirm_grace_seconds: float = 120.0

    def delay(self, failures: int, retry_after_seconds: float | None = None) -> float:
        backoff = min(self.cap_seconds, self.base_seconds * 2 ** max(0, failures - 1))
        jittered = float(backoff * (0.5 + self.jitter() / 2))
        if retry_after_seconds is not None:
            return max(float(retry_after_seconds), jittered)
        return jittered


class Delivery(Aggregate):
    """Scheduled -> attempting -> sent; or failed (retried later) ... -> gave up; or skipped."""

    class Event(Aggregate.Event):
        # Every event names its complaint: the envelope's complaint_id comes from here.
        complaint_id: str
        meta: dict[str, Any]

    class Scheduled(Aggregate.Created, Event):
        recipient_kind: str
        # Reporter id or office code: never a phone number or an address.
        recipient: str
        # Masked contact ("+62812****789") or office code, for logs and operators.
        recipient_masked: str
        channel: str
        template: str
        language: str
        source_event_id: str
        source_event_type: str
        idempotency_key: str
        variables: dict[str, str]
        due_at: datetime

    class Attempted(Event):
        attempt: int

        def apply(self, delivery: Delivery) -> None:
            delivery.attempts = self.attempt
            delivery.status = DeliveryStatus.ATTEMPTING
            delivery.attempted_at = self.timestamp
            delivery.next_attempt_at = None

    class Sent(Event):
        attempt: int
        provider_message_id: str

        def apply(self, delivery: Delivery) -> None:
            delivery.status = DeliveryStatus.SENT
            delivery.provider_message_id = self.provider_message_id
            delivery.sent_at = self.timestamp
            # Recorded from a provider's report, a failed attempt's retry is off.
            delivery.next_attempt_at = None

    class Failed(Event):
        attempt: int
        error: str
        # None when no retry follows (the delivery gives up next).
        retry_at: datetime | None

        def apply(self, delivery: Delivery) -> None:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = self.error
            delivery.next_attempt_at = self.retry_at

    class GaveUp(Event):
        attempts: int
        last_error: str

        def apply(self, delivery: Delivery) -> None:
            delivery.status = DeliveryStatus.GAVE_UP
            delivery.next_attempt_at = None

    class Skipped(Event):
        reason: str

        def apply(self, delivery: Delivery) -> None:
            delivery.status = DeliveryStatus.SKIPPED
            delivery.skip_reason = self.reason
            delivery.next_attempt_at = None

    class StatusReported(Event):
        """The provider reported what became of the message (published as
        DeliveryStatusReported). Only reports that move the delivery forward are recorded."""

        status: str  # ProviderStatus
        provider_message_id: str
        # When the provider says it happened (None: not given; the event's time then).
        reported_at: datetime | None
        # Provider error code and title for FAILED, never message content.
        error: str

        def apply(self, delivery: Delivery) -> None:
            status = ProviderStatus(self.status)
            when = self.reported_at or self.timestamp
            if status is ProviderStatus.DELIVERED:
                delivery.status = DeliveryStatus.DELIVERED
                delivery.delivered_at = when
            elif status is ProviderStatus.READ:
                delivery.status = DeliveryStatus.READ
                delivery.read_at = when
            elif status is ProviderStatus.FAILED:
                delivery.status = DeliveryStatus.UNDELIVERED
                delivery.last_error = self.error

    class Rescheduled(Event):
        """An operator asked for another try (RetryDelivery). Carries the scheduling facts again
        because it is published as a second DeliveryScheduled for the same delivery id."""

        recipient_kind: str
        recipient: str
        channel: str
        template: str
        language: str
        source_event_id: str
        idempotency_key: str
        due_at: datetime

        def apply(self, delivery: Delivery) -> None:
            delivery.status = DeliveryStatus.SCHEDULED
            delivery.next_attempt_at = self.due_at
            # A fresh budget of attempts; the attempt numbers keep counting.
            delivery.budget_start = delivery.attempts

    @staticmethod
    def create_id(idempotency_key: str) -> uuid.UUID:
        return delivery_id_for(idempotency_key)

    @event(Scheduled)
    def __init__(
        self,
        complaint_id: str,
        meta: dict[str, Any],
        recipient_kind: str,
        recipient: str,
        recipient_masked: str,
        channel: str,
        template: str,
        language: str,
        source_event_id: str,
        source_event_type: str,
        idempotency_key: str,
        variables: dict[str, str],
        due_at: datetime,
    ) -> None:
        self.complaint_id = complaint_id
        self.meta = meta
        self.recipient_kind = RecipientKind(recipient_kind)
        self.recipient = recipient
        self.recipient_masked = recipient_masked
        self.channel = DeliveryChannel(channel)
        self.template = template
        self.language = language
        self.source_event_id = source_event_id
        self.source_event_type = source_event_type
        self.idempotency_key = idempotency_key
        self.variables = dict(variables)
        self.status = DeliveryStatus.SCHEDULED
        self.attempts = 0
        self.budget_start = 0
        self.last_error = ""
        self.provider_message_id = ""
        self.skip_reason = ""
        self.next_attempt_at: datetime | None = due_at
        self.attempted_at: datetime | None = None
        self.sent_at: datetime | None = None
        self.delivered_at: datetime | None = None
        self.read_at: datetime | None = None

    @classmethod
    def schedule(
        cls,
        *,
        complaint_id: str,
        meta: dict[str, Any],
        recipient_kind: RecipientKind,
        recipient: str,
        recipient_masked: str,
        channel: DeliveryChannel,
        template: str,
        language: str,
        source_event_id: str,
        source_event_type: str,
        variables: dict[str, str],
        due_at: datetime,
    ) -> Delivery:
        return cls(
            complaint_id=complaint_id,
            meta=meta,
            recipient_kind=recipient_kind.value,
            recipient=recipient,
            recipient_masked=recipient_masked,
            channel=channel.value,
            template=template,
            language=language,
            source_event_id=source_event_id,
            source_event_type=source_event_type,
            idempotency_key=idempotency_key_for(
                source_event_id, recipient_kind, recipient, channel
            ),
            variables=variables,
            due_at=due_at,
        )

    # -- queries ------------------------------------------------------------------------------
    @property
    def scheduled_at(self) -> datetime:
        return self.created_on

    @property
    def provider_key(self) -> str:
        """The key the provider sees: opaque, derived from the idempotency key, same on re-sends."""
        return str(self.id)

    def resend_after(self, grace_seconds: float, since: datetime | None = None) -> datetime | None:
        """While ATTEMPTING: when the interrupted send may be repeated (None: at once)."""
        if self.status is not DeliveryStatus.ATTEMPTING:
            return None
        return resend_after(self.channel, self.attempted_at, grace_seconds, since)

    @property
    def attempts_in_budget(self) -> int:
        return self.attempts - self.budget_start

    def is_due(
        self, now: datetime, *, confirm_grace_seconds: float = 0.0, since: datetime | None = None
    ) -> bool:
        """SCHEDULED or FAILED whose time has come; ATTEMPTING means a send was interrupted
        (the process died) and must be repeated with the same provider key: at once, or over
        WhatsApp once the provider's status report has not come within the grace period
        (resend_after)."""
        if self.status is DeliveryStatus.ATTEMPTING:
            when = self.resend_after(confirm_grace_seconds, since)
            return when is None or when <= now
        if self.status in (DeliveryStatus.SCHEDULED, DeliveryStatus.FAILED):
            return self.next_attempt_at is None or self.next_attempt_at <= now
        return False

    # -- commands -----------------------------------------------------------------------------
    def attempt(self, meta: dict[str, Any]) -> int:
        if self.status in FINAL_STATUSES:
            raise InvalidStateError(
                f"delivery {self.id} is {self.status.value}; nothing to attempt"
            )
        self.trigger_event(
            self.Attempted, complaint_id=self.complaint_id, meta=meta, attempt=self.attempts + 1
        )
        return self.attempts

    def record_sent(self, attempt: int, provider_message_id: str, meta: dict[str, Any]) -> None:
        if self.status in ACCEPTED_STATUSES and attempt == self.attempts:
            # The provider's status report of this attempt got here first: already recorded.
            return
        self._require_attempting(attempt)
        self.trigger_event(
            self.Sent,
            complaint_id=self.complaint_id,
            meta=meta,
            attempt=attempt,
            provider_message_id=provider_message_id,
        )

    def record_failure(
        self,
        attempt: int,
        error: str,
        *,
        retryable: bool,
        retry_after_seconds: float | None,
        policy: RetryPolicy,
        now: datetime,
        meta: dict[str, Any],
    ) -> None:
        """Failed, and either a retry time or (out of attempts, or a permanent error) GaveUp."""
        self._require_attempting(attempt)
        gives_up = not retryable or self.attempts_in_budget >= policy.max_attempts
        retry_at = (
            None
            if gives_up
            else now + timedelta(seconds=policy.delay(self.attempts_in_budget, retry_after_seconds))
        )
        self.trigger_event(
            self.Failed,
            complaint_id=self.complaint_id,
            meta=meta,
            attempt=attempt,
            error=error,
            retry_at=retry_at,
        )
        if gives_up:
            self.trigger_event(
                self.GaveUp,
                complaint_id=self.complaint_id,
                meta=meta,
                attempts=self.attempts,
                last_error=error,
            )

    def skip(self, reason: SkipReason, meta: dict[str, Any]) -> None:
        if self.status in FINAL_STATUSES:
            raise InvalidStateError(f"delivery {self.id} is {self.status.value}; cannot skip")
        self.trigger_event(
            self.Skipped, complaint_id=self.complaint_id, meta=meta, reason=reason.value
        )

    def report_status(
        self,
        status: ProviderStatus,
        provider_message_id: str,
        reported_at: datetime | None,
        error: str,
        meta: dict[str, Any],
    ) -> bool:
        """Record what the provider reported; returns whether anything changed.

        Forward only: SENT < DELIVERED < READ; FAILED turns a SENT delivery UNDELIVERED (final).
        A repeat or an older status changes nothing. A delivery whose send was never recorded as
        accepted (ATTEMPTING: the sender died between the provider's acceptance and recording
        Sent; FAILED or GAVE_UP after a time-out that did arrive) is recorded as sent first, with
        the provider's message id, so that it is not sent again. A FAILED report about another
        message than the one recorded (a duplicate sent after such a crash) changes nothing."""
        recorded = False
        if self.status not in ACCEPTED_STATUSES:
            if self.status is DeliveryStatus.SKIPPED or self.attempts == 0:
                return False  # never handed to a provider: nothing to record
            self.trigger_event(
                self.Sent,
                complaint_id=self.complaint_id,
                meta=meta,
                attempt=self.attempts,
                provider_message_id=provider_message_id,
            )
            recorded = True
        if status is ProviderStatus.FAILED:
            other_message = bool(
                provider_message_id
                and self.provider_message_id
                and provider_message_id != self.provider_message_id
            )
            moves = self.status is DeliveryStatus.SENT and not other_message
        else:
            current = _PROGRESS.get(self.status)
            moves = current is not None and _PROGRESS[_REPORTED[status]] > current
        if not (moves or recorded):
            return False
        self.trigger_event(
            self.StatusReported,
            complaint_id=self.complaint_id,
            meta=meta,
            status=status.value,
            provider_message_id=provider_message_id,
            reported_at=reported_at,
            error=error if status is ProviderStatus.FAILED else "",
        )
        return True

    def reschedule(self, now: datetime, meta: dict[str, Any]) -> None:
        if self.status not in (DeliveryStatus.FAILED, DeliveryStatus.GAVE_UP):
            raise InvalidStateError(
                f"only a failed or given-up delivery can be retried; this one is {self.status.value}"
            )
        self.trigger_event(
            self.Rescheduled,
            complaint_id=self.complaint_id,
            meta=meta,
            recipient_kind=self.recipient_kind.value,
            recipient=self.recipient,
            channel=self.channel.value,
            template=self.template,
            language=self.language,
            source_event_id=self.source_event_id,
            idempotency_key=self.idempotency_key,
            due_at=now,
        )

    def _require_attempting(self, attempt: int) -> None:
        if self.status is not DeliveryStatus.ATTEMPTING or attempt != self.attempts:
            raise InvalidStateError(
                f"delivery {self.id} is not in attempt {attempt} (status {self.status.value}, "
                f"attempt {self.attempts})"
            )
