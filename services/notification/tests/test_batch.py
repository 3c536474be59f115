"""The consumer's batch path: a fetched batch's deliveries, complaint records, ticket claims and
tracking records in one transaction, with the same outcome as one by one; replays skipped;
a failing batch writes nothing, and the consumer still processes its good envelopes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from test_consumer import FakeLink, FakeMsg

from aduan.core.errors import InvalidStateError, NotFoundError
from aduan.eventstore.checkpoint import CheckpointSealer, load_signer
from aduan.eventstore.store import DuplicateEventError, store_env
from aduan.eventstore.tracking import PositionGapError
from aduan.messaging.jetstream import TrackedConsumer
from aduan.v1 import events_pb2
from aduan_devtools.testing.notification import (
    ALL_LIVE,
    STORY_DELIVERIES,
    Upstream,
    filed,
    office,
    sqlite_app,
    story,
)
from aduan_notification.application import NotificationApplication
from aduan_notification.consumer import NotificationProcessor
from aduan_notification.domain import DeliveryStatus
from aduan_notification.rules import ComplaintNotKnownYetError


@pytest.fixture
def app(tmp_path: Path) -> Iterator[NotificationApplication]:
    application = sqlite_app(tmp_path / "n.db", channels=ALL_LIVE)
    yield application
    application.close()


def interleaved(intake: Upstream, routing: Upstream) -> list[events_pb2.Envelope]:
    """Two complaints' stories, interleaved as a busy stream delivers them."""
    first = story(intake, routing, "c-1", "ADU-2026-AAAAAA")
    second = story(intake, routing, "c-2", "ADU-2026-BBBBBB")
    mixed = [e for pair in zip(first, second, strict=True) for e in pair]
    return sorted(mixed, key=lambda e: (e.position, e.service))


def sealed(upstream: Upstream) -> events_pb2.Envelope:
    upstream.position += 1
    return events_pb2.Envelope(
        event_id=f"{upstream.service}:{upstream.position}",
        service=upstream.service,
        position=upstream.position,
        previous_position=upstream.position - 1,
        checkpoint_sealed=events_pb2.CheckpointSealed(),
    )


def deliveries(app: NotificationApplication, ref: str) -> list[tuple[Any, ...]]:
    return [
        (d.id, d.template, d.recipient_kind.value, d.recipient, d.channel, d.status, d.variables)
        for d in app.list_deliveries(ref)
    ]


def test_a_batch_schedules_what_one_by_one_would_in_one_save(tmp_path: Path) -> None:
    one = sqlite_app(tmp_path / "one.db", channels=ALL_LIVE)
    batch = sqlite_app(tmp_path / "batch.db", channels=ALL_LIVE)
    intake, routing = Upstream("intake"), Upstream("routing")
    stream = [*interleaved(intake, routing), sealed(intake)]
    for envelope in stream:
        NotificationProcessor(one).process(envelope)
    committed: list[int] = []
    batch.add_listener(committed.append)

    assert NotificationProcessor(batch).process_batch(stream) == len(stream)

    assert len(committed) == 1
    for ref in ("ADU-2026-AAAAAA", "ADU-2026-BBBBBB"):
        assert deliveries(batch, ref) == deliveries(one, ref)
        assert sorted((d[1], d[2]) for d in deliveries(batch, ref)) == sorted(STORY_DELIVERIES)
    for complaint_id in ("c-1", "c-2"):
        assert batch.contact(complaint_id) == one.contact(complaint_id)
    for service in ("intake", "routing"):
        assert batch.tracked_position(service) == one.tracked_position(service)
    one.close()
    batch.close()


def test_replayed_envelopes_schedule_nothing_again(app: NotificationApplication) -> None:
    processor = NotificationProcessor(app)
    intake, routing = Upstream("intake"), Upstream("routing")
    stream = interleaved(intake, routing)
    assert processor.process_batch(stream[:5]) == 5
    head = app.head_position()

    assert processor.process_batch(stream[:5]) == 0
    assert app.head_position() == head
    # A batch that starts with redeliveries processes only what is new.
    assert processor.process_batch(stream) == len(stream) - 5
    with pytest.raises(DuplicateEventError):
        processor.process(stream[0])
    assert len(app.list_deliveries("c-1")) == len(STORY_DELIVERIES)
    assert len(app.list_deliveries("c-2")) == len(STORY_DELIVERIES)


def test_a_failing_batch_writes_nothing(app: NotificationApplication) -> None:
    intake, routing = Upstream("intake"), Upstream("routing")
    batch = [
        intake.envelope("c-1", complaint_filed=filed("ADU-2026-CCCCCC")),
        # A routing event of a complaint whose filing was not processed yet.
        routing.envelope(
            "c-9", case_routed=events_pb2.CaseRouted(to_office=office("KANTAH.32.73"))
        ),
    ]

    with pytest.raises(ComplaintNotKnownYetError):
        NotificationProcessor(app).process_batch(batch)

    assert app.head_position() == 0
    assert app.tracked_position("intake") == app.tracked_position("routing") == 0
    assert app.contact("c-1") is None
    with pytest.raises(NotFoundError):
        app.resolve_complaint("ADU-2026-CCCCCC")


def test_a_crash_inside_the_transaction_leaves_nothing_half_done(
    app: NotificationApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake, routing = Upstream("intake"), Upstream("routing")
    stream = story(intake, routing, "c-1", "ADU-2026-DDDDDD")
    recorder: Any = app.recorder

    def crash(*_: object) -> None:
        raise RuntimeError("process died while writing the tracking record")

    monkeypatch.setattr(recorder, "_insert_tracking", crash)
    with pytest.raises(RuntimeError):
        NotificationProcessor(app).process_batch(stream)
    monkeypatch.undo()

    assert app.head_position() == 0
    assert app.contact("c-1") is None
    assert app.claims.get("ticket", "ADU-2026-DDDDDD") is None
    assert NotificationProcessor(app).process_batch(stream) == len(stream)
    assert len(app.list_deliveries("ADU-2026-DDDDDD")) == len(STORY_DELIVERIES)


def test_an_event_that_does_not_follow_on_is_refused(app: NotificationApplication) -> None:
    intake = Upstream("intake", position=4)
    late = intake.envelope("c-1", complaint_filed=filed("ADU-2026-EEEEEE"))
    with pytest.raises(PositionGapError):
        NotificationProcessor(app).process_batch([late])
    assert app.head_position() == 0


async def test_the_consumer_keeps_a_batchs_good_envelopes_when_one_fails(
    app: NotificationApplication,
) -> None:
    intake = Upstream("intake")
    consumer = TrackedConsumer(
        FakeLink(),  # type: ignore[arg-type]
        durable="notification",
        upstreams=["intake", "routing"],
        processor=NotificationProcessor(app),
    )
    good = intake.envelope("c-1", complaint_filed=filed("ADU-2026-FFFFFF"))
    # Decodable, but no complaint id: never processable, so dead-lettered and passed over.
    bad = intake.envelope("", complaint_filed=filed("ADU-2026-GGGGGG"))
    after = intake.envelope("c-3", complaint_filed=filed("ADU-2026-HHHHHH"))
    messages = [FakeMsg(e.SerializeToString()) for e in (good, bad, after)]

    await consumer.handle_batch(messages)  # type: ignore[arg-type]

    assert [m.outcome for m in messages] == ["ack", "ack", "ack"]
    ((subject, data, _),) = consumer.link.js.published
    assert subject == "aduan.deadletter.notification"
    assert data == bad.SerializeToString()
    with pytest.raises(NotFoundError):
        app.list_deliveries("ADU-2026-GGGGGG")
    assert len(app.list_deliveries("ADU-2026-FFFFFF")) == 1
    assert len(app.list_deliveries("ADU-2026-HHHHHH")) == 1
    assert app.tracked_position("intake") == 3


@pytest.mark.integration
@pytest.mark.postgres
def test_the_batch_path_on_postgres(postgres_url: str) -> None:
    app = NotificationApplication(env=store_env(postgres_url, "notification"), channels=ALL_LIVE)
    try:
        processor = NotificationProcessor(app)
        intake, routing = Upstream("intake"), Upstream("routing")
        stream = interleaved(intake, routing)
        assert processor.process_batch(stream[:5]) == 5
        # Records written by the first batch are read back (in one query) by the second.
        assert processor.process_batch(stream) == len(stream) - 5
        assert processor.process_batch(stream) == 0
        for ref in ("ADU-2026-AAAAAA", "ADU-2026-BBBBBB"):
            assert len(app.list_deliveries(ref)) == len(STORY_DELIVERIES)
        assert app.contact("c-1") is not None
        head = app.head_position()
        failing = [
            intake.envelope("c-5", complaint_filed=filed("ADU-2026-IIIIII")),
            routing.envelope("c-9", case_routed=events_pb2.CaseRouted(to_office=office("X"))),
        ]
        with pytest.raises(ComplaintNotKnownYetError):
            processor.process_batch(failing)
        assert app.head_position() == head
        assert app.contact("c-5") is None
    finally:
        app.close()


def scheduled(app: NotificationApplication, count: int) -> list[Any]:
    intake = Upstream("intake")
    for n in range(count):
        NotificationProcessor(app).process(
            intake.envelope(f"c-{n}", complaint_filed=filed(f"ADU-2026-S{n:05d}"))
        )
    return [app.list_deliveries(f"c-{n}")[0] for n in range(count)]


def attempt(delivery: Any, meta: dict[str, Any]) -> None:
    delivery.attempt(meta)


def test_the_senders_steps_are_saved_in_one_transaction(tmp_path: Path) -> None:
    app = sqlite_app(tmp_path / "steps.db", channels=ALL_LIVE)
    held = scheduled(app, 3)
    committed: list[int] = []
    app.add_listener(committed.append)

    results = app.record_steps([(d, attempt) for d in held])

    assert len(committed) == 1
    for delivery, result in zip(held, results, strict=True):
        assert not isinstance(result, Exception)
        saved, position = result
        assert saved is delivery
        stored = app.get_delivery(delivery.id)
        assert stored.status is DeliveryStatus.ATTEMPTING
        assert stored.attempts == 1
        assert app.decode(app.read_notifications(position - 1, 1)[0]).originator_id == delivery.id
    app.close()


def test_a_stale_or_refused_step_costs_the_others_nothing(tmp_path: Path) -> None:
    app = sqlite_app(tmp_path / "steps.db", channels=ALL_LIVE)
    fresh, stale, final = scheduled(app, 3)
    # Another sender attempts `stale` meanwhile: the object held here is out of date.
    app.record_attempt(stale.id)
    final.attempt({})
    app.save(final)
    final.record_sent(1, "sent-elsewhere", {})
    app.save(final)

    results = app.record_steps([(fresh, attempt), (stale, attempt), (final, attempt)])

    assert not isinstance(results[0], Exception)
    assert app.get_delivery(fresh.id).attempts == 1
    # Applied again to the delivery as stored: its second attempt, recorded once.
    assert not isinstance(results[1], Exception)
    assert app.get_delivery(stale.id).attempts == 2
    assert isinstance(results[2], InvalidStateError)
    assert app.get_delivery(final.id).status is DeliveryStatus.SENT
    app.close()


def test_events_tracked_by_another_process_meanwhile_are_never_processed_twice(
    tmp_path: Path,
) -> None:
    here = sqlite_app(tmp_path / "shared.db", channels=ALL_LIVE)
    elsewhere = sqlite_app(tmp_path / "shared.db", channels=ALL_LIVE)
    intake = Upstream("intake")
    stream = [
        intake.envelope(f"c-{n}", complaint_filed=filed(f"ADU-2026-T{n:05d}")) for n in range(2)
    ]
    stream.append(sealed(intake))  # an event whose effect is only its tracking record
    stream.append(intake.envelope("c-3", complaint_filed=filed("ADU-2026-T00003")))
    processor = NotificationProcessor(here)
    assert processor.process_batch(stream[:2]) == 2
    # A second instance (a former leader) processes the third event meanwhile.
    NotificationProcessor(elsewhere).process(stream[2])
    head = here.head_position()

    # Decided on position 2, the batch would count the third event as its own.
    with pytest.raises(IntegrityError):
        processor.process_batch(stream[2:])

    assert here.head_position() == head
    assert here.tracked_position("intake") == 3
    # One by one (the consumer's fallback): the third is a duplicate, the fourth is new.
    with pytest.raises(DuplicateEventError):
        processor.process(stream[2])
    processor.process(stream[3])
    assert len(here.list_deliveries("c-3")) == 1
    # The batch path decides on the position it learnt, and goes on in batches.
    later = intake.envelope("c-4", complaint_filed=filed("ADU-2026-T00004"))
    assert processor.process_batch([later]) == 1
    here.close()
    elsewhere.close()


def test_a_checkpoint_id_is_no_delivery(tmp_path: Path) -> None:
    """The log holds the sealer's checkpoints too; asking for one by id is NOT_FOUND, not a
    checkpoint dressed as a delivery."""
    app = sqlite_app(tmp_path / "checkpointed.db", channels=ALL_LIVE)
    scheduled(app, 1)
    checkpoint = CheckpointSealer(app, "notification", load_signer("notification", {})).seal_once()
    assert checkpoint is not None
    with pytest.raises(NotFoundError):
        app.get_delivery(checkpoint.id)
    app.close()
