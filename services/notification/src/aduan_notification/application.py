"""The notification application: schedules deliveries in reaction to upstream events (exactly once
per event, recipient and channel) and records every attempt and its outcome. Pure domain: the
consumer, the sender worker and the servicer are the adapters around it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from aduan.core.context import Actor, CommandContext
from aduan.core.errors import ConcurrencyConflictError, NotFoundError, ValidationError
from aduan.eventstore.store import AduanApplication, DuplicateEventError, SideWrites
from aduan.eventstore.tracking import BatchPositions
from aduan_notification.directory import PROVIDER_MESSAGES, TICKETS, ComplaintDirectory
from aduan_notification.domain import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    ProviderStatus,
    RecipientKind,
    RetryPolicy,
    SkipReason,
    resend_after,
)
from aduan_notification.facts import ConversationReplyRequestedFacts
from aduan_notification.rules import (
    ComplaintContact,
    PlannedDelivery,
    UpstreamEvent,
    plan,
    undelivered_notice,
)
from aduan_notification.templates import TemplateCatalog, status_line

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


@dataclass(frozen=True)
class Reaction:
    """One upstream event of a batch: its position in its upstream's log, the position it
    follows on from, and what it means here (None: nothing to do but record it as seen)."""

    service: str
    position: int
    previous_position: int
    event: UpstreamEvent | None


@dataclass(frozen=True)
class ChannelPolicy:
    """Which channels really send. In log mode (the default of `make up`) everything goes to the
    log channel; in live mode a channel without configuration also falls back to the log, and the
    delivery record says so (channel LOG)."""

    live: bool = False
    configured: frozenset[DeliveryChannel] = frozenset()

    def resolve(self, channel: DeliveryChannel) -> DeliveryChannel:
        if self.live and channel in self.configured:
            return channel
        return DeliveryChannel.LOG


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
        self.index = DeliveryIndex(self)

    # -- reacting to upstream events ----------------------------------------------------------
    def react(self, event: UpstreamEvent) -> list[Delivery]:
        """Schedule the deliveries `event` causes, with its tracking record, in one transaction.

        Raises DuplicateEventError when the event was processed before: nothing is scheduled
        twice. The complaint record is written first and idempotently (see directory.py)."""
        if event.position <= self.tracked_position(event.service):
            raise DuplicateEventError(event.event_id)
        event = self.with_overview(event)
        contact = self.directory.get(event.complaint_id)
        outcome = plan(event, contact)
        if outcome.contact_changed and outcome.contact is not None:
            self.directory.put(outcome.contact)
            if event.event_type == "ComplaintFiled":
                self.claims.claim(TICKETS, outcome.contact.ticket_number, event.complaint_id)
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
        # Per complaint: its record as read (with its version), and as the batch left it.
        read: dict[str, tuple[ComplaintContact, int] | None] = {}
        contacts: dict[str, ComplaintContact | None] = {}
        tickets: dict[str, str] = {}
        deliveries: list[Delivery] = []
        processed = 0
        read.update(
            self.directory.latest_many(
                sorted({r.event.complaint_id for r in reactions if r.event is not None})
            )
        )
        for reaction in reactions:
            if not positions.admit(reaction.service, reaction.position, reaction.previous_position):
                continue  # processed before
            processed += 1
            if reaction.event is None:
                continue
            event = self.with_overview(
                reaction.event,
                lambda cid: contacts[cid] if cid in contacts else self.directory.get(cid),
            )
            complaint_id = event.complaint_id
            if complaint_id not in contacts:
                latest = read[complaint_id]
                contacts[complaint_id] = None if latest is None else latest[0]
            outcome = plan(event, contacts[complaint_id])
            if outcome.contact_changed and outcome.contact is not None:
                contacts[complaint_id] = outcome.contact
                if event.event_type == "ComplaintFiled":
                    tickets.setdefault(outcome.contact.ticket_number, complaint_id)
            deliveries.extend(self._delivery(event, planned) for planned in outcome.deliveries)
        if not positions.newest:
            return 0
        records: list[tuple[ComplaintContact, int]] = []
        for complaint_id, contact in contacts.items():
            before = read[complaint_id]
            if contact is not None and (before is None or before[0] != contact):
                records.append((contact, 1 if before is None else before[1] + 1))

        side = SideWrites()
        self.directory.record_all(side, records)
        self.claims.claim_all(side, TICKETS, list(tickets.items()))
        self.save_reactions(positions.newest, *deliveries, follows=positions.tracked, side=side)
        return processed

    def with_overview(
        self,
        event: UpstreamEvent,
        record_of: Callable[[str], ComplaintContact | None] | None = None,
    ) -> UpstreamEvent:
        """A status overview for a WhatsApp sender lists their open complaints as this service
        knows them (status and holding office, from the complaint records — `record_of`, in a
        batch the records as the batch left them): the lines are written into the event's facts
        for the pure rules."""
        facts = event.facts
        if (
            not isinstance(facts, ConversationReplyRequestedFacts)
            or facts.reply != "STATUS_OVERVIEW"
        ):
            return event
        record_of = record_of or self.directory.get
        language = facts.language or "id"
        lines = []
        for complaint_id in facts.complaint_ids:
            record = record_of(complaint_id)
            if record is not None:
                lines.append(
                    status_line(record.ticket_number, record.status, record.office_name, language)
                )
        return replace(event, facts=replace(facts, complaint_lines="\n".join(lines)))

    def _delivery(self, event: UpstreamEvent, planned: PlannedDelivery) -> Delivery:
        return self._schedule(
            planned,
            complaint_id=event.complaint_id,
            source_event_id=event.event_id,
            source_event_type=event.event_type,
            meta=CommandContext.from_meta(event.meta).meta(),
        )

    def _schedule(
        self,
        planned: PlannedDelivery,
        *,
        complaint_id: str,
        source_event_id: str,
        source_event_type: str,
        meta: dict[str, Any],
    ) -> Delivery:
        template = self.catalog.get(planned.template)
        missing = template.missing(planned.variables)
        if missing:
            # A programming error in rules.py; the rules tests cover every event type.
            raise ValidationError(
                f"template {template.name} needs {sorted(missing)} from {source_event_type}"
            )
        variables = {k: planned.variables[k] for k in template.variables if k in planned.variables}
        delivery = Delivery.schedule(
            complaint_id=complaint_id,
            meta=meta,
            recipient_kind=planned.recipient_kind,
            recipient=planned.recipient,
            recipient_masked=planned.recipient_masked,
            channel=self.channels.resolve(planned.channel),
            template=planned.template,
            language=planned.language,
            source_event_id=source_event_id,
            source_event_type=source_event_type,
            variables={**variables, **planned.question},
            due_at=self.clock(),
        )
        if planned.skip_reason:
            delivery.skip(SkipReason(planned.skip_reason), meta)
        return delivery

    # -- the sender's bookkeeping ---------------------------------------------------------------
    def get_delivery(self, delivery_id: uuid.UUID | str) -> Delivery:
        try:
            key = delivery_id if isinstance(delivery_id, uuid.UUID) else uuid.UUID(delivery_id)
        except ValueError:
            raise NotFoundError(f"delivery {delivery_id!r} not found") from None
        try:
            delivery: Delivery = self.repository.get(key)
        except AggregateNotFoundError:
            raise NotFoundError(f"delivery {delivery_id} not found") from None
        return delivery

    def _sender_meta(self, delivery: Delivery) -> dict[str, Any]:
        origin = CommandContext.from_meta(delivery.meta)
        return replace(origin, actor=SENDER, causation_id=delivery.source_event_id).meta()

    def _save(self, delivery: Delivery, *others: Delivery) -> int:
        # The message id index is written first, idempotently: a claim left by a save that then
        # failed still names the right delivery (the provider did accept that message for it).
        for message_id, delivery_id in _sent_messages([delivery, *others]):
            self.claims.claim(PROVIDER_MESSAGES, message_id, delivery_id)
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
        sent = _sent_messages(deliveries)
        if not sent:
            return self.save(*deliveries)
        if not self.joint_writes:  # the in-memory store
            for message_id, delivery_id in sent:
                self.claims.claim(PROVIDER_MESSAGES, message_id, delivery_id)
            return self.save(*deliveries)

        side = SideWrites()
        self.claims.claim_all(side, PROVIDER_MESSAGES, sent)
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
            holder = self.claims.get(PROVIDER_MESSAGES, provider_message_id)
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
            if (
                delivery.status is DeliveryStatus.UNDELIVERED
                and before is not DeliveryStatus.UNDELIVERED
                and delivery.recipient_kind is RecipientKind.REPORTER
            ):
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
            self._schedule(
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


def _sent_messages(deliveries: Sequence[Delivery]) -> list[tuple[str, str]]:
    """(provider message id, delivery id) of the WhatsApp Sent events pending in `deliveries`:
    the index a status report that names only the message id is looked up in."""
    return [
        (event.provider_message_id, str(delivery.id))
        for delivery in deliveries
        if delivery.channel is DeliveryChannel.WHATSAPP
        for event in delivery.pending_events
        if isinstance(event, Delivery.Sent) and event.provider_message_id
    ]


CATCH_UP_PAGE = 500


@dataclass
class _Pending:
    status: DeliveryStatus
    due_at: datetime | None
    channel: DeliveryChannel


@dataclass
class DeliveryIndex:
    """An in-memory view of this service's own log: deliveries per complaint, and the ones the
    sender still has to work on. Rebuilt from the log at start (so deliveries left ATTEMPTING by
    a crash, or by another replica that led before, are found again) and caught up before every
    use. An ATTEMPTING WhatsApp delivery is due only after the confirmation grace period
    (domain.resend_after): until then a status report may still show that the provider has it."""

    app: NotificationApplication
    position: int = 0
    _by_complaint: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    _pending: dict[uuid.UUID, _Pending] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def catch_up(self) -> int:
        with self._lock:
            while True:
                notifications = self.app.read_notifications(self.position, CATCH_UP_PAGE)
                for notification in notifications:
                    self._apply(self.app.decode(notification))
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
                    pending.channel,
                    event.timestamp,
                    self.app.retry_policy.confirm_grace_seconds,
                    self.app.started_at,
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
