"""The outbox relay: follows a write service's notification log and publishes each stored event
to JetStream (docs/architecture.md, rule 1).

Nothing is published from a command handler. The relay is woken right after each save (and polls
as a fallback), publishes a batch pipelined, and records its position in the service's own store
only after every PubAck of the batch. `Nats-Msg-Id: <service>:<position>` makes a republished
event a duplicate that JetStream drops inside its window; consumers are idempotent beyond it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from eventsourcing.persistence import Notification
from opentelemetry.metrics import Meter, Observation
from opentelemetry.trace import Span, SpanKind

from aduan.contract.envelopes import EnvelopeTranslator, event_id, subject_for
from aduan.core.telemetry import meter, record_span_error, start_continued_span, trace_headers_of
from aduan.eventstore.leader import Leadership
from aduan.eventstore.store import AduanApplication

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboundMessage:
    subject: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)
    position: int = 0
    event_type: str = ""


class Publisher(Protocol):
    async def publish_batch(self, messages: Sequence[OutboundMessage]) -> None:
        """Publish every message and return only when all are acknowledged; raise otherwise."""


class StreamResetError(Exception):
    """The stream lost what was published to it (deleted and re-created): the relay publishes
    its whole log again. A publisher raises it from `publish_batch` or, when it has one, from
    `verify_stream()`, which the relay calls before each batch (cheap: rate-limited inside)."""


@dataclass
class RelayStats:
    published: int = 0
    batches: int = 0
    failures: int = 0
    position: int = 0
    head: int = 0

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)


class OutboxRelay:
    def __init__(
        self,
        app: AduanApplication,
        translator: EnvelopeTranslator,
        publisher: Publisher,
        *,
        batch_size: int = 256,
        poll_seconds: float = 1.0,
        max_backoff_seconds: float = 5.0,
        leadership: Leadership | None = None,
    ) -> None:
        self.app = app
        self.translator = translator
        self.publisher = publisher
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.leadership = leadership or Leadership()
        self.stats = RelayStats()
        # Per event type, so that SLA breaches (SlaBreached) and deliveries by outcome
        # (DeliverySent, DeliveryGaveUp, ...) are visible without a metric per service.
        self._published_by_type = meter().create_counter(
            "aduan.events.published",
            description="events published to JetStream, by service and event type",
        )
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        # After a stream reset: republish from here (in memory; the recorded position only ever
        # grows). A crash mid-replay leaves the rest to the consumers' repair from the EventLog.
        self._replay_after: int | None = None

    def _restart_replay(self) -> None:
        log.warning(
            "stream lost its messages; republishing the whole log",
            extra={"service": self.translator.service},
        )
        self._replay_after = 0

    # Called from whichever thread saved the events.
    def _on_saved(self, position: int) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.app.add_listener(self._on_saved)
        backoff = 0.1
        try:
            while not self._stopping.is_set():
                if not self.leadership.is_leader:
                    await self._until_leader_or_stopped()
                    continue
                try:
                    published = await self.relay_once()
                    backoff = 0.1
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    self.stats.failures += 1
                    log.warning(
                        "relay publish failed; retrying",
                        extra={"error": repr(error), "retry_in": round(backoff, 2)},
                    )
                    await self._sleep(backoff * (0.5 + random.random()))
                    backoff = min(backoff * 2, self.max_backoff_seconds)
                    continue
                if published == 0:
                    await self._wait_for_work()
        finally:
            self.app.remove_listener(self._on_saved)

    async def _until_leader_or_stopped(self) -> None:
        leader = asyncio.ensure_future(self.leadership.wait_until_leader())
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({leader, stop}, return_when="FIRST_COMPLETED")
        finally:
            leader.cancel()
            stop.cancel()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _wait_for_work(self) -> None:
        wake = asyncio.ensure_future(self._wake.wait())
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait(
                {wake, stop}, timeout=self.poll_seconds, return_when="FIRST_COMPLETED"
            )
        finally:
            wake.cancel()
            stop.cancel()
        self._wake.clear()

    async def relay_once(self) -> int:
        """Publish the next batch after the saved position; returns how many were published."""
        verify_stream = getattr(self.publisher, "verify_stream", None)
        if verify_stream is not None:
            try:
                await verify_stream()
            except StreamResetError:
                self._restart_replay()
        recorded, position, notifications = await asyncio.to_thread(
            self._next_batch, self._replay_after
        )
        self.stats.position = recorded
        self.stats.head = max(self.stats.head, notifications[-1].id if notifications else position)
        if not notifications:
            return 0
        messages = []
        spans: list[Span] = []
        previous = position
        for notification in notifications:
            envelope = self.translator.translate(notification, self.app.decode(notification))
            if envelope is None:
                continue
            envelope.previous_position = previous
            previous = notification.id
            subject = subject_for(self.translator.service, envelope.event_type)
            span = start_continued_span(
                f"publish {subject}",
                envelope.traceparent,
                envelope.tracestate,
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "nats",
                    "messaging.destination.name": subject,
                    "aduan.event_id": envelope.event_id,
                },
            )
            spans.append(span)
            trace_headers = trace_headers_of(span)
            messages.append(
                OutboundMessage(
                    subject=subject,
                    data=envelope.SerializeToString(),
                    headers=_headers(self.translator.service, notification.id, trace_headers),
                    position=notification.id,
                    event_type=envelope.event_type,
                )
            )
        try:
            if messages:
                await self.publisher.publish_batch(messages)
        except Exception as error:
            if isinstance(error, StreamResetError):
                self._restart_replay()
            for span in spans:
                record_span_error(span, error)
            raise
        finally:
            for span in spans:
                span.end()
        for message in messages:
            self._published_by_type.add(
                1, {"service": self.translator.service, "event_type": message.event_type}
            )
        last = notifications[-1].id
        if self._replay_after is not None:
            self._replay_after = last if last < recorded else None
        if last > recorded:
            await asyncio.to_thread(
                self.app.save_tracking, AduanApplication.OUTBOX_TRACKING_NAME, last
            )
            self.stats.position = last
        self.stats.published += len(messages)
        self.stats.batches += 1
        return len(notifications)

    def _next_batch(self, replay_after: int | None) -> tuple[int, int, Sequence[Notification]]:
        """In one worker-thread call: the saved position, the position to read after (earlier
        while replaying) and the notifications after that."""
        recorded = self.app.tracked_position(AduanApplication.OUTBOX_TRACKING_NAME)
        position = recorded if replay_after is None else replay_after
        return recorded, position, self.app.read_notifications(position, self.batch_size)

    async def flush(self, within_seconds: float = 10.0) -> bool:
        """Publish everything stored so far (used at shutdown); False when it could not."""
        if not self.leadership.is_leader:
            return True  # the leader publishes
        deadline = asyncio.get_running_loop().time() + within_seconds
        while asyncio.get_running_loop().time() < deadline:
            try:
                if await self.relay_once() == 0:
                    return True
            except Exception as error:
                log.warning("relay flush failed", extra={"error": repr(error)})
                await asyncio.sleep(0.2)
        return False

    def stop(self) -> None:
        self._stopping.set()


def observe_relay(relay: OutboxRelay, instruments: Meter | None = None) -> None:
    """Relay lag (stored minus published position) and throughput as metrics."""
    attributes = {"service": relay.translator.service}

    def lag(_options: object) -> list[Observation]:
        try:
            head = relay.app.head_position()
        except Exception:
            return []  # store unreachable (or closed): no reading rather than a wrong one
        return [Observation(max(0, head - relay.stats.position), attributes)]

    instruments = instruments or meter()
    instruments.create_observable_gauge(
        "aduan.relay.lag", callbacks=[lag], description="stored but not yet published events"
    )
    instruments.create_observable_gauge(
        "aduan.relay.published",
        callbacks=[lambda _options: [Observation(relay.stats.published, attributes)]],
        description="events published since start",
    )
    instruments.create_observable_gauge(
        "aduan.relay.failures",
        callbacks=[lambda _options: [Observation(relay.stats.failures, attributes)]],
        description="failed publish attempts since start",
    )


def _headers(service: str, position: int, trace_headers: dict[str, str]) -> dict[str, str]:
    return {"Nats-Msg-Id": event_id(service, position), **trace_headers}
