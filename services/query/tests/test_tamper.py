"""Tamper evidence: `aduan-audit verify --history` recomputes every hash chain and signed
checkpoint from the EventLogs and names the event that was altered, removed or reordered directly
in the database (SQLite and PostgreSQL); an untouched store verifies clean."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from eventsourcing.domain import Aggregate, event

from aduan.contract.envelopes import EnvelopeTranslator
from aduan.contract.eventlog import EventLogServicer
from aduan.core.context import Actor, CommandContext
from aduan.core.settings import WRITE_SERVICES
from aduan.eventstore.chain import verify_log
from aduan.eventstore.checkpoint import CheckpointSealer, load_signer
from aduan.eventstore.store import AduanApplication, store_env
from aduan.v1 import eventlog_pb2_grpc, events_pb2
from aduan_devtools.natsserver import free_port
from aduan_query import cli
from aduan_query.tamper import logged_event

CTX = CommandContext(actor=Actor.system("tests"))


class Ledger(Aggregate):
    @event("Opened")
    def __init__(self, text: str, meta: dict[str, Any]) -> None:
        self.text = text

    @event("Closed")
    def close(self, reason: str, meta: dict[str, Any]) -> None:
        self.reason = reason


class LedgerApplication(AduanApplication):
    name = "ledger"


def translator(service: str) -> EnvelopeTranslator:
    return EnvelopeTranslator(
        service,
        {
            Ledger.Opened: lambda e: events_pb2.ComplaintFiled(description=e.text),  # type: ignore[attr-defined]
            Ledger.Closed: lambda e: events_pb2.ComplaintWithdrawn(reason=e.reason),  # type: ignore[attr-defined]
        },
    )


@dataclass
class Store:
    """Raw access to the stored events, as an attacker with database access has it."""

    url: str
    execute: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]
    table: str
    position: str


def sqlite_store(path: Path) -> Store:
    import sqlite3

    def execute(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with sqlite3.connect(path) as conn:
            return list(conn.execute(sql.replace("%s", "?"), params))

    return Store(f"sqlite:///{path}", execute, "stored_events", "rowid")


def postgres_store(url: str) -> Store:
    import psycopg

    def execute(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with psycopg.connect(url, autocommit=True) as conn:
            cursor = conn.execute(sql.encode(), params)
            return list(cursor.fetchall()) if cursor.description else []

    return Store(f"{url}?schema=intake", execute, "intake.ledger_events", "notification_id")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        yield sqlite_store(tmp_path / "intake.db")
    else:
        yield postgres_store(request.getfixturevalue("postgres_url"))


@dataclass
class History:
    app: LedgerApplication
    ids: list[uuid.UUID]


def write_history(store: Store) -> History:
    """Positions 1..6: three ledgers opened and closed, sealed by a checkpoint (position 7);
    then one more ledger opened (position 8, not sealed yet)."""
    app = LedgerApplication(store_env(store.url, "intake"))
    ledgers = [Ledger(text=f"ledger number {n}", meta=CTX.meta()) for n in range(3)]
    app.save(*ledgers)
    for number, ledger in enumerate(ledgers):
        ledger.close(reason=f"done {number}", meta=CTX.meta())
        app.save(ledger)
    sealer = CheckpointSealer(app, "intake", load_signer("intake", {}))
    assert sealer.seal_once() is not None
    assert sealer.seal_once() is None  # nothing but the checkpoint since
    app.save(Ledger(text="after the seal", meta=CTX.meta()))
    return History(app, [ledger.id for ledger in ledgers])


@asynccontextmanager
async def eventlogs(app: AduanApplication) -> AsyncIterator[list[str]]:
    """In-process EventLog servers: intake over `app`, the other services empty."""
    servers = []
    args: list[str] = []
    try:
        for service in WRITE_SERVICES:
            server = grpc.aio.server()
            served = (
                app
                if service == "intake"
                else LedgerApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
            )
            eventlog_pb2_grpc.add_EventLogServicer_to_server(
                EventLogServicer(served, translator(service)), server
            )
            port = free_port()
            server.add_insecure_port(f"127.0.0.1:{port}")
            await server.start()
            servers.append(server)
            args += ["--eventlog", f"{service}=127.0.0.1:{port}"]
        yield args
    finally:
        for server in servers:
            await server.stop(grace=None)


async def verify(app: AduanApplication, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    async with eventlogs(app) as args:
        status = await asyncio.to_thread(cli.main, ["verify", "--history", *args])
    return status, capsys.readouterr().out


def position_of(store: Store, ledger: uuid.UUID, version: int) -> int:
    rows = store.execute(
        f"SELECT {store.position} FROM {store.table} "
        "WHERE originator_id = %s AND originator_version = %s",
        (ledger.hex if store.position == "rowid" else ledger, version),
    )
    return int(rows[0][0])


def flip_byte(store: Store, position: int, needle: bytes) -> None:
    state = bytes(
        store.execute(f"SELECT state FROM {store.table} WHERE {store.position} = %s", (position,))[
            0
        ][0]
    )
    at = state.index(needle)
    tampered = state[:at] + bytes([state[at] ^ 0x01]) + state[at + 1 :]
    store.execute(
        f"UPDATE {store.table} SET state = %s WHERE {store.position} = %s", (tampered, position)
    )


@pytest.mark.integration
async def test_an_untouched_store_verifies_clean(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    history = write_history(store)
    status, out = await verify(history.app, capsys)
    assert status == 0, out
    assert "OK: every chain and checkpoint verifies" in out
    assert "history of intake: 8 events up to position 8, 1 checkpoints (sealed up to 6" in out
    assert "development key" in out  # a warning, not a finding


@pytest.mark.integration
async def test_one_changed_byte_names_the_event(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    history = write_history(store)
    target = position_of(store, history.ids[1], 1)
    flip_byte(store, target, b"ledger number 1")  # "ledger number 1" -> "medger number 1"
    status, out = await verify(history.app, capsys)
    assert status == 1
    assert f"ALTERED: event intake:{target} ComplaintFiled (position {target}, aggregate " in out
    assert f"{history.ids[1]} version 1): its content no longer matches its hash" in out
    assert "TAMPERED" in out


@pytest.mark.integration
async def test_a_rehashed_event_breaks_the_chain_and_the_seal(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """An attacker who rewrites an event and recomputes its hash still breaks the link from the
    aggregate's next event and the checkpoint that sealed it."""
    from aduan.eventstore.chain import compute_event_hash, frame_state, parse_state

    history = write_history(store)
    target = position_of(store, history.ids[0], 1)
    topic, state = store.execute(
        f"SELECT topic, state FROM {store.table} WHERE {store.position} = %s", (target,)
    )[0]
    link = parse_state(bytes(state))
    body = link.body.replace(b"ledger number 0", b"ledger number 9")
    forged = frame_state(
        link.prev_hash,
        compute_event_hash(link.prev_hash, str(history.ids[0]), 1, topic, body),
        body,
    )
    store.execute(
        f"UPDATE {store.table} SET state = %s WHERE {store.position} = %s", (forged, target)
    )
    status, out = await verify(history.app, capsys)
    assert status == 1
    assert f"chain broken: event intake:{position_of(store, history.ids[0], 2)}" in out
    assert f"event intake:{target} ComplaintFiled (position {target}" in out
    assert f"ALTERED: event intake:{target} ComplaintFiled (position {target}, aggregate " in out
    assert "differs from the event checkpoint intake:7 (positions 1..6) sealed there" in out


@pytest.mark.integration
async def test_a_deleted_event_is_named(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    history = write_history(store)
    closed = position_of(store, history.ids[2], 2)  # the last event of its aggregate
    opened = position_of(store, history.ids[0], 1)  # a version that has a successor
    store.execute(f"DELETE FROM {store.table} WHERE {store.position} IN (%s, %s)", (closed, opened))
    status, out = await verify(history.app, capsys)
    assert status == 1
    # Only the checkpoint knows the last event of an aggregate existed.
    assert (
        f"REMOVED: event intake:{closed} (position {closed}), sealed by checkpoint intake:7 "
        "(positions 1..6), is missing"
    ) in out
    assert f"REMOVED: aggregate {history.ids[0]} version 1 is missing" in out
    assert f"REMOVED: event intake:{opened} (position {opened})" in out


@pytest.mark.integration
async def test_swapped_states_are_named(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    history = write_history(store)
    first, second = position_of(store, history.ids[0], 2), position_of(store, history.ids[1], 2)
    rows = store.execute(
        f"SELECT {store.position}, state FROM {store.table} WHERE {store.position} IN (%s, %s)",
        (first, second),
    )
    states = {int(p): bytes(s) for p, s in rows}
    for target, source in ((first, second), (second, first)):
        store.execute(
            f"UPDATE {store.table} SET state = %s WHERE {store.position} = %s",
            (states[source], target),
        )
    status, out = await verify(history.app, capsys)
    assert status == 1
    for position, ledger in ((first, history.ids[0]), (second, history.ids[1])):
        assert (
            f"ALTERED: event intake:{position} ComplaintWithdrawn (position {position}, "
            f"aggregate {ledger} version 2): its content no longer matches its hash"
        ) in out


@pytest.mark.integration
async def test_swapped_positions_are_named(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two events of different aggregates trade places in the log: each chain is intact, the
    checkpoint's manifest names both moves."""
    history = write_history(store)
    first, second = position_of(store, history.ids[0], 2), position_of(store, history.ids[1], 1)
    swap = f"UPDATE {store.table} SET {store.position} = %s WHERE {store.position} = %s"
    store.execute(swap, (1000, first))
    store.execute(swap, (first, second))
    store.execute(swap, (second, 1000))
    status, out = await verify(history.app, capsys)
    assert status == 1
    assert (
        f"REORDERED: event intake:{first} ComplaintFiled (position {first}, aggregate "
        f"{history.ids[1]} version 1) was sealed at position {second}"
    ) in out
    assert (
        f"REORDERED: event intake:{second} ComplaintWithdrawn (position {second}, aggregate "
        f"{history.ids[0]} version 2) was sealed at position {first}"
    ) in out


def test_versions_out_of_position_order_are_reordered() -> None:
    """Within one aggregate the chain alone shows a reordering, sealed or not."""
    app = LedgerApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    ledger = Ledger(text="one", meta=CTX.meta())
    ledger.close(reason="two", meta=CTX.meta())
    app.save(ledger)
    notifications = app.read_notifications(0, 10)
    events = [
        logged_event(envelope)
        for envelope in (
            translator("intake").translate(n, app.decode(n), include_stored=True)
            for n in notifications
        )
        if envelope is not None
    ]
    swapped = [
        type(events[0])(**{**vars(events[1]), "position": 1, "event_id": "intake:1"}),
        type(events[0])(**{**vars(events[0]), "position": 2, "event_id": "intake:2"}),
    ]
    report = verify_log("intake", swapped)
    assert [f.kind for f in report.findings] == ["reordered"]
    assert "is stored after version 2 (position 1) of the same aggregate" in str(report.findings[0])
    assert verify_log("intake", events).ok


def test_an_excerpt_verifies_from_its_first_position() -> None:
    """An audit bundle holds a log from a checkpoint boundary on, with the checkpoint that seals
    it stored after it: aggregates that began before the excerpt verify, and what the excerpt's
    checkpoint sealed is still named when it is missing."""
    app = LedgerApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    sealer = CheckpointSealer(app, "intake", load_signer("intake", {}))
    early = Ledger(text="before the excerpt", meta=CTX.meta())
    app.save(early)
    assert sealer.seal_once() is not None  # seals position 1, stored at 2
    early.close(reason="inside the excerpt", meta=CTX.meta())
    app.save(early, Ledger(text="new in the excerpt", meta=CTX.meta()))
    assert sealer.seal_once() is not None  # seals 2..4, stored at 5
    events = [
        logged_event(translator("intake").translate(n, app.decode(n), include_stored=True))
        for n in app.read_notifications(0, 10)
    ]
    excerpt, seals = events[1:4], [events[4]]
    report = verify_log("intake", excerpt, first_position=2, seals=seals)
    assert report.ok, report.findings
    assert report.proven == (2, 4)
    # Read as a whole log, the versions before the excerpt are missing.
    whole = verify_log("intake", excerpt, seals=seals)
    assert f"aggregate {early.id} version 1 is missing" in str(whole.findings)

    without_close = [e for e in excerpt if e.position != 3]
    report = verify_log("intake", without_close, first_position=2, seals=seals)
    assert [str(f) for f in report.findings] == [
        "[intake] REMOVED: event intake:3 (position 3), sealed by checkpoint intake:5 "
        "(positions 2..4), is missing"
    ]


def test_events_swapped_across_two_checkpoints_are_named_as_moved() -> None:
    """Two events sealed by different checkpoints trade places: each is named as moved from
    the position the other checkpoint sealed it at, not as an unknown alteration (CI saw the
    bundle verifier call such a swap ALTERED when the checkpoints fell between, 2026-12-05)."""
    app = LedgerApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    sealer = CheckpointSealer(app, "intake", load_signer("intake", {}))
    app.save(Ledger(text="first", meta=CTX.meta()))
    assert sealer.seal_once() is not None  # seals position 1, stored at 2
    app.save(Ledger(text="second", meta=CTX.meta()))
    assert sealer.seal_once() is not None  # seals position 3, stored at 4
    events = [
        logged_event(translator("intake").translate(n, app.decode(n), include_stored=True))
        for n in app.read_notifications(0, 10)
    ]
    first, second = events[0], events[2]
    swapped = [
        type(first)(**{**vars(second), "position": 1, "event_id": "intake:1"}),
        events[1],
        type(first)(**{**vars(first), "position": 3, "event_id": "intake:3"}),
        events[3],
    ]
    report = verify_log("intake", swapped)
    described = [str(f) for f in report.findings]
    assert [f.kind for f in report.findings] == ["reordered", "reordered"], described
    assert "(position 1, aggregate" in described[0]
    assert "was sealed at position 3 by checkpoint intake:4 (positions 2..3)" in described[0]
    assert "was sealed at position 1 by checkpoint intake:2 (positions 1..1)" in described[1]
