"""The intake consumer's batch path: a fetched batch's cases, ticket claims and tracking records
in one transaction, with the same outcome as one by one; replays skipped; nothing half-done."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from test_consumer import FakeLink, FakeMsg

from aduan.core.errors import NotFoundError
from aduan.eventstore.store import DuplicateEventError, store_env
from aduan.eventstore.tracking import PositionGapError
from aduan.messaging.jetstream import TrackedConsumer
from aduan.v1 import common_pb2, events_pb2
from aduan_routing.application import RoutingApplication
from aduan_routing.consumer import IntakeReactor
from aduan_routing.domain import CaseStatus
from aduan_routing.policy import RoutingPolicy


@pytest.fixture
def store(tmp_path: Path, clock: Any, policy: RoutingPolicy) -> Iterator[RoutingApplication]:
    application = RoutingApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "r.db")},
        policy=policy,
        clock=clock,
    )
    yield application
    application.close()


def envelope(position: int, complaint_id: str, **payload: Any) -> events_pb2.Envelope:
    built = events_pb2.Envelope(
        event_id=f"intake:{position}",
        service="intake",
        position=position,
        previous_position=position - 1,
        complaint_id=complaint_id,
        correlation_id=f"corr-{position}",
        **payload,
    )
    built.occurred_at.FromDatetime(dt.datetime(2026, 3, 17, 3, 0, tzinfo=dt.UTC))
    return built


def filed(position: int, complaint_id: str, ticket: str) -> events_pb2.Envelope:
    return envelope(
        position,
        complaint_id,
        complaint_filed=events_pb2.ComplaintFiled(
            ticket_number=ticket,
            category=common_pb2.CATEGORY_LAND_DISPUTE,
            location=common_pb2.Location(province_code="73", regency_code="73.71"),
        ),
    )


def saves(app: RoutingApplication) -> list[int]:
    """Records every save's last position (one call per committed save with events)."""
    seen: list[int] = []
    app.add_listener(seen.append)
    return seen


def test_a_batch_opens_cases_claims_tickets_and_tracks_in_one_save(
    store: RoutingApplication,
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    batch = [
        filed(1, first, "ADU-2026-AAAAAA"),
        envelope(2, first, status_requested=events_pb2.StatusRequested()),
        filed(3, second, "ADU-2026-BBBBBB"),
        envelope(4, second, complaint_withdrawn=events_pb2.ComplaintWithdrawn(reason="damai")),
        envelope(5, "not-a-uuid", status_requested=events_pb2.StatusRequested()),
    ]
    committed = saves(store)

    assert IntakeReactor(store).process_batch(batch) == 5

    assert len(committed) == 1
    assert store.tracked_position("intake") == 5
    opened = store.get_case("ADU-2026-AAAAAA")
    assert str(opened.id) == first
    assert opened.holder == "KANTAH.73.71"
    assert opened.status is CaseStatus.ASSIGNED
    # Opened and withdrawn within the same batch: both changes saved, in order.
    withdrawn = store.get_case("ADU-2026-BBBBBB")
    assert str(withdrawn.id) == second
    assert withdrawn.status is CaseStatus.WITHDRAWN
    routed = store.decode(store.read_notifications(0, 1)[0])
    assert routed.meta["causation_id"] == "intake:1"
    assert routed.meta["correlation_id"] == "corr-1"


def test_a_batch_ends_as_one_by_one_would(
    tmp_path: Path, clock: Any, policy: RoutingPolicy
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    stream = [filed(n + 1, ids[n], f"ADU-2026-CCCCC{n}") for n in range(3)]
    stream.append(
        envelope(4, ids[0], reporter_message_added=events_pb2.ReporterMessageAdded(text="?"))
    )
    apps = []
    for name in ("one", "batch"):
        apps.append(
            RoutingApplication(
                env={
                    "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                    "SQLITE_DBNAME": str(tmp_path / f"{name}.db"),
                },
                policy=policy,
                clock=clock,
            )
        )
    one, batch = apps
    for item in stream:
        IntakeReactor(one).process(item)
    IntakeReactor(batch).process_batch(stream)

    def state(app: RoutingApplication) -> list[tuple[str, int, str, str]]:
        return [
            (type(e).__name__, e.originator_version, str(e.originator_id), e.meta["causation_id"])
            for e in map(app.decode, app.read_notifications(0, 100))
        ]

    assert state(batch) == state(one)
    assert batch.tracked_position("intake") == one.tracked_position("intake") == 4
    for n in range(3):
        assert batch.resolve_ref(f"ADU-2026-CCCCC{n}") == uuid.UUID(ids[n])
    for app in apps:
        app.close()


def test_replayed_envelopes_are_skipped_by_their_tracking_record(
    store: RoutingApplication,
) -> None:
    reactor = IntakeReactor(store)
    complaint_id = str(uuid.uuid4())
    batch = [filed(1, complaint_id, "ADU-2026-DDDDDD")]
    batch.append(envelope(2, complaint_id, status_requested=events_pb2.StatusRequested()))
    assert reactor.process_batch(batch) == 2
    head = store.head_position()

    assert reactor.process_batch(batch) == 0
    later = filed(3, str(uuid.uuid4()), "ADU-2026-EEEEEE")
    assert reactor.process_batch([*batch, later]) == 1
    with pytest.raises(DuplicateEventError):
        reactor.process(batch[0])
    assert store.head_position() == head + 2
    assert store.tracked_position("intake") == 3


def test_a_failing_batch_writes_nothing_not_even_its_claims(store: RoutingApplication) -> None:
    complaint_id, holder = str(uuid.uuid4()), str(uuid.uuid4())
    # The ticket is held already: the claim inside the batch's transaction fails it.
    store.claims.claim("ticket", "ADU-2026-FFFFFF", holder)
    batch = [
        filed(1, str(uuid.uuid4()), "ADU-2026-GGGGGG"),
        filed(2, complaint_id, "ADU-2026-FFFFFF"),
    ]

    with pytest.raises(IntegrityError):
        IntakeReactor(store).process_batch(batch)

    assert store.head_position() == 0
    assert store.tracked_position("intake") == 0
    with pytest.raises(NotFoundError):
        store.resolve_ref("ADU-2026-GGGGGG")
    # One by one (the consumer's fallback) the held claim is kept and the case still opens.
    for item in batch:
        IntakeReactor(store).process(item)
    assert store.resolve_ref("ADU-2026-FFFFFF") == uuid.UUID(holder)
    assert store.find(uuid.UUID(complaint_id)) is not None
    assert store.tracked_position("intake") == 2


def test_a_crash_inside_the_transaction_leaves_nothing_half_done(
    store: RoutingApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder: Any = store.recorder

    def crash(*_: object) -> None:
        raise RuntimeError("process died while writing the tracking record")

    monkeypatch.setattr(recorder, "_insert_tracking", crash)
    batch = [filed(1, str(uuid.uuid4()), "ADU-2026-HHHHHH")]
    with pytest.raises(RuntimeError):
        IntakeReactor(store).process_batch(batch)
    monkeypatch.undo()

    assert store.head_position() == 0
    assert store.claims.get("ticket", "ADU-2026-HHHHHH") is None
    assert IntakeReactor(store).process_batch(batch) == 1
    assert store.head_position() == 2


def test_an_event_that_does_not_follow_on_is_refused(store: RoutingApplication) -> None:
    late = filed(3, str(uuid.uuid4()), "ADU-2026-JJJJJJ")
    with pytest.raises(PositionGapError):
        IntakeReactor(store).process_batch([late])
    assert store.tracked_position("intake") == 0


async def test_the_consumer_keeps_a_batchs_good_envelopes_when_one_fails(
    store: RoutingApplication,
) -> None:
    first, second, holder = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    store.claims.claim("ticket", "ADU-2026-LLLLLL", holder)
    consumer = TrackedConsumer(
        FakeLink(),  # type: ignore[arg-type]
        durable="routing-intake",
        upstreams=["intake"],
        processor=IntakeReactor(store),
    )
    messages = [
        FakeMsg(filed(1, first, "ADU-2026-KKKKKK").SerializeToString()),
        FakeMsg(b"\xff\xffnot a protobuf"),
        FakeMsg(filed(2, second, "ADU-2026-LLLLLL").SerializeToString()),
    ]
    # The undecodable message is dead-lettered; the second filing's ticket is held already, so
    # the batch's transaction fails, and message by message both filings are processed.
    await consumer.handle_batch(messages)  # type: ignore[arg-type]

    assert [m.outcome for m in messages] == ["ack", "term", "ack"]
    assert store.tracked_position("intake") == 2
    assert store.find(uuid.UUID(first)) is not None
    assert store.find(uuid.UUID(second)) is not None
    assert store.resolve_ref("ADU-2026-KKKKKK") == uuid.UUID(first)
    assert store.resolve_ref("ADU-2026-LLLLLL") == uuid.UUID(holder)


@pytest.mark.integration
@pytest.mark.postgres
def test_the_batch_path_on_postgres(postgres_url: str, clock: Any, policy: RoutingPolicy) -> None:
    app = RoutingApplication(env=store_env(postgres_url, "routing"), policy=policy, clock=clock)
    try:
        reactor = IntakeReactor(app)
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        batch = [
            filed(1, first, "ADU-2026-MMMMMM"),
            filed(2, second, "ADU-2026-NNNNNN"),
            envelope(3, second, complaint_withdrawn=events_pb2.ComplaintWithdrawn(reason="x")),
        ]
        assert reactor.process_batch(batch) == 3
        assert reactor.process_batch(batch) == 0
        assert app.resolve_ref("ADU-2026-MMMMMM") == uuid.UUID(first)
        assert app.get_case("ADU-2026-NNNNNN").status is CaseStatus.WITHDRAWN
        assert app.tracked_position("intake") == 3
        head = app.head_position()
        app.claims.claim("ticket", "ADU-2026-PPPPPP", str(uuid.uuid4()))
        with pytest.raises(IntegrityError):
            reactor.process_batch([filed(4, str(uuid.uuid4()), "ADU-2026-PPPPPP")])
        assert app.head_position() == head
        assert app.tracked_position("intake") == 3
    finally:
        app.close()


def test_events_tracked_by_another_process_meanwhile_are_never_processed_twice(
    tmp_path: Path, clock: Any, policy: RoutingPolicy
) -> None:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "s.db")}
    here = RoutingApplication(env=env, policy=policy, clock=clock)
    elsewhere = RoutingApplication(env=env, policy=policy, clock=clock)
    ids = [str(uuid.uuid4()) for _ in range(4)]
    stream = [filed(n + 1, ids[n], f"ADU-2026-QQQQQ{n}") for n in range(4)]
    # An event whose effect is only its tracking record.
    stream[2] = envelope(3, ids[0], status_requested=events_pb2.StatusRequested())
    reactor = IntakeReactor(here)
    assert reactor.process_batch(stream[:2]) == 2
    IntakeReactor(elsewhere).process(stream[2])
    head = here.head_position()

    # Decided on position 2, the batch would count the third event as its own.
    with pytest.raises(IntegrityError):
        reactor.process_batch(stream[2:])

    assert here.head_position() == head
    assert here.tracked_position("intake") == 3
    with pytest.raises(DuplicateEventError):
        reactor.process(stream[2])
    reactor.process(stream[3])
    assert here.tracked_position("intake") == 4
    assert here.head_position() == 6  # two events per case, each case opened once
    here.close()
    elsewhere.close()
