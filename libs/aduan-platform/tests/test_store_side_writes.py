"""The store's unit of work (`SideWrites`, `AduanApplication.save_with`): side-table writes the
application states, run by the store in the events' own transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from notes_service import CTX, Note, NotesApplication

from aduan.eventstore.store import SideWrites, store_env


def _stored(originator_id: uuid.UUID) -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=1, topic="t", state=b"")


def test_writes_run_in_the_order_added_and_included() -> None:
    done: list[str] = []
    inner = SideWrites()
    inner.add(lambda cursor: done.append(f"inner {cursor}"))
    outer = SideWrites()
    outer.add(lambda cursor: done.append(f"first {cursor}"))
    outer.include(inner)
    outer.add(lambda cursor: done.append(f"last {cursor}"))

    outer._run_before_insert("c")

    assert done == ["first c", "inner c", "last c"]


def test_after_insert_is_told_each_aggregates_last_position_and_its_writes_follow() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    told: list[dict[uuid.UUID, int]] = []
    done: list[str] = []
    side = SideWrites()
    side.add(lambda cursor: done.append("before"))

    def record(positions: Mapping[uuid.UUID, int]) -> None:
        told.append(dict(positions))
        side.add(lambda cursor: done.append(f"after {positions[a]} on {cursor}"))

    side.after_insert(record)
    side._run_before_insert("c")
    side._run_after_insert("c", [_stored(a), _stored(b), _stored(a)], [7, 8, 9])

    assert told == [{a: 9, b: 8}]
    assert done == ["before", "after 9 on c"]


def test_an_included_unit_hears_of_the_insert_too() -> None:
    a = uuid.uuid4()
    told: list[int] = []
    inner = SideWrites()
    inner.after_insert(lambda positions: told.append(positions[a]))
    outer = SideWrites()
    outer.include(inner)

    outer._run_after_insert("c", [_stored(a)], [3])

    assert told == [3]


def test_a_retried_transaction_runs_the_same_writes_again() -> None:
    # The PostgreSQL recorder retries a whole insert after a lost connection: the second
    # transaction must write everything the first one did, not nothing.
    a = uuid.uuid4()
    done: list[str] = []
    side = SideWrites()
    side.add(lambda cursor: done.append(f"before {cursor}"))
    side.after_insert(lambda positions: side.add(lambda cursor: done.append(f"after {cursor}")))

    for attempt in ("1", "2"):
        side._run_before_insert(attempt)
        side._run_after_insert(attempt, [_stored(a)], [1])

    assert done == ["before 1", "after 1", "before 2", "after 2"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sql_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NotesApplication]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'notes.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    application = NotesApplication(env=store_env(url, "notes"))
    assert application.joint_writes
    yield application
    application.close()


def _note(text: str) -> Any:
    return Note(text=text, meta=CTX.meta())


def test_claims_and_positions_commit_with_the_events(sql_app: NotesApplication) -> None:
    first, second = _note("satu"), _note("dua")
    second.withdraw(reason="salah", meta=CTX.meta())
    side = SideWrites()
    sql_app.claims.claim_all(side, "label", [("a", str(first.id)), ("b", str(second.id))])

    def record_positions(positions: Mapping[uuid.UUID, int]) -> None:
        sql_app.claims.claim_all(
            side, "position", [(str(n.id), str(positions[n.id])) for n in (first, second)]
        )

    side.after_insert(record_positions)
    recordings = sql_app.save_with(first, second, side=side)

    assert [r.notification.id for r in recordings] == [1, 2, 3]
    assert sql_app.claims.get("label", "a") == str(first.id)
    assert sql_app.claims.get("label", "b") == str(second.id)
    assert sql_app.claims.get("position", str(first.id)) == "1"
    assert sql_app.claims.get("position", str(second.id)) == "3"  # its last event


def test_a_failing_side_write_saves_no_event(sql_app: NotesApplication) -> None:
    sql_app.claims.claim("label", "a", "someone else")
    side = SideWrites()
    sql_app.claims.claim_all(side, "label", [("b", "x"), ("a", "x")])

    with pytest.raises(IntegrityError):
        sql_app.save_with(_note("satu"), side=side)

    assert sql_app.head_position() == 0
    assert sql_app.claims.get("label", "b") is None
    assert sql_app.claims.get("label", "a") == "someone else"


def test_a_violation_seen_while_the_side_writes_run_is_an_integrity_error(
    sql_app: NotesApplication,
) -> None:
    """On PostgreSQL the pipeline may hand back a side write's unique violation while the
    insert's own statements are being sent, before the store's sync: the transaction then
    ends on psycopg's PipelineAborted instead (CI saw it, 2026-12-05). A taken key must still
    reach the caller as the IntegrityError it is."""
    sql_app.claims.claim("label", "a", "someone else")
    side = SideWrites()
    sql_app.claims.claim_all(side, "label", [("a", "x")])

    # The server's answer to the claim arrives while the writes after it are being sent.
    side.add(lambda cursor: time.sleep(0.3))

    with pytest.raises(IntegrityError):
        sql_app.save_with(_note("satu"), side=side)

    assert sql_app.head_position() == 0
    assert sql_app.claims.get("label", "a") == "someone else"


def test_a_failing_write_after_the_insert_saves_no_event(sql_app: NotesApplication) -> None:
    sql_app.claims.claim("position", "taken", "1")
    side = SideWrites()
    side.after_insert(
        lambda positions: sql_app.claims.claim_all(side, "position", [("taken", "2")])
    )

    with pytest.raises(IntegrityError):
        sql_app.save_with(_note("satu"), side=side)

    assert sql_app.head_position() == 0


def test_reactions_track_and_write_together(sql_app: NotesApplication) -> None:
    side = SideWrites()
    sql_app.claims.claim_all(side, "label", [("a", "1")])

    sql_app.save_reactions({"up": 5}, _note("satu"), follows={"up": 0}, side=side)

    assert sql_app.tracked_position("up") == 5
    assert sql_app.claims.get("label", "a") == "1"
    assert sql_app.head_position() == 1
