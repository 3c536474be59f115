"""NATS JetStream plumbing: connection, the ADUAN stream, the relay's publisher and the tracked
pull consumer that every consuming service uses (docs/architecture.md, rules 1 and 2)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NoStreamResponseError, NotFoundError
from opentelemetry import trace
from opentelemetry.metrics import Meter, Observation
from opentelemetry.trace import Span, SpanKind

from aduan.contract.envelopes import subject_for
from aduan.core.settings import DEFAULT_STREAM_MAX_AGE_SECONDS, ServiceSettings
from aduan.core.telemetry import continued_span, meter, record_span_error, start_continued_span
from aduan.eventstore.leader import Leadership
from aduan.eventstore.store import DuplicateEventError
from aduan.eventstore.tracking import PositionGapError, follows_on
from aduan.messaging.outbox import OutboundMessage, StreamResetError
from aduan.v1 import events_pb2

log = logging.getLogger(__name__)

STREAM_NAME = "ADUAN"
STREAM_SUBJECTS = ["aduan.>"]
DEAD_LETTER_PREFIX = "aduan.deadletter"
DUPLICATE_WINDOW_SECONDS = 15 * 60


async def connect(settings: ServiceSettings, *, name: str | None = None) -> NatsClient:
    """Connect, retrying forever until it works: a service must start even while NATS is down,
    and keeps accepting commands (the relay catches up later)."""
    options: dict[str, Any] = {
        "servers": [settings.nats_url],
        "name": name or f"aduan-{settings.service}",
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "connect_timeout": 2,
        "error_cb": _log_nats_error,
        "disconnected_cb": _log_disconnected,
        "reconnected_cb": _log_reconnected,
    }
    options.update(nats_security_options(settings))
    delay = 0.2
    while True:
        try:
            return await nats.connect(**options)
        except (TimeoutError, OSError, nats.errors.NoServersError, NatsTimeoutError) as error:
            log.warning(
                "NATS not reachable yet", extra={"error": repr(error), "url": settings.nats_url}
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def nats_security_options(settings: ServiceSettings) -> dict[str, Any]:
    """TLS and credentials for NATS: user/password, a creds file (JWT + nkey) or an nkeys seed."""
    from aduan.messaging.natstls import nats_tls_context

    options: dict[str, Any] = {}
    if settings.nats_user:
        options["user"] = settings.nats_user
        options["password"] = settings.nats_password
    if settings.nats_creds:
        options["user_credentials"] = settings.nats_creds
    if settings.nats_nkeys_seed:
        options["nkeys_seed"] = settings.nats_nkeys_seed
    context = nats_tls_context(settings)
    if context is not None:
        options["tls"] = context
    return options


async def _log_nats_error(error: Exception) -> None:
    log.warning("NATS error", extra={"error": repr(error)})


async def _log_disconnected() -> None:
    log.warning("NATS disconnected")


async def _log_reconnected() -> None:
    log.info("NATS reconnected")


async def ensure_stream(
    js: JetStreamContext,
    replicas: int = 1,
    max_age_seconds: float = DEFAULT_STREAM_MAX_AGE_SECONDS,
) -> None:
    """Create the ADUAN stream, or bring its configuration up to date; safe to call at every start.
    `max_age_seconds` 0 keeps events for ever."""
    config = StreamConfig(
        name=STREAM_NAME,
        subjects=STREAM_SUBJECTS,
        storage=StorageType.FILE,
        max_age=max_age_seconds,
        # JetStream refuses a duplicate window longer than the age limit.
        duplicate_window=(
            min(DUPLICATE_WINDOW_SECONDS, max_age_seconds)
            if max_age_seconds
            else DUPLICATE_WINDOW_SECONDS
        ),
        num_replicas=replicas,
        description="Aduan integration events (aduan.v1.Envelope); rebuildable from the stores",
    )
    try:
        await js.stream_info(STREAM_NAME)
    except NotFoundError:
        try:
            await js.add_stream(config)
            return
        except BadRequestError:
            pass  # another service created it meanwhile
    await js.update_stream(config)


class JetStreamPublisher:
    """Publishes a batch pipelined (publish_async) and waits for every PubAck."""

    def __init__(self, js: JetStreamContext, *, ack_timeout: float = 5.0) -> None:
        self.js = js
        self.ack_timeout = ack_timeout

    async def publish_batch(self, messages: Sequence[OutboundMessage]) -> None:
        futures = [
            await self.js.publish_async(
                m.subject, m.data, headers=m.headers, wait_stall=self.ack_timeout
            )
            for m in messages
        ]
        acks = await asyncio.wait_for(asyncio.gather(*futures), timeout=self.ack_timeout)
        for message, ack in zip(messages, acks, strict=True):
            if ack.stream != STREAM_NAME:
                raise RuntimeError(
                    f"event {message.position} stored in {ack.stream}, not {STREAM_NAME}"
                )


# -- consuming ----------------------------------------------------------------------------------


class PoisonMessageError(Exception):
    """The message can never be processed; it goes to the dead-letter subject."""


class EnvelopeProcessor(Protocol):
    """What a consuming service provides: its effect plus the tracking record, atomically."""

    def last_position(self, upstream: str) -> int:
        """Highest position of `upstream` already processed (0 when none)."""

    def process(self, envelope: events_pb2.Envelope) -> None:
        """Write the effect and the tracking record (envelope.service, envelope.position) in one
        transaction. Raise DuplicateEventError when the tracking record already exists."""


class SkippingEnvelopeProcessor(EnvelopeProcessor, Protocol):
    """A processor that can record an envelope it refused (PoisonMessageError) as processed
    without effect, so that the upstream's later events still follow on. Without it, the next
    event's gap repair would meet the refused one again, and again for every later event."""

    def skip(self, envelope: events_pb2.Envelope) -> None:
        """Write only the tracking record (envelope.service, envelope.position); raise
        DuplicateEventError when it exists."""


class BatchEnvelopeProcessor(EnvelopeProcessor, Protocol):
    """A processor that can also write the effects of many envelopes in one transaction."""

    def process_batch(self, envelopes: Sequence[events_pb2.Envelope]) -> int:
        """Process `envelopes` (in order) in one transaction, skipping those already tracked;
        return how many were processed. On any error nothing is written and the consumer
        processes the envelopes one by one instead (where gaps are repaired first)."""


def process_each(processor: EnvelopeProcessor, envelopes: Sequence[events_pb2.Envelope]) -> int:
    """`process_batch` for a store that cannot write a batch in one transaction: each envelope in
    its own, those already tracked skipped. Returns how many were processed."""
    processed = 0
    for envelope in envelopes:
        try:
            processor.process(envelope)
        except DuplicateEventError:
            continue
        processed += 1
    return processed


# The consumer's span of each envelope of the batch being processed, by (service, position).
_batch_spans: contextvars.ContextVar[Mapping[tuple[str, int], Span] | None] = (
    contextvars.ContextVar("aduan_batch_spans", default=None)
)


@contextlib.contextmanager
def envelope_span(envelope: events_pb2.Envelope) -> Iterator[None]:
    """In a processor's `process_batch`: the consumer's span of `envelope` made current, so that
    what is done in reaction to it continues its trace (as `process` does, which runs under it).
    Outside a batch, nothing changes."""
    spans = _batch_spans.get()
    span = spans.get((envelope.service, envelope.position)) if spans else None
    if span is None:
        yield
        return
    with trace.use_span(span, end_on_exit=False):
        yield


GapFiller = Callable[[str, int, int], Awaitable[list[events_pb2.Envelope]]]
"""(upstream service, after position, up to position inclusive) -> envelopes read from its EventLog."""


@dataclass
class ConsumerStats:
    processed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    repaired: int = 0
    pending: int = 0
    # Per upstream: its EventLog head as last read, and the last position processed here.
    heads: dict[str, int] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)

    def upstream_lag(self, upstream: str) -> int:
        return max(0, self.heads.get(upstream, 0) - self.positions.get(upstream, 0))


class TrackedConsumer:
    """A durable pull consumer that feeds envelopes, in order, to an EnvelopeProcessor.

    Per message: decode -> skip if already tracked -> repair a gap from the EventLog -> process
    -> ack. Undecodable messages go to `aduan.deadletter.<durable>` and are terminated, never
    redelivered forever. Transient failures are nak'ed with a delay and retried.

    The hot path works on what one fetch returned: the envelopes that follow on from the
    positions already processed go to the processor in one worker-thread call (one transaction
    when it has `process_batch`) and are acked after it returned. An envelope that reveals a gap,
    and every envelope of a batch that failed, take the per-message path above. Duplicates are
    recognised by the processor's tracking records (DuplicateEventError), never by memory alone.
    """

    def __init__(
        self,
        link: NatsLink,
        *,
        durable: str,
        upstreams: Sequence[str],
        processor: EnvelopeProcessor,
        gap_filler: GapFiller | None = None,
        batch_size: int = 256,
        ack_wait_seconds: float = 30.0,
        dropped: Callable[[events_pb2.Envelope], bool] | None = None,
        head_reader: Callable[[str], Awaitable[int]] | None = None,
        reconcile_seconds: float = 5.0,
        leadership: Leadership | None = None,
    ) -> None:
        self.link = link
        self.durable = durable
        self.upstreams = list(upstreams)
        self.processor = processor
        self.gap_filler = gap_filler
        self.batch_size = batch_size
        self.ack_wait_seconds = ack_wait_seconds
        # Test hook: drop selected messages on the way (acked but not processed), to prove that
        # the EventLog repairs what NATS loses.
        self.dropped = dropped
        # NATS can lose acknowledged messages in bad faults (and a lost *last* message leaves no
        # later one to reveal the gap), so an idle consumer compares its positions with the
        # upstreams' EventLog heads now and then and repairs what is missing.
        self.head_reader = head_reader
        self.reconcile_seconds = reconcile_seconds
        self.leadership = leadership or Leadership()
        self.stats = ConsumerStats()
        self._stopping = asyncio.Event()
        self._last_reconciled = 0.0
        self._heads_read_at = 0.0
        # Per upstream: the position the envelopes handed to the processor follow on from. Only
        # used to tell a gap (then the per-message path reads the tracking record); forgotten
        # whenever a batch fails or the subscription or leadership changes.
        self._following: dict[str, int] = {}

    @property
    def dead_letter_subject(self) -> str:
        return f"{DEAD_LETTER_PREFIX}.{self.durable}"

    @property
    def js(self) -> JetStreamContext:
        assert self.link.js is not None
        return self.link.js

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        await self.link.ready()
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_seconds,
            max_deliver=-1,
            max_ack_pending=1000,
            filter_subjects=[f"aduan.{u}.>" for u in self.upstreams],
        )
        try:
            try:
                await self.js.add_consumer(STREAM_NAME, config)
            except NotFoundError:
                # The stream was deleted: re-create it (the relays republish into it).
                await self.link.ensure_stream()
                await self.js.add_consumer(STREAM_NAME, config)
        except BadRequestError as error:
            # An existing durable with other settings keeps its settings; say so and carry on.
            log.warning(
                "consumer exists with other settings",
                extra={"consumer": self.durable, "error": repr(error)},
            )
        return await self.js.pull_subscribe_bind(durable=self.durable, stream=STREAM_NAME)

    async def run(self) -> None:
        subscription: JetStreamContext.PullSubscription | None = None
        try:
            while not self._stopping.is_set():
                if not self.leadership.is_leader:
                    # Only the leader consumes; a follower waits (re-checking now and then for stop).
                    self._following.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.leadership.wait_until_leader(), timeout=1.0)
                    continue
                try:
                    if subscription is None:
                        self._following.clear()
                        subscription = await self._subscribe()
                    try:
                        # Returns what is available at once, else the first messages to arrive.
                        messages = await subscription.fetch(self.batch_size, timeout=1.0)
                    except NatsTimeoutError:
                        self.stats.pending = 0
                        await self.refresh_heads_when_due()
                        await self.reconcile_when_due()
                        continue
                    await self.handle_batch(messages)
                    self.stats.pending = _pending_after(messages[-1]) if messages else 0
                    await self.refresh_heads_when_due()
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.warning(
                        "consumer loop error; retrying",
                        extra={"consumer": self.durable, "error": repr(error)},
                    )
                    subscription = None
                    await asyncio.sleep(1.0)
        finally:
            # An open pull subscription makes the connection's drain wait for its timeout.
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()

    def stop(self) -> None:
        self._stopping.set()

    async def refresh_heads_when_due(self) -> None:
        """Read the upstreams' heads now and then, for the per-upstream lag metric."""
        now = asyncio.get_running_loop().time()
        if self.head_reader is None or now - self._heads_read_at < self.reconcile_seconds:
            return
        self._heads_read_at = now
        for upstream in self.upstreams:
            try:
                self.stats.heads[upstream] = await self.head_reader(upstream)
                if upstream not in self.stats.positions:
                    self.stats.positions[upstream] = await asyncio.to_thread(
                        self.processor.last_position, upstream
                    )
            except Exception as error:
                log.debug("cannot read the head of %s: %r", upstream, error)

    async def reconcile_when_due(self) -> None:
        now = asyncio.get_running_loop().time()
        if self.head_reader is None or now - self._last_reconciled < self.reconcile_seconds:
            return
        self._last_reconciled = now
        try:
            await self.reconcile()
        except Exception as error:
            log.warning(
                "reconciliation failed", extra={"consumer": self.durable, "error": repr(error)}
            )

    async def reconcile(self) -> int:
        """Process every event an upstream stored beyond what this consumer has; returns how many."""
        if self.head_reader is None or self.gap_filler is None:
            return 0
        repaired = 0
        for upstream in self.upstreams:
            head = await self.head_reader(upstream)
            last = await asyncio.to_thread(self.processor.last_position, upstream)
            self.stats.heads[upstream] = head
            self.stats.positions[upstream] = max(last, self.stats.positions.get(upstream, 0))
            if head <= last:
                continue
            for envelope in await self.gap_filler(upstream, last, head):
                if await self._process_one(envelope):
                    repaired += 1
        self.stats.repaired += repaired
        if repaired:
            log.warning(
                "repaired events missing from NATS",
                extra={"consumer": self.durable, "count": repaired},
            )
        return repaired

    async def handle_batch(self, messages: Sequence[Msg]) -> None:
        """Process fetched messages in order: runs that follow on from the processed positions
        in one worker-thread call, the rest one by one (see the class docstring)."""
        run: list[tuple[Msg, events_pb2.Envelope]] = []
        for message in messages:
            try:
                envelope = decode_envelope(message.data)
            except PoisonMessageError as error:
                await self._dead_letter(message, str(error))
                continue
            if self.dropped is not None and self.dropped(envelope):
                await message.ack()
                continue
            following = self._following.get(envelope.service)
            if following is None:
                following = await asyncio.to_thread(self.processor.last_position, envelope.service)
            if envelope.previous_position > following:
                # A gap, or events processed elsewhere meanwhile: the per-message path reads the
                # tracking record and repairs from the EventLog.
                await self._process_run(run)
                run = []
                self._following.pop(envelope.service, None)
                await self.handle(message)
                continue
            run.append((message, envelope))
            self._following[envelope.service] = max(following, envelope.position)
        await self._process_run(run)

    async def _process_run(self, run: Sequence[tuple[Msg, events_pb2.Envelope]]) -> None:
        if not run:
            return
        try:
            await asyncio.to_thread(
                self._process_envelopes, [envelope for _, envelope in run], [m for m, _ in run]
            )
        except Exception as error:
            log.info(
                "batch failed; processing its messages one by one",
                extra={"consumer": self.durable, "count": len(run), "error": repr(error)},
            )
            self._following.clear()
            for message, _ in run:
                await self.handle(message)
            return
        for message, _ in run:
            await message.ack()

    def _process_envelopes(
        self, envelopes: Sequence[events_pb2.Envelope], messages: Sequence[Msg]
    ) -> None:
        """In a worker thread: the whole run in one transaction when the processor can, else
        each envelope in its own, under its own span (so that reactions continue the trace)."""
        process_batch = getattr(self.processor, "process_batch", None)
        if process_batch is None:
            for envelope, message in zip(envelopes, messages, strict=True):
                with self._span(envelope, message):
                    try:
                        self.processor.process(envelope)
                    except DuplicateEventError:
                        self.stats.duplicates += 1
                        continue
                self._processed(envelope)
            return
        headers = [message.headers or {} for message in messages]
        spans = [
            start_continued_span(
                f"process {envelope.event_type}",
                h.get("traceparent", envelope.traceparent),
                h.get("tracestate", envelope.tracestate),
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.consumer.group.name": self.durable,
                    "aduan.event_id": envelope.event_id,
                },
            )
            for envelope, h in zip(envelopes, headers, strict=True)
        ]
        token = _batch_spans.set(
            {(e.service, e.position): span for e, span in zip(envelopes, spans, strict=True)}
        )
        try:
            processed = process_batch(envelopes)
        except Exception as error:
            for span in spans:
                record_span_error(span, error)
            raise
        finally:
            _batch_spans.reset(token)
            for span in spans:
                span.end()
        self.stats.duplicates += len(envelopes) - processed
        for envelope in envelopes:
            self._processed(envelope, count=False)
        self.stats.processed += processed

    def _span(
        self, envelope: events_pb2.Envelope, message: Msg
    ) -> contextlib.AbstractContextManager[Any]:
        headers = message.headers or {}
        return continued_span(
            f"process {envelope.event_type}",
            headers.get("traceparent", envelope.traceparent),
            headers.get("tracestate", envelope.tracestate),
            kind=SpanKind.CONSUMER,
            **{
                "messaging.consumer.group.name": self.durable,
                "aduan.event_id": envelope.event_id,
            },
        )

    def _processed(self, envelope: events_pb2.Envelope, *, count: bool = True) -> None:
        if count:
            self.stats.processed += 1
        self.stats.positions[envelope.service] = max(
            envelope.position, self.stats.positions.get(envelope.service, 0)
        )

    async def handle(self, message: Msg) -> None:
        try:
            envelope = decode_envelope(message.data)
        except PoisonMessageError as error:
            await self._dead_letter(message, str(error))
            return
        if self.dropped is not None and self.dropped(envelope):
            await message.ack()
            return
        try:
            with self._span(envelope, message):
                await self.process_in_order(envelope)
        except PoisonMessageError as error:
            await self._dead_letter(message, str(error))
            return
        except Exception as error:
            log.warning(
                "processing failed; will retry",
                extra={
                    "consumer": self.durable,
                    "event_id": envelope.event_id,
                    "error": repr(error),
                },
            )
            await message.nak(delay=1.0)
            return
        await message.ack()

    async def process_in_order(self, envelope: events_pb2.Envelope) -> None:
        """Process `envelope` unless already done, repairing any gap before it from the EventLog."""
        last = await asyncio.to_thread(self.processor.last_position, envelope.service)
        try:
            fresh = follows_on(
                envelope.service, envelope.position, envelope.previous_position, last
            )
        except PositionGapError:
            await self._repair(envelope.service, last, envelope.position - 1)
        else:
            if not fresh:
                self.stats.duplicates += 1
                return
        await self._process_one(envelope)

    async def _repair(self, upstream: str, after: int, up_to: int) -> None:
        """Process what `upstream` stored after `after` up to `up_to`, read from its EventLog
        (without one, the event is processed anyway and the processor decides)."""
        if self.gap_filler is None:
            return
        for earlier in await self.gap_filler(upstream, after, up_to):
            with continued_span(
                f"repair {earlier.event_type}", earlier.traceparent, earlier.tracestate
            ):
                if await self._process_one(earlier):
                    self.stats.repaired += 1

    async def _process_one(self, envelope: events_pb2.Envelope) -> bool:
        try:
            await asyncio.to_thread(self.processor.process, envelope)
        except DuplicateEventError:
            self.stats.duplicates += 1
            return False
        except PoisonMessageError as error:
            skip = getattr(self.processor, "skip", None)
            if skip is None:
                raise
            # Kept for an operator in the dead letters, passed over here: whether it arrived
            # as this message or was read back to repair a gap, the events after it go on.
            await self._dead_letter_envelope(envelope, str(error))
            with contextlib.suppress(DuplicateEventError):
                await asyncio.to_thread(skip, envelope)
            return False
        self.stats.processed += 1
        self.stats.positions[envelope.service] = max(
            envelope.position, self.stats.positions.get(envelope.service, 0)
        )
        return True

    async def _dead_letter_envelope(self, envelope: events_pb2.Envelope, reason: str) -> None:
        await self.js.publish(
            self.dead_letter_subject,
            envelope.SerializeToString(),
            headers={
                "Aduan-Dead-Letter-Reason": reason[:500],
                "Aduan-Original-Subject": subject_for(envelope.service, envelope.event_type),
                "Aduan-Event-Id": envelope.event_id,
            },
        )
        self.stats.dead_lettered += 1
        log.error(
            "event dead-lettered and passed over",
            extra={"consumer": self.durable, "reason": reason, "event_id": envelope.event_id},
        )

    async def _dead_letter(self, message: Msg, reason: str) -> None:
        headers = dict(message.headers or {})
        headers.update(
            {"Aduan-Dead-Letter-Reason": reason[:500], "Aduan-Original-Subject": message.subject}
        )
        headers.pop("Nats-Msg-Id", None)
        await self.js.publish(self.dead_letter_subject, message.data, headers=headers)
        await message.term()
        self.stats.dead_lettered += 1
        log.error(
            "message dead-lettered",
            extra={"consumer": self.durable, "reason": reason, "subject": message.subject},
        )


def _pending_after(message: Msg) -> int:
    try:
        return int(message.metadata.num_pending)
    except Exception:
        return 0


def observe_consumer(consumer: TrackedConsumer, instruments: Meter | None = None) -> None:
    """Consumer lag and outcomes as metrics (`aduan_consumer_*`)."""
    attributes = {"consumer": consumer.durable}
    instruments = instruments or meter()

    def gauge(name: str, read: Callable[[ConsumerStats], int], description: str) -> None:
        instruments.create_observable_gauge(
            name,
            callbacks=[lambda _options: [Observation(read(consumer.stats), attributes)]],
            description=description,
        )

    gauge(
        "aduan.consumer.lag",
        lambda s: s.pending,
        "messages in the stream not yet delivered to the consumer",
    )
    gauge("aduan.consumer.processed", lambda s: s.processed, "events processed")
    gauge("aduan.consumer.duplicates", lambda s: s.duplicates, "redelivered events skipped")
    gauge(
        "aduan.consumer.dead_letters",
        lambda s: s.dead_lettered,
        "messages sent to the dead-letter subject",
    )
    gauge("aduan.consumer.repaired", lambda s: s.repaired, "events repaired from the EventLog")

    def upstream_lag(_options: object) -> list[Observation]:
        stats = consumer.stats
        return [
            Observation(stats.upstream_lag(upstream), {**attributes, "upstream": upstream})
            for upstream in consumer.upstreams
            if upstream in stats.heads
        ]

    instruments.create_observable_gauge(
        "aduan.consumer.upstream_lag",
        callbacks=[upstream_lag],
        description="events an upstream stored that this consumer has not processed yet (its EventLog head minus the last position processed)",
    )


def decode_envelope(data: bytes) -> events_pb2.Envelope:
    envelope = events_pb2.Envelope()
    try:
        envelope.ParseFromString(data)
    except Exception as error:
        raise PoisonMessageError(f"undecodable envelope: {error}") from error
    if envelope.WhichOneof("payload") is None:
        raise PoisonMessageError(f"unknown or missing payload type {envelope.event_type!r}")
    if not envelope.service or envelope.position <= 0:
        raise PoisonMessageError("envelope without service or position")
    return envelope


class NatsLink:
    """The service's NATS connection, made in the background so that the service starts (and
    takes commands) while NATS is down. The stream is ensured on every (re)connection."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.nc: NatsClient | None = None
        self.js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        self.nc = await connect(self.settings)
        self.js = self.nc.jetstream(timeout=5.0)
        while not self._stopping.is_set():
            try:
                await self.ensure_stream()
                break
            except Exception as error:
                log.warning("cannot ensure the ADUAN stream yet", extra={"error": repr(error)})
                await asyncio.sleep(1.0)
        self._ready.set()
        await self._stopping.wait()

    async def ensure_stream(self) -> None:
        """The stream as this service's settings describe it (replicas, age limit)."""
        assert self.js is not None
        await ensure_stream(
            self.js, self.settings.stream_replicas, self.settings.stream_max_age_seconds
        )

    def stop(self) -> None:
        self._stopping.set()

    async def ready(self) -> JetStreamContext:
        await self._ready.wait()
        assert self.js is not None
        return self.js

    def is_connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected and self._ready.is_set()

    async def healthy(self) -> bool:
        return self.is_connected()

    async def drain(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), timeout=3.0)
            except Exception:
                await self.nc.close()


class LinkPublisher:
    """A JetStreamPublisher over a NatsLink; fails fast (the relay backs off) until connected.

    It notices a deleted stream (no stream answers a publish, or the stream's creation time
    changed), re-creates it and raises StreamResetError so that the relay republishes its log."""

    def __init__(
        self, link: NatsLink, *, ack_timeout: float = 5.0, verify_seconds: float = 1.0
    ) -> None:
        self.link = link
        self.ack_timeout = ack_timeout
        self.verify_seconds = verify_seconds
        self._stream_created: object = None
        self._verified_at = float("-inf")

    async def publish_batch(self, messages: Sequence[OutboundMessage]) -> None:
        if not self.link.is_connected() or self.link.js is None:
            raise ConnectionError("NATS is not connected")
        try:
            await JetStreamPublisher(self.link.js, ack_timeout=self.ack_timeout).publish_batch(
                messages
            )
        except NoStreamResponseError:
            await self.link.ensure_stream()
            self._verified_at = float("-inf")
            raise StreamResetError(f"stream {STREAM_NAME} was missing; re-created") from None

    async def verify_stream(self) -> None:
        """Raise StreamResetError when the stream was re-created since last seen (at most one
        look every `verify_seconds`; nothing while disconnected)."""
        loop = asyncio.get_running_loop()
        if not self.link.is_connected() or self.link.js is None:
            return
        if loop.time() - self._verified_at < self.verify_seconds:
            return
        self._verified_at = loop.time()
        try:
            created = (await self.link.js.stream_info(STREAM_NAME)).created
        except NotFoundError:
            await self.link.ensure_stream()
            created = (await self.link.js.stream_info(STREAM_NAME)).created
            self._stream_created = created
            raise StreamResetError(f"stream {STREAM_NAME} was missing; re-created") from None
        except Exception as error:
            log.debug("cannot read the stream's state: %r", error)
            return
        previous, self._stream_created = self._stream_created, created
        if previous is not None and created != previous:
            raise StreamResetError(f"stream {STREAM_NAME} was re-created")


__all__ = [
    "BatchEnvelopeProcessor",
    "DuplicateEventError",
    "EnvelopeProcessor",
    "JetStreamPublisher",
    "LinkPublisher",
    "NatsLink",
    "PoisonMessageError",
    "SkippingEnvelopeProcessor",
    "TrackedConsumer",
    "connect",
    "decode_envelope",
    "ensure_stream",
    "envelope_span",
    "process_each",
]
