"""Time travel, stable pagination under concurrent inserts, and long audit trails."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aduan.v1 import common_pb2, events_pb2
from aduan_devtools.testing.query import EPOCH, History, file_complaint, office, officer, scenario
from aduan_query.history import STATE_COLUMNS, as_utc, is_overdue
from aduan_query.projector import Projector
from aduan_query.readmodels import make_engine, migrate
from aduan_query.views import ComplaintFilter, ComplaintQueries


def state(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: as_utc(v) if isinstance(v, datetime) else v for k, v in row.items() if k in STATE_COLUMNS
    }


def everything(
    queries: ComplaintQueries, as_of: datetime | None = None, **filters: Any
) -> list[dict[str, Any]]:
    return [state(r) for r in queries.iterate_complaints(ComplaintFilter(**filters), as_of=as_of)]


def _forgotten(row: dict[str, Any], erased: set[str]) -> dict[str, Any]:
    if row and row["complaint_id"] in erased:
        return {**row, "subject": "", "description": ""}
    return row


def test_state_as_of_t_equals_the_state_observed_at_t(tmp_path: Path) -> None:
    history, ids = scenario(150, seed=11, days=10)
    envelopes = history.in_history_order()
    live = make_engine(f"sqlite:///{tmp_path / 'live.sqlite'}")
    migrate(live)
    projector, queries = Projector(live), ComplaintQueries(live)
    rng = random.Random(2)
    checkpoints = sorted(rng.sample(range(10, len(envelopes) - 1), 12))
    sample = rng.sample(ids, 20)
    observed: dict[datetime, tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]] = {}
    for index, envelope in enumerate(envelopes):
        projector.process(envelope)
        if index in checkpoints:
            now = as_utc(envelope.occurred_at.ToDatetime())
            following = as_utc(envelopes[index + 1].occurred_at.ToDatetime())
            if following == now:
                continue  # not a moment between two events
            moment = now + (following - now) / 2
            singles: dict[str, dict[str, Any]] = {}
            for complaint_id in sample:
                try:
                    singles[complaint_id] = state(queries.get_complaint(complaint_id))
                except Exception:
                    singles[complaint_id] = {}
            observed[moment] = (everything(queries), singles)
    assert len(observed) >= 8
    # An erasure reaches into the past: a complaint whose reporter is erased by now keeps no
    # free text in any of its versions (aduan_query.erasure).
    erased = {e.complaint_id for e in envelopes if e.WhichOneof("payload") == "reporter_erased"}
    assert erased
    observed = {
        moment: (
            [_forgotten(row, erased) for row in listed],
            {cid: _forgotten(row, erased) for cid, row in singles.items()},
        )
        for moment, (listed, singles) in observed.items()
    }

    # The same history projected in another order (routing ahead of intake) must remember the
    # same past: time travel is computed from history, not from arrival order.
    shuffled = make_engine(f"sqlite:///{tmp_path / 'shuffled.sqlite'}")
    migrate(shuffled)
    other = Projector(shuffled)
    for envelope in history.interleaved(random.Random(9)):
        other.process(envelope)

    overdue_seen = 0
    for engine in (live, shuffled):
        queries = ComplaintQueries(engine)
        for moment, (listed, singles) in observed.items():
            assert everything(queries, as_of=moment) == listed, moment
            for complaint_id, expected in singles.items():
                if expected:
                    assert state(queries.get_complaint(complaint_id, as_of=moment)) == expected
            overdue = everything(queries, as_of=moment, overdue_only=True)
            assert overdue == [row for row in listed if is_overdue(row, moment)]
            overdue_seen += len(overdue)
    assert overdue_seen  # the scenario has overdue complaints at some checkpoints


def test_pages_neither_repeat_nor_skip_while_complaints_are_added(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'paging.sqlite'}")
    migrate(engine)
    projector, queries = Projector(engine), ComplaintQueries(engine)
    seed = History()
    existing = [
        file_complaint(seed, EPOCH + timedelta(minutes=i // 3), "32.73")[0] for i in range(300)
    ]
    seed.seal()
    for envelope in seed.in_history_order():
        projector.process(envelope)

    later = History()
    for i in range(400):
        file_complaint(later, EPOCH + timedelta(days=1, seconds=i), "32.73")
    later.seal()
    for log in later.logs.values():  # positions continue after the seeded ones
        for envelope in log:
            envelope.position += len(seed.logs[envelope.service])
            envelope.previous_position = envelope.position - 1
            envelope.event_id = f"{envelope.service}:{envelope.position}"
    stop = threading.Event()
    progress = threading.Condition()
    inserted = 0

    def insert_concurrently() -> None:
        nonlocal inserted
        for envelope in later.interleaved(random.Random(4)):
            if stop.is_set():
                return
            projector.process(envelope)
            with progress:
                inserted += 1
                progress.notify_all()

    def let_writer_insert(count: int) -> None:
        """Between two pages, wait until the writer has stored `count` more events."""
        with progress:
            target = inserted + count
            progress.wait_for(lambda: inserted >= target or not writer.is_alive(), timeout=10)

    writer = threading.Thread(target=insert_concurrently)
    writer.start()
    try:
        seen: list[str] = []
        token = ""
        spec = ComplaintFilter(office_code="", regency_code="32.73")
        while True:
            page = queries.list_complaints(spec, size=7, token=token)
            seen.extend(row["complaint_id"] for row in page.rows)
            token = page.next_token
            if not token:
                break
            let_writer_insert(15)
    finally:
        stop.set()
        writer.join()
    assert len(seen) == len(set(seen)), "a complaint appeared on two pages"
    assert set(existing) <= set(seen), "a complaint that existed all along was skipped"
    assert len(seen) > len(existing)  # complaints added meanwhile showed up at the end


def test_a_complaint_with_1000_events_has_its_whole_trail_in_order(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'trail.sqlite'}")
    migrate(engine)
    projector, queries = Projector(engine), ComplaintQueries(engine)
    history = History()
    complaint_id, ticket = file_complaint(history, EPOCH, "32.73")  # 2 events
    rng = random.Random(8)
    t = EPOCH + timedelta(minutes=1)
    holder, other = "KANTAH.32.73", "KANWIL.32"
    history.add(t, complaint_id, events_pb2.CaseRouted(to_office=office(holder)))
    for i in range(997):
        if rng.random() < 0.7:
            t += timedelta(seconds=rng.choice([0, 1, 30]))  # equal times across services too
        choice = i % 4
        if choice == 0:
            history.add(
                t,
                complaint_id,
                events_pb2.CaseReassigned(
                    kind=common_pb2.REASSIGNMENT_KIND_TRANSFER,
                    from_office=office(holder),
                    to_office=office(other),
                    reason_code=common_pb2.REASON_CODE_OTHER,
                    note=f"hand-over {i}",
                ),
                officer(holder, i),
            )
            holder, other = other, holder
        elif choice == 1:
            history.add(t, complaint_id, events_pb2.ReporterMessageAdded(text=f"pesan {i}"))
        elif choice == 2:
            history.add(t, complaint_id, events_pb2.DeliverySent(delivery_id=f"d{i}", attempt=1))
        else:
            history.add(
                t,
                complaint_id,
                events_pb2.ReporterAnswered(office=office(holder), text=f"jawab {i}"),
                officer(holder, i),
            )
    history.seal()
    expected = history.in_history_order()
    assert len(expected) == 1000
    for envelope in history.interleaved(random.Random(3)):
        projector.process(envelope)

    trail: list[dict[str, Any]] = []
    token = ""
    while True:
        _, page = queries.audit_trail(ticket, size=64, token=token)
        trail.extend(page.rows)
        token = page.next_token
        if not token:
            break
    assert [row["event_id"] for row in trail] == [e.event_id for e in expected]
    keys = [(as_utc(r["occurred_at"]), r["service"], r["position"]) for r in trail]
    assert keys == sorted(keys)
    transfers = [r for r in trail if r["event_type"] == "CaseReassigned"]
    assert len(transfers) == 250
    assert all(
        r["from_office"] and r["to_office"] and r["reason_code"] == "OTHER" for r in transfers
    )
    assert all(r["actor_id"].startswith("officer-") for r in transfers)
    view = queries.get_complaint(complaint_id)
    assert view["reassignment_count"] == 250
    custody = queries.custody(complaint_id)
    assert len(custody) == 251
    assert [c["office_code"] for c in custody[:3]] == ["KANTAH.32.73", "KANWIL.32", "KANTAH.32.73"]
