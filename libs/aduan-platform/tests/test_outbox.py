"""The outbox relay publishes every stored event once, in order, and saves its position only
after the broker acknowledged."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from notes_service import CTX, NotesApplication, notes_translator

from aduan.eventstore.store import AduanApplication
from aduan.messaging.outbox import OutboundMessage, OutboxRelay
from aduan.v1 import events_pb2


class RecordingPublisher:
    def __init__(self, fail_times: int = 0) -> None:
        self.fail_times = fail_times
        self.published: list[OutboundMessage] = []

    async def publish_batch(self, messages: Sequence[OutboundMessage]) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("broker down")
        self.published.extend(messages)


def envelopes(publisher: RecordingPublisher) -> list[events_pb2.Envelope]:
    result = []
    for message in publisher.published:
        envelope = events_pb2.Envelope()
        envelope.ParseFromString(message.data)
        result.append(envelope)
    return result


async def test_publishes_each_event_with_its_message_id_subject_and_trace(
    notes_app: NotesApplication,
) -> None:
    for text in ("pertama", "kedua", "ketiga"):
        notes_app.write(text)
    publisher = RecordingPublisher()
    relay = OutboxRelay(notes_app, notes_translator(), publisher)

    assert await relay.relay_once() == 3

    assert [m.headers["Nats-Msg-Id"] for m in publisher.published] == [
        "intake:1",
        "intake:2",
        "intake:3",
    ]
    assert {m.subject for m in publisher.published} == {"aduan.intake.complaint_filed"}
    assert all(m.headers["traceparent"] == CTX.traceparent for m in publisher.published)
    published = envelopes(publisher)
    assert [e.complaint_filed.description for e in published] == ["pertama", "kedua", "ketiga"]
    assert [e.previous_position for e in published] == [0, 1, 2]
    assert published[0].actor.id == "system:tests"
    assert notes_app.tracked_position(AduanApplication.OUTBOX_TRACKING_NAME) == 3


async def test_position_is_not_saved_when_publishing_fails(notes_app: NotesApplication) -> None:
    notes_app.write("satu")
    publisher = RecordingPublisher(fail_times=1)
    relay = OutboxRelay(notes_app, notes_translator(), publisher)

    with pytest.raises(ConnectionError):
        await relay.relay_once()
    assert notes_app.tracked_position(AduanApplication.OUTBOX_TRACKING_NAME) == 0

    assert await relay.relay_once() == 1
    assert [m.position for m in publisher.published] == [1]


async def test_a_new_relay_resumes_after_the_saved_position(notes_app: NotesApplication) -> None:
    notes_app.write("a")
    notes_app.write("b")
    first = RecordingPublisher()
    await OutboxRelay(notes_app, notes_translator(), first).relay_once()
    notes_app.write("c")

    # As after a crash: a fresh relay over the same store.
    second = RecordingPublisher()
    await OutboxRelay(notes_app, notes_translator(), second).relay_once()

    assert [m.position for m in first.published] == [1, 2]
    assert [m.position for m in second.published] == [3]
    assert envelopes(second)[0].previous_position == 2


async def test_batches_respect_the_batch_size(notes_app: NotesApplication) -> None:
    for i in range(5):
        notes_app.write(f"catatan {i}")
    publisher = RecordingPublisher()
    relay = OutboxRelay(notes_app, notes_translator(), publisher, batch_size=2)

    assert [await relay.relay_once() for _ in range(4)] == [2, 2, 1, 0]
    assert [m.position for m in publisher.published] == [1, 2, 3, 4, 5]


async def test_flush_publishes_everything_stored(notes_app: NotesApplication) -> None:
    for i in range(7):
        notes_app.write(f"n{i}")
    publisher = RecordingPublisher(fail_times=1)
    relay = OutboxRelay(notes_app, notes_translator(), publisher, batch_size=3)

    assert await relay.flush(within_seconds=5)
    assert [m.position for m in publisher.published] == list(range(1, 8))
