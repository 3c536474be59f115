"""The notification application: schedules deliveries in reaction to upstream events (exactly once
per event, recipient and channel) and records every attempt and its outcome. Pure domain: the
consumer, the sender worker and the servicer are the adapters around it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from aduan.core.context import Actor, CommandContext
from aduan.core.errors import ConcurrencyConflictError, NotFoundError, ValidationError
from aduan.eventstore.store import AduanApplication, DuplicateEventError, SideWrites
from aduan.eventstore.tracking import BatchPositions
from aduan_notification.deliveryindex import DeliveryIndex
from aduan_notification.directory import TICKETS, ComplaintDirectory
from aduan_notification.domain import Delivery, ProviderStatus, RetryPolicy, SkipReason
from aduan_notification.messageindex import ProviderMessageIndex
from aduan_notification.reactions import BatchRecords, Reaction, claimed_ticket
from aduan_notification.rules import (
    ComplaintContact,
    PlannedDelivery,
    UpstreamEvent,
    plan,
    tells_office_undelivered,
    undelivered_notice,
    with_status_overview,
)
from aduan_notification.scheduling import ChannelPolicy, DeliveryScheduler
from aduan_notification.templates import TemplateCatalog

Clock = Callable[[], datetime]
SENDER = Actor.system("notification-sender")
CONSUMER = Actor.service("notification")
SERVICE_NAME = "notification"
# How often a status report is applied again to a delivery that changed meanwhile (the sender
# recording its outcome at the same moment) before the caller is told to retry.
STATUS_REPORT_ATTEMPTS = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


DeliveryChange = Callable[[Delivery, dict[str, Any]], object]
"""A change the sender makes to a delivery, given the sender's event metadata."""
SenderStep = tuple[Delivery, DeliveryChange]


class NotificationApplication(AduanApplication):
    name = "notification"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        catalog: TemplateCatalog | None = None,
        channels: ChannelPolicy | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Clock = utcnow,
    ) -> None:
        super().__init__(env)
        self.catalog = catalog or TemplateCatalog.load_packaged()
        self.channels = channels or ChannelPolicy()
        self.retry_policy = retry_policy or RetryPolicy()
        self.clock = clock
        # From now on this instance takes the provider's status reports: the confirmation grace
        # of a send left in doubt counts from here at the earliest (domain.resend_after).
        self.started_at = clock()
        self.directory = ComplaintDirectory(self.factory.aggregate_recorder(purpose="contacts"))
        self.messages = ProviderMessageIndex(self.claims)
        self.scheduler = DeliveryScheduler(self.catalog, self.channels, clock)
        self.index = DeliveryIndex(
            self,
            confirm_grace_seconds=self.retry_policy.confirm_grace_seconds,
            since=self.started_at,
        )

    # -- reacting to upstream events ----------------------------------------------------------
    def react(self, event: UpstreamEvent) -> list[Delivery]:
        """Schedule the deliveries `event` causes, with its tracking record, in one transaction.

        Raises DuplicateEventError when the event was processed before: nothing is scheduled
        twice. The complaint record is written first and idempotently (see directory.py)."""
        if event.position <= self.tracked_position(event.service):
            raise DuplicateEventError(event.event_id)
        event = with_status_overview(event, self.directory.get)
        outcome = plan(event, self.directory.get(event.complaint_id))
        if outcome.changed_contact is not None:
            self.directory.put(outcome.changed_contact)
        ticket = claimed_ticket(event, outcome)
        if ticket is not None:
            self.claims.claim(TICKETS, ticket, event.complaint_id)
        deliveries = [self._delivery(event, planned) for planned in outcome.deliveries]
        try:
            self.save_reaction(event.service, event.position, *deliveries)
        except IntegrityError:
            # A delivery with one of these ids exists although this event was never tracked:
            # impossible unless the store was edited; refuse rather than send twice.
            raise ConcurrencyConflictError(
                f"deliveries of {event.event_id} already exist; not scheduling them again"
            ) from None
        return deliveries

    def react_batch(self, reactions: Sequence[Reaction]) -> int:
        """`react` for many upstream events at once: the deliveries they cause, the complaint
        records and ticket claims they change, and the tracking records, in one transaction
        (SQL stores only: `joint_writes`). Events already tracked are skipped; returns how many
        were processed.

        Raises (and writes nothing) when anything fails: an event out of order, a complaint not
        known yet, a claim or record written meanwhile, a tracking record written meanwhile
        (DuplicateEventError when it covers the batch). The consumer then processes the events
        one by one."""
        positions = BatchPositions(self.known_position)
        records = BatchRecords(
            self.directory.latest_many(
                sorted({r.event.complaint_id for r in reactions if r.event is not None})
            )
        )
        deliveries: list[Delivery] = []
        processed = 0
        for reaction in reactions:
            if not positions.admit(reaction.service, reaction.position, reaction.previous_position):
                continue  # processed before
            processed += 1
            if reaction.event is None:
                continue
            # An overview shows the complaints as the batch has left them so far.
            event = with_status_overview(
                reaction.event, lambda cid: records.record_of(cid, self.directory.get)
            )
            outcome = plan(event, records.current(event.complaint_id))
            records.apply(event, outcome)
            deliveries.extend(self._delivery(event, planned) for planned in outcome.deliveries)
        if not positions.newest:
            return 0
        side = SideWrites()
        self.directory.record_all(side, records.changed())
        self.claims.claim_all(side, TICKETS, list(records.tickets.items()))
        self.save_reactions(positions.newest, *deliveries, follows=positions.tracked, side=side)
        return processed

    def _delivery(self, event: UpstreamEvent, planned: PlannedDelivery) -> Delivery:
        return self.scheduler.schedule(
            planned,
            complaint_id=event.complaint_id,
            source_event_id=event.event_id,
            source_event_type=event.event_type,
            meta=CommandContext.from_meta(event.meta).meta(),
        )

    # -- the sender's bookkeeping ---------------------------------------------------------------
    def get_delivery(self, delivery_id: uuid.UUID | str) -> Delivery:
        try:
            key = delivery_id if isinstance(delivery_id, uuid.UUID) else uuid.UUID(delivery_id)
        except ValueError:
            raise NotFoundError(f"delivery {delivery_id!r} not found") from None
        delivery = self.find_aggregate(key, Delivery)
        if delivery is None:
            raise NotFoundError(f"delivery {delivery_id} not found")
        return delivery

    def _sender_meta(self, delivery: Delivery) -> dict[str, Any]:
        origin = CommandContext.from_meta(delivery.meta)
        return replace(origin, actor=SENDER, causation_id=delivery.source_event_id).meta()

    def _save(self, delivery: Delivery, *others: Delivery) -> int:
        self.messages.record([delivery, *others])
        try:
            recordings = self.save(delivery, *others)
        except IntegrityError:
            raise ConcurrencyConflictError(
                f"delivery {delivery.id} was changed concurrently"
            ) from None
        return int(recordings[-1].notification.id) if recordings else self.head_position()

    def _save_group(self, deliveries: Sequence[Delivery]) -> list[Any]:
        """Saves the sender's group in one transaction, with the message id index of the Sent
        events among them (raises IntegrityError when anything collides: the caller then saves
        each alone)."""
        if not self.joint_writes:  # the in-memory store
            self.messages.record(deliveries)
            return self.save(*deliveries)
        side = SideWrites()
        if not self.messages.record_with(side, deliveries):
            return self.save(*deliveries)
        return self.save_with(*deliveries, side=side)

    def _current(self, delivery_id: uuid.UUID, delivery: Delivery | None) -> Delivery:
        # The sender passes the delivery it holds from its previous step instead of reading it
        # again: a change made meanwhile by anyone else collides when this one is saved.
        if delivery is not None and delivery.id == delivery_id:
            return delivery
        return self.get_delivery(delivery_id)

    def record_steps(self, steps: Sequence[SenderStep]) -> list[tuple[Delivery, int] | Exception]:
        """The sender's bookkeeping of many deliveries (attempts, outcomes) saved in one
        transaction: each step applies `change(delivery, meta)` to the delivery it holds.
        Returns per step the delivery as saved and the position of its last event, or the error
        that refused it (InvalidStateError, ConcurrencyConflictError).

        When the group cannot be saved (a delivery changed meanwhile), each step is applied
        again to the delivery as stored and saved on its own: one stale delivery costs the
        others nothing but a second transaction."""
        results: list[tuple[Delivery, int] | Exception | None] = [None] * len(steps)
        group: list[int] = []
        for index, (delivery, change) in enumerate(steps):
            try:
                change(delivery, self._sender_meta(delivery))
            except Exception as error:
                results[index] = error
                continue
            group.append(index)
        if group:
            try:
                recordings = self._save_group([steps[i][0] for i in group])
            except IntegrityError:
                for index in group:
                    results[index] = self._step_alone(steps[index][0].id, steps[index][1])
            else:
                last = {r.domain_event.originator_id: int(r.notification.id) for r in recordings}
                for index in group:
                    delivery = steps[index][0]
                    results[index] = (delivery, last.get(delivery.id, 0))
        return [r if r is not None else RuntimeError("step not run") for r in results]

    def _step_alone(
        self, delivery_id: uuid.UUID, change: DeliveryChange
    ) -> tuple[Delivery, int] | Exception:
        try:
            delivery = self.get_delivery(delivery_id)
            change(delivery, self._sender_meta(delivery))
            return delivery, self._save(delivery)
        except Exception as error:
            return error

    def record_attempt(
        self, delivery_id: uuid.UUID, delivery: Delivery | None = None
    ) -> tuple[Delivery, int]:
        """Record the next attempt (before sending). Returns the delivery and attempt number;
        ConcurrencyConflictError when another sender got there first."""
        delivery = self._current(delivery_id, delivery)
        attempt = delivery.attempt(self._sender_meta(delivery))
        self._save(delivery)
        return delivery, attempt

    def record_sent(
        self,
        delivery_id: uuid.UUID,
        attempt: int,
        provider_message_id: str,
        delivery: Delivery | None = None,
    ) -> int:
        delivery = self._current(delivery_id, delivery)
        delivery.record_sent(attempt, provider_message_id, self._sender_meta(delivery))
        return self._save(delivery)

    def record_failure(
        self,
        delivery_id: uuid.UUID,
        attempt: int,
        error: str,
        *,
        retryable: bool,
        retry_after_seconds: float | None = None,
        delivery: Delivery | None = None,
    ) -> int:
        delivery = self._current(delivery_id, delivery)
        delivery.record_failure(
            attempt,
            error,
            retryable=retryable,
            retry_after_seconds=retry_after_seconds,
            policy=self.retry_policy,
            now=self.clock(),
            meta=self._sender_meta(delivery),
        )
        return self._save(delivery)

    def record_skipped(
        self, delivery_id: uuid.UUID, reason: SkipReason, delivery: Delivery | None = None
    ) -> int:
        delivery = self._current(delivery_id, delivery)
        delivery.skip(reason, self._sender_meta(delivery))
        return self._save(delivery)

    # -- the provider's status reports ------------------------------------------------------
    def find_delivery(self, delivery_id: str, provider_message_id: str) -> Delivery:
        """The delivery a status report is about: by the delivery id the provider echoes
        (WhatsApp's biz_opaque_callback_data), else by the provider's message id."""
        if delivery_id:
            try:
                return self.get_delivery(delivery_id)
            except NotFoundError:
                pass  # not one of ours as sent; the message id may still name one
        if provider_message_id:
            holder = self.messages.delivery_of(provider_message_id)
            if holder is not None:
                return self.get_delivery(holder)
        raise NotFoundError(
            f"no delivery for delivery id {delivery_id!r} or provider message id "
            f"{provider_message_id!r}"
        )

    def record_provider_status(
        self,
        *,
        delivery_id: str,
        provider_message_id: str,
        status: ProviderStatus,
        reported_at: datetime | None,
        error: str,
        ctx: CommandContext,
    ) -> tuple[Delivery, bool]:
        """Records a provider's status report (Delivery.report_status); returns the delivery and
        whether the report changed it. A reporter's message reported FAILED after acceptance is
        told to the holding office (office_delivery_failed), in the same transaction."""
        for _ in range(STATUS_REPORT_ATTEMPTS):
            delivery = self.find_delivery(delivery_id, provider_message_id)
            # The report joins the delivery's correlation; the caller is its actor.
            origin = CommandContext.from_meta(delivery.meta)
            meta = replace(ctx, correlation_id=origin.correlation_id or ctx.correlation_id).meta()
            before = delivery.status
            changed = delivery.report_status(status, provider_message_id, reported_at, error, meta)
            if not changed:
                return delivery, False
            notices = []
            if tells_office_undelivered(before, delivery.status, delivery.recipient_kind):
                notices = self._undelivered_notices(delivery, origin)
            try:
                self._save(delivery, *notices)
            except ConcurrencyConflictError:
                continue  # the sender recorded an outcome meanwhile: apply the report again
            return delivery, True
        raise ConcurrencyConflictError(
            f"delivery {delivery_id or provider_message_id} keeps changing; report it again"
        )

    def _undelivered_notices(self, delivery: Delivery, origin: CommandContext) -> list[Delivery]:
        planned = undelivered_notice(
            self.directory.get(delivery.complaint_id), self.template_label(delivery.template)
        )
        if planned is None:
            return []
        return [
            self.scheduler.schedule(
                planned,
                complaint_id=delivery.complaint_id,
                source_event_id=f"{SERVICE_NAME}:{delivery.id}:undelivered",
                source_event_type="DeliveryStatusReported",
                meta=replace(origin, actor=CONSUMER, causation_id=str(delivery.id)).meta(),
            )
        ]

    def template_label(self, name: str) -> str:
        """What a message is, in words an office reads (offices read Bahasa Indonesia)."""
        return self.catalog.get(name).label("id")

    # -- operators ------------------------------------------------------------------------------
    def retry_delivery(self, delivery_id: str, ctx: CommandContext) -> tuple[Delivery, int]:
        delivery = self.get_delivery(delivery_id)
        delivery.reschedule(self.clock(), ctx.meta())
        return delivery, self._save(delivery)

    def resolve_complaint(self, complaint_ref: str) -> str:
        """A complaint id or ticket number -> the complaint id notification knows."""
        ref = complaint_ref.strip()
        if not ref:
            raise ValidationError("complaint_id: required (a complaint id or ticket number)")
        holder = self.claims.get(TICKETS, ref.upper())
        if holder is not None:
            return holder
        if self.directory.get(ref) is not None or self.index.by_complaint(ref):
            return ref
        raise NotFoundError(f"no notifications known for complaint {complaint_ref!r}")

    def list_deliveries(self, complaint_ref: str) -> list[Delivery]:
        complaint_id = self.resolve_complaint(complaint_ref)
        return [self.get_delivery(i) for i in self.index.by_complaint(complaint_id)]

    def contact(self, complaint_id: str) -> ComplaintContact | None:
        return self.directory.get(complaint_id)
