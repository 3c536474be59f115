"""EventLog.Read serves the stored events in order, from a position, and can follow new ones."""

from __future__ import annotations

import asyncio

from notes_service import NotesApplication, notes_translator

from aduan.contract.eventlog import EventLogServicer


async def test_reads_after_a_position_with_a_limit(notes_app: NotesApplication) -> None:
    for i in range(5):
        notes_app.write(f"n{i}")
    servicer = EventLogServicer(notes_app, notes_translator())

    read = [e async for e in servicer.read(after=1, limit=3)]

    assert [e.position for e in read] == [2, 3, 4]
    assert [e.previous_position for e in read] == [1, 2, 3]
    assert [e.event_id for e in read] == ["intake:2", "intake:3", "intake:4"]


async def test_follow_tails_events_saved_later(notes_app: NotesApplication) -> None:
    notes_app.write("sebelum")
    servicer = EventLogServicer(notes_app, notes_translator(), poll_seconds=30)
    received: list[int] = []

    async def tail() -> None:
        async for envelope in servicer.read(after=0, follow=True):
            received.append(envelope.position)
            if len(received) == 3:
                return

    task = asyncio.create_task(tail())
    await asyncio.sleep(0.05)
    notes_app.write("sesudah 1")
    notes_app.write("sesudah 2")
    # The listener wakes the reader at once; the 30 s poll would time the test out.
    await asyncio.wait_for(task, timeout=5)

    assert received == [1, 2, 3]
