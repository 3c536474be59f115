"""The tracked consumer: in-order processing, duplicates skipped, gaps repaired from the EventLog,
poison messages dead-lettered and terminated, transient failures retried."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aduan.eventstore.store import DuplicateEventError
from aduan.messaging.jetstream import PoisonMessageError, TrackedConsumer
from aduan.v1 import events_pb2


def envelope(
    position: int, previous: int | None = None, service: str = "intake"
) -> events_pb2.Envelope:
    return events_pb2.Envelope(
        event_id=f"{service}:{position}",
        event_type="ComplaintFiled",
        service=service,
        position=position,
        previous_position=position - 1 if previous is None else previous,
        complaint_filed=events_pb2.ComplaintFiled(description=f"event {position}"),
    )


@dataclass
class FakeMsg:
    data: bytes
    subject: str = "aduan.intake.complaint_filed"
    headers: dict[str, str] | None = None
    outcome: str = ""
    nak_delay: float | None = None

    async def ack(self) -> None:
        self.outcome = "ack"

    async def nak(self, delay: float | None = None) -> None:
        self.outcome, self.nak_delay = "nak", delay

    async def term(self) -> None:
        self.outcome = "term"


@dataclass
class FakeJetStream:
    published: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    async def publish(
        self, subject: str, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.published.append((subject, data, headers or {}))


@dataclass
class FakeLink:
    js: Any = field(default_factory=FakeJetStream)


class RecordingProcessor:
    def __init__(self, fail_first: int = 0) -> None:
        self.positions: dict[str, int] = {}
        self.processed: list[str] = []
        self.fail_first = fail_first

    def last_position(self, upstream: str) -> int:
        return self.positions.get(upstream, 0)

    def process(self, envelope: events_pb2.Envelope) -> None:
        if self.fail_first:
            self.fail_first -= 1
            raise ConnectionError("database unavailable")
        if envelope.position <= self.positions.get(envelope.service, 0):
            raise DuplicateEventError(envelope.event_id)
        self.processed.append(envelope.event_id)
        self.positions[envelope.service] = envelope.position


def consumer(
    processor: RecordingProcessor, history: list[events_pb2.Envelope] | None = None
) -> TrackedConsumer:
    async def gap_filler(service: str, after: int, until: int) -> list[events_pb2.Envelope]:
        return [e for e in history or [] if e.service == service and after < e.position <= until]

    return TrackedConsumer(
        FakeLink(),  # type: ignore[arg-type]
        durable="test-consumer",
        upstreams=["intake"],
        processor=processor,
        gap_filler=gap_filler,
    )


async def test_processes_in_order_and_acks() -> None:
    processor = RecordingProcessor()
    subject = consumer(processor)
    messages = [FakeMsg(envelope(p).SerializeToString()) for p in (1, 2, 3)]

    for message in messages:
        await subject.handle(message)

    assert processor.processed == ["intake:1", "intake:2", "intake:3"]
    assert [m.outcome for m in messages] == ["ack"] * 3


async def test_a_redelivered_event_is_acked_and_skipped() -> None:
    processor = RecordingProcessor()
    subject = consumer(processor)
    first, again = (
        FakeMsg(envelope(1).SerializeToString()),
        FakeMsg(envelope(1).SerializeToString()),
    )

    await subject.handle(first)
    await subject.handle(again)

    assert processor.processed == ["intake:1"]
    assert again.outcome == "ack"
    assert subject.stats.duplicates == 1


async def test_a_gap_is_repaired_from_the_event_log_before_the_new_event() -> None:
    history = [envelope(p) for p in range(1, 6)]
    processor = RecordingProcessor()
    subject = consumer(processor, history)

    await subject.handle(FakeMsg(history[0].SerializeToString()))
    # Events 2-4 were lost on the way.
    await subject.handle(FakeMsg(history[4].SerializeToString()))

    assert processor.processed == [f"intake:{p}" for p in range(1, 6)]
    assert subject.stats.repaired == 3


async def test_skipped_positions_of_unpublished_events_are_not_a_gap() -> None:
    processor = RecordingProcessor()
    subject = consumer(processor, history=[])
    await subject.handle(FakeMsg(envelope(1).SerializeToString()))

    await subject.handle(FakeMsg(envelope(4, previous=1).SerializeToString()))

    assert processor.processed == ["intake:1", "intake:4"]
    assert subject.stats.repaired == 0


async def test_undecodable_message_goes_to_the_dead_letter_subject_and_is_terminated() -> None:
    processor = RecordingProcessor()
    subject = consumer(processor)
    poison = FakeMsg(b"\xff\xffnot a protobuf", headers={"Nats-Msg-Id": "intake:9"})

    await subject.handle(poison)

    assert poison.outcome == "term"
    dead_subject, data, headers = subject.link.js.published[0]
    assert dead_subject == "aduan.deadletter.test-consumer"
    assert data == poison.data
    assert "undecodable" in headers["Aduan-Dead-Letter-Reason"]
    assert headers["Aduan-Original-Subject"] == "aduan.intake.complaint_filed"
    assert processor.processed == []


async def test_unknown_payload_type_is_dead_lettered() -> None:
    processor = RecordingProcessor()
    subject = consumer(processor)
    no_payload = events_pb2.Envelope(
        event_id="intake:1", event_type="FromTheFuture", service="intake", position=1
    )
    message = FakeMsg(no_payload.SerializeToString())

    await subject.handle(message)

    assert message.outcome == "term"
    assert "FromTheFuture" in subject.link.js.published[0][2]["Aduan-Dead-Letter-Reason"]


async def test_a_transient_failure_is_nacked_for_redelivery_and_then_processed() -> None:
    processor = RecordingProcessor(fail_first=1)
    subject = consumer(processor)
    data = envelope(1).SerializeToString()

    failed = FakeMsg(data)
    await subject.handle(failed)
    redelivered = FakeMsg(data)
    await subject.handle(redelivered)

    assert failed.outcome == "nak"
    assert redelivered.outcome == "ack"
    assert processor.processed == ["intake:1"]


async def test_reconcile_fetches_what_the_broker_never_delivered() -> None:
    history = [envelope(p) for p in range(1, 4)]
    processor = RecordingProcessor()
    subject = consumer(processor, history)

    async def head(service: str) -> int:
        return 3

    subject.head_reader = head
    await subject.handle(FakeMsg(history[0].SerializeToString()))

    # Events 2 and 3 were lost and nothing later arrived to reveal the gap.
    await subject.refresh_heads_when_due()
    assert subject.stats.upstream_lag("intake") == 2
    assert await subject.reconcile() == 2
    assert processor.processed == ["intake:1", "intake:2", "intake:3"]
    assert subject.stats.upstream_lag("intake") == 0


# -- a fetched batch ------------------------------------------------------------------------------


class BatchProcessor(RecordingProcessor):
    """Writes a batch all or nothing, as a processor with one transaction per batch does."""

    def __init__(self, fail_batches: int = 0) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.fail_batches = fail_batches

    def process_batch(self, envelopes: list[events_pb2.Envelope]) -> int:
        if self.fail_batches:
            self.fail_batches -= 1
            raise ConnectionError("database unavailable")
        before = (list(self.processed), dict(self.positions))
        done = 0
        try:
            for e in envelopes:
                if e.position <= self.positions.get(e.service, 0):
                    continue
                if e.previous_position > self.positions.get(e.service, 0):
                    raise RuntimeError(f"gap before {e.event_id}")
                self.process(e)
                done += 1
        except Exception:
            self.processed, self.positions = before
            raise
        self.batches.append([e.event_id for e in envelopes])
        return done


async def test_a_batch_goes_to_the_processor_in_one_call_and_every_message_is_acked() -> None:
    processor = BatchProcessor()
    subject = consumer(processor)
    messages = [FakeMsg(envelope(p).SerializeToString()) for p in (1, 2, 3)]

    await subject.handle_batch(messages)  # type: ignore[arg-type]

    assert processor.batches == [["intake:1", "intake:2", "intake:3"]]
    assert [m.outcome for m in messages] == ["ack"] * 3
    assert subject.stats.processed == 3


async def test_a_batch_with_redeliveries_skips_them_by_the_tracking_record() -> None:
    processor = BatchProcessor()
    subject = consumer(processor)
    await subject.handle_batch([FakeMsg(envelope(1).SerializeToString())])  # type: ignore[list-item]

    again = [FakeMsg(envelope(p).SerializeToString()) for p in (1, 2)]
    await subject.handle_batch(again)  # type: ignore[arg-type]

    assert processor.processed == ["intake:1", "intake:2"]
    assert [m.outcome for m in again] == ["ack", "ack"]
    assert subject.stats.duplicates == 1


async def test_a_gap_inside_a_batch_is_repaired_in_order() -> None:
    history = [envelope(p) for p in range(1, 7)]
    processor = BatchProcessor()
    subject = consumer(processor, history)
    # Events 3 and 4 were lost on the way.
    messages = [FakeMsg(history[p - 1].SerializeToString()) for p in (1, 2, 5, 6)]

    await subject.handle_batch(messages)  # type: ignore[arg-type]

    assert processor.processed == [f"intake:{p}" for p in range(1, 7)]
    assert subject.stats.repaired == 2
    assert [m.outcome for m in messages] == ["ack"] * 4


async def test_a_failed_batch_is_processed_message_by_message() -> None:
    processor = BatchProcessor(fail_batches=1)
    subject = consumer(processor)
    poison = FakeMsg(b"\xff\xffnot a protobuf")
    messages = [FakeMsg(envelope(1).SerializeToString()), poison]
    messages.append(FakeMsg(envelope(2).SerializeToString()))

    await subject.handle_batch(messages)  # type: ignore[arg-type]

    assert processor.processed == ["intake:1", "intake:2"]
    assert [m.outcome for m in messages] == ["ack", "term", "ack"]


async def test_without_process_batch_each_envelope_is_processed_in_order() -> None:
    processor = RecordingProcessor()
    subject = consumer(processor)
    messages = [FakeMsg(envelope(p).SerializeToString()) for p in (1, 1, 2)]

    await subject.handle_batch(messages)  # type: ignore[arg-type]

    assert processor.processed == ["intake:1", "intake:2"]
    assert [m.outcome for m in messages] == ["ack"] * 3
    assert subject.stats.duplicates == 1


class RefusingProcessor(RecordingProcessor):
    """Refuses the envelopes at `refused` positions as poison; records them when skipped."""

    def __init__(self, refused: set[int]) -> None:
        super().__init__()
        self.refused = refused
        self.skipped: list[str] = []

    def process(self, envelope: events_pb2.Envelope) -> None:
        if envelope.position in self.refused:
            raise PoisonMessageError(f"{envelope.event_id}: cannot be processed")
        super().process(envelope)

    def skip(self, envelope: events_pb2.Envelope) -> None:
        if envelope.position <= self.positions.get(envelope.service, 0):
            raise DuplicateEventError(envelope.event_id)
        self.skipped.append(envelope.event_id)
        self.positions[envelope.service] = envelope.position


async def test_a_refused_event_met_in_gap_repair_does_not_take_the_later_events_down() -> None:
    history = [envelope(p) for p in range(1, 6)]
    processor = RefusingProcessor(refused={3})
    subject = consumer(processor, history)
    await subject.handle(FakeMsg(history[0].SerializeToString()))
    # 2-4 were lost on the way; 3 is refused when the repair reads it back.
    later = [FakeMsg(history[4].SerializeToString()), FakeMsg(envelope(6).SerializeToString())]
    for message in later:
        await subject.handle(message)

    assert processor.processed == ["intake:1", "intake:2", "intake:4", "intake:5", "intake:6"]
    assert processor.skipped == ["intake:3"]
    assert [m.outcome for m in later] == ["ack", "ack"]
    (dead,) = subject.link.js.published
    assert dead[0] == "aduan.deadletter.test-consumer"
    assert events_pb2.Envelope.FromString(dead[1]).event_id == "intake:3"
    assert dead[2]["Aduan-Event-Id"] == "intake:3"


async def test_a_refused_message_is_dead_lettered_once_and_passed_over() -> None:
    processor = RefusingProcessor(refused={1})
    subject = consumer(processor)
    refused, after = (
        FakeMsg(envelope(1).SerializeToString()),
        FakeMsg(envelope(2).SerializeToString()),
    )
    await subject.handle(refused)
    await subject.handle(after)

    assert processor.skipped == ["intake:1"]
    assert processor.processed == ["intake:2"]
    assert len(subject.link.js.published) == 1
    assert subject.stats.dead_lettered == 1
