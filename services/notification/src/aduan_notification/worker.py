"""The sender: picks due deliveries, records the attempt, fetches the contact, renders, sends,
and records the outcome.

Exactly once, as far as it can be had: the attempt is recorded *before* the send and the outcome
after, so a crash in between leaves the delivery ATTEMPTING, in doubt. The index (rebuilt from the
log at start, or caught up by the replica that takes the lead) lists it as due again, and it is
sent again with the same provider key (the delivery id). A provider that deduplicates on that key
(email's Message-ID, the office webhook) sends it once. The WhatsApp Cloud API does not, but
reports every message it accepted with the delivery id: an in-doubt WhatsApp delivery waits for
that report for the confirmation grace period (RetryPolicy.confirm_grace_seconds) and is recorded
as sent when it comes (RecordProviderStatus); only one still unconfirmed after the grace is sent
again, and then the citizen may get it twice. A WhatsApp send that timed out is in doubt too: its
retry waits at least the grace. See docs/notification.md.

A question (DetailsRequested) is sent as a WhatsApp interactive list, whose rows
`aduan.reference.questions.choices` builds here from the question stored with the delivery. A list can
only be sent inside the 24-hour customer-service window: outside it the delivery is skipped
(OUTSIDE_WINDOW) before intake is asked for the contact.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import SpanKind

from aduan.core.errors import ConcurrencyConflictError, InvalidStateError
from aduan.core.telemetry import continued_span
from aduan.eventstore.leader import Leadership
from aduan.reference.questions import Choice, Question, choices
from aduan_notification.application import DeliveryChange, NotificationApplication, SenderStep
from aduan_notification.channels import OutgoingMessage, Sender, SendError
from aduan_notification.contacts import (
    ContactNotFoundError,
    ContactSource,
    ContactUnavailableError,
    ReporterContact,
    ReporterErasedError,
)
from aduan_notification.domain import (
    CONFIRMED_BY_STATUS,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    RecipientKind,
    SkipReason,
)
from aduan_notification.rules import (
    QUESTION,
    QUESTION_CANDIDATES,
    QUESTION_PAGE,
    QUESTION_PROVINCE,
    QUESTION_TICKET,
)
from aduan_notification.templates import Rendered

log = logging.getLogger(__name__)

CONTACT_CHANNELS = frozenset({DeliveryChannel.WHATSAPP, DeliveryChannel.EMAIL})


class DeliveryWorker:
    def __init__(
        self,
        app: NotificationApplication,
        senders: Mapping[DeliveryChannel, Sender],
        contacts: ContactSource,
        *,
        concurrency: int = 8,
        poll_seconds: float = 1.0,
        leadership: Leadership | None = None,
    ) -> None:
        self.app = app
        # With replicas, only the leader sends: another instance would see this one's in-flight
        # deliveries as interrupted and send them again.
        self.leadership = leadership or Leadership()
        self.senders = dict(senders)
        self.contacts = contacts
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.sent = 0
        self._in_flight: set[uuid.UUID] = set()
        # Deliveries finished here, held back until the index has read their final event.
        self._finished: dict[uuid.UUID, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._steps = _StepGroup(app)

    def _on_saved(self, _: int) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.app.add_listener(self._on_saved)
        try:
            while not self._stopping.is_set():
                if not self.leadership.is_leader:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.leadership.wait_until_leader(), timeout=1.0)
                    continue
                try:
                    await self.dispatch_due()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivery dispatch failed; retrying")
                await self._wait()
        finally:
            self.app.remove_listener(self._on_saved)
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10.0)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _wait(self) -> None:
        timeout = self.poll_seconds
        next_due = self.app.index.next_due_at(self._busy())
        if next_due is not None:
            until = (next_due - self.app.clock()).total_seconds()
            timeout = max(0.01, min(timeout, until))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=timeout)
        self._wake.clear()

    def _busy(self) -> set[uuid.UUID]:
        return self._in_flight | set(self._finished)

    async def dispatch_due(self) -> int:
        """Start work on every due delivery (up to the concurrency); returns how many started."""
        position = await asyncio.to_thread(self.app.index.catch_up)
        for delivery_id, final_position in list(self._finished.items()):
            if position >= final_position:
                del self._finished[delivery_id]
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        due = self.app.index.due(self.app.clock(), self._busy(), free)
        for delivery_id in due:
            self._in_flight.add(delivery_id)
            task = asyncio.create_task(self._deliver_and_release(delivery_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(due)

    async def _deliver_and_release(self, delivery_id: uuid.UUID) -> None:
        final_position = 0
        try:
            final_position = await self.deliver(delivery_id)
        except Exception:
            log.exception("delivery failed unexpectedly", extra={"delivery_id": str(delivery_id)})
        finally:
            self._in_flight.discard(delivery_id)
            self._finished[delivery_id] = final_position
            self._wake.set()

    async def deliver(self, delivery_id: uuid.UUID) -> int:
        """One attempt of one delivery; returns the position of the last event it stored."""
        current = await asyncio.to_thread(self.app.get_delivery, delivery_id)
        grace = self.app.retry_policy.confirm_grace_seconds
        if not current.is_due(
            self.app.clock(), confirm_grace_seconds=grace, since=self.app.started_at
        ):
            return 0
        if current.status is DeliveryStatus.ATTEMPTING:
            # Nobody here is working on it: a sender died in the middle of this send.
            unconfirmed = current.resend_after(grace, self.app.started_at) is not None
            log.warning(
                "send interrupted by a dead sender; sending again"
                + (" (no status report within the grace period)" if unconfirmed else ""),
                extra={
                    "delivery_id": str(delivery_id),
                    "channel": current.channel.value,
                    "attempt": current.attempts,
                },
            )
        try:
            delivery, _ = await self._steps.record(current, lambda d, meta: d.attempt(meta))
        except (ConcurrencyConflictError, InvalidStateError):
            return 0  # another sender took it, or it finished meanwhile
        attempt = delivery.attempts
        context = {
            "delivery_id": str(delivery_id),
            "template": delivery.template,
            "channel": delivery.channel.value,
            "attempt": attempt,
        }
        if is_question(delivery):
            if not question_rows(delivery):
                # Codes no list can be made of (intake sends none): a permanent error, found
                # before intake is asked for the contact.
                return await self._failed(
                    delivery, attempt, "question without choices", False, None, context
                )
            if delivery.channel is DeliveryChannel.WHATSAPP and not await asyncio.to_thread(
                self._within_window, delivery
            ):
                log.info("question outside the 24-hour window; skipped", extra=context)
                return await self._skipped(delivery, SkipReason.OUTSIDE_WINDOW)
        try:
            contact = await self._contact(delivery)
        except ReporterErasedError:
            log.info("reporter erased; delivery skipped", extra=context)
            return await self._skipped(delivery, SkipReason.ERASED)
        except ContactNotFoundError:
            log.info("no contact; delivery skipped", extra=context)
            return await self._skipped(delivery, SkipReason.NO_CONTACT)
        except ContactUnavailableError as error:
            return await self._failed(delivery, attempt, str(error), True, None, context)
        message = await asyncio.to_thread(self._message, delivery, contact)
        if message is None:
            log.info("contact has no address for the channel; skipped", extra=context)
            return await self._skipped(delivery, SkipReason.NO_CONTACT)
        sender = self.senders.get(delivery.channel)
        if sender is None:
            return await self._failed(
                delivery,
                attempt,
                f"no sender for {delivery.channel.value}",
                False,
                None,
                context,
            )
        try:
            with continued_span(
                f"send {delivery.channel.value}",
                str(delivery.meta.get("traceparent", "")),
                str(delivery.meta.get("tracestate", "")),
                kind=SpanKind.CLIENT,
                **{
                    "aduan.delivery_id": str(delivery_id),
                    "aduan.template": delivery.template,
                    "aduan.attempt": attempt,
                },
            ):
                provider_message_id = await sender.send(message)
        except SendError as error:
            retry_after = error.retry_after_seconds
            if error.in_doubt and delivery.channel in CONFIRMED_BY_STATUS:
                # It may have arrived, and the provider would not recognise the repeat: give
                # its status report the grace period to say so first.
                retry_after = max(retry_after or 0.0, self.app.retry_policy.confirm_grace_seconds)
            return await self._failed(
                delivery,
                attempt,
                error.summary,
                error.retryable,
                retry_after,
                context,
            )
        _, position = await self._steps.record(
            delivery, lambda d, meta: d.record_sent(attempt, provider_message_id, meta)
        )
        self.sent += 1
        log.info("delivery sent", extra=context)
        return position

    async def _skipped(self, delivery: Delivery, reason: SkipReason) -> int:
        _, position = await self._steps.record(delivery, lambda d, meta: d.skip(reason, meta))
        return position

    async def _failed(
        self,
        delivery: Delivery,
        attempt: int,
        error: str,
        retryable: bool,
        retry_after: float | None,
        context: Mapping[str, object],
    ) -> int:
        log.warning("delivery attempt failed", extra={**context, "error": error})
        app = self.app

        def failed(d: Delivery, meta: dict[str, Any]) -> None:
            d.record_failure(
                attempt,
                error,
                retryable=retryable,
                retry_after_seconds=retry_after,
                policy=app.retry_policy,
                now=app.clock(),
                meta=meta,
            )

        _, position = await self._steps.record(delivery, failed)
        return position

    async def _contact(self, delivery: Delivery) -> ReporterContact | None:
        if delivery.recipient_kind is not RecipientKind.REPORTER:
            return None
        if delivery.channel not in CONTACT_CHANNELS:
            return None  # the log channel needs no address: intake is not asked
        return await self.contacts.reporter_contact(
            delivery.complaint_id, f"notification:{delivery.source_event_type}"
        )

    def _message(
        self, delivery: Delivery, contact: ReporterContact | None
    ) -> OutgoingMessage | None:
        template = self.app.catalog.get(delivery.template)
        channel = delivery.channel
        address = ""
        if channel is DeliveryChannel.WHATSAPP:
            address = contact.phone if contact else ""
        elif channel is DeliveryChannel.EMAIL:
            address = contact.email if contact else ""
        if channel in CONTACT_CHANNELS and not address:
            return None
        variables = dict(delivery.variables)
        if "reporter_name" in template.variables:
            variables["reporter_name"] = contact.name if contact else ""
        render_channel = (
            template.default_channel() if channel is DeliveryChannel.LOG else channel.value
        )
        rendered = template.render(delivery.language, render_channel, variables)
        within_window = True
        if channel is DeliveryChannel.WHATSAPP:
            within_window = self._within_window(delivery)
        rows: tuple[Choice, ...] = ()
        button = title = ""
        if is_question(delivery):
            rows = question_rows(delivery)
            button, title = list_parts(rendered, delivery.language)
        return OutgoingMessage(
            delivery_id=str(delivery.id),
            provider_key=delivery.provider_key,
            channel=channel,
            template=delivery.template,
            template_version=rendered.version,
            language=delivery.language,
            recipient=delivery.recipient,
            recipient_masked=delivery.recipient_masked,
            complaint_id=delivery.complaint_id,
            source_event_id=delivery.source_event_id,
            source_event_type=delivery.source_event_type,
            address=address,
            subject=rendered.subject,
            body=rendered.body,
            variables=dict(delivery.variables),
            within_service_window=within_window,
            whatsapp_template=template.whatsapp_template_name,
            whatsapp_parameters=template.whatsapp_parameters,
            whatsapp_parameter_values=tuple(
                template.whatsapp_parameter_values(variables, delivery.language)
            ),
            list_rows=rows,
            list_button=button,
            list_title=title,
        )

    def _within_window(self, delivery: Delivery) -> bool:
        record = self.app.contact(delivery.complaint_id)
        return record is not None and record.within_whatsapp_window(self.app.clock())


def is_question(delivery: Delivery) -> bool:
    return QUESTION in delivery.variables


def question_rows(delivery: Delivery) -> tuple[Choice, ...]:
    """The rows of the question a delivery asks (its stored question; ticket, language); none
    when the stored question names no area or question known to aduan.reference.questions."""
    variables = delivery.variables
    candidates = tuple(variables.get(QUESTION_CANDIDATES, "").split())
    try:
        return tuple(
            choices(
                variables[QUESTION_TICKET],
                Question(variables[QUESTION]),
                province_code=variables.get(QUESTION_PROVINCE, ""),
                candidates=candidates,
                page=int(variables.get(QUESTION_PAGE, "1") or 1),
                language=delivery.language,
            )
        )
    except (KeyError, ValueError):
        return ()


# A question template without list parts (it should have them) still gets a usable list.
DEFAULT_LIST_PARTS = {"id": ("Pilih", "Pilihan"), "en": ("Choose", "Choices")}


def list_parts(rendered: Rendered, language: str) -> tuple[str, str]:
    """The list's button and section title: the template's `list_button` and `list_title`
    parts, as rendered with the body."""
    button, title = DEFAULT_LIST_PARTS.get(language, DEFAULT_LIST_PARTS["id"])
    return rendered.list_button or button, rendered.list_title or title


class _StepGroup:
    """Group commit of the sender's bookkeeping: the attempts and outcomes that concurrent
    deliveries record while a save is running are saved together by the next one
    (NotificationApplication.record_steps), one transaction instead of one each. Every caller
    still waits for its own step to be stored (an attempt before its send)."""

    def __init__(self, app: NotificationApplication) -> None:
        self.app = app
        self._waiting: list[tuple[SenderStep, asyncio.Future[tuple[Delivery, int]]]] = []
        self._saving = False
        self._task: asyncio.Task[None] | None = None

    async def record(self, delivery: Delivery, change: DeliveryChange) -> tuple[Delivery, int]:
        """Apply `change` and store it; returns the delivery as stored and the position of its
        last event, or raises what refused the change."""
        future: asyncio.Future[tuple[Delivery, int]] = asyncio.get_running_loop().create_future()
        self._waiting.append(((delivery, change), future))
        if not self._saving:
            self._saving = True
            self._task = asyncio.create_task(self._save_all())
        return await future

    async def _save_all(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    results = await asyncio.to_thread(
                        self.app.record_steps, [step for step, _ in group]
                    )
                except Exception as error:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(group, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._saving = False
