"""Helpers for tests that run platform workers (relays, consumers, elections) in the test's loop."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from notes_service import NotesApplication, notes_translator

from aduan.eventstore.leader import PostgresLeadership
from aduan.eventstore.store import store_env
from aduan.messaging.outbox import OutboundMessage, OutboxRelay


@contextlib.asynccontextmanager
async def running(*workers: Any) -> AsyncIterator[None]:
    """Run each worker's `run()` for the duration of the block, then stop them as the runtime does."""
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield
    finally:
        for w in workers:
            w.stop()
        await asyncio.wait(tasks, timeout=5)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def until(condition: Callable[[], bool | Awaitable[bool]], within: float = 15.0) -> None:
    """Wait, without fixed sleeps, until `condition()` (sync or async) holds; fail after
    `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


class CountingPublisher:
    """Stands in for JetStream: records which replica published which position."""

    def __init__(self, name: str, log: list[tuple[str, int]]) -> None:
        self.name = name
        self.log = log

    async def publish_batch(self, messages: Sequence[OutboundMessage]) -> None:
        self.log.extend((self.name, m.position) for m in messages)


async def only_the_leaders_relay_publishes(
    postgres_url: str, election_url: str, before: int, after: int, **election_options: float
) -> None:
    """Two replicas of a write service on one store, each with a relay elected on
    `election_url`: while the first leader lives only it publishes; when its session dies the
    other takes over and publishes what follows; every position is published exactly once."""
    env = store_env(postgres_url, "intake")
    instances = [NotesApplication(env=env), NotesApplication(env=env)]
    published: list[tuple[str, int]] = []
    elections = [
        PostgresLeadership(
            election_url,
            "aduan:intake:relay",
            retry_seconds=0.1,
            check_seconds=0.1,
            **election_options,
        )
        for _ in instances
    ]
    relays = [
        OutboxRelay(
            app,
            notes_translator(),
            CountingPublisher(f"replica-{i}", published),
            poll_seconds=0.05,
            leadership=election,
        )
        for i, (app, election) in enumerate(zip(instances, elections, strict=True))
    ]
    async with running(*elections, *relays):
        await until(lambda: any(e.is_leader for e in elections))
        for i in range(before):
            instances[i % 2].write(f"keluhan {i}")
        await until(lambda: len(published) >= before)
        assert sum(e.is_leader for e in elections) == 1
        leader = next(i for i, e in enumerate(elections) if e.is_leader)
        assert {name for name, _ in published} == {f"replica-{leader}"}

        # The leader's session dies: the other replica takes over and publishes what follows.
        await elections[leader].resign_by_losing_connection()
        follower = 1 - leader
        await until(lambda: elections[follower].is_leader and not elections[leader].is_leader)
        for i in range(before, before + after):
            instances[i % 2].write(f"keluhan {i}")
        await until(lambda: {p for _, p in published} >= set(range(1, before + after + 1)))

    positions = [p for _, p in published]
    assert sorted(set(positions)) == list(range(1, before + after + 1))
    # Each event was published by one replica only (a takeover may repeat the in-flight batch,
    # which JetStream's duplicate window absorbs; here there was none).
    assert len(positions) == len(set(positions))
    taken_over = {p for name, p in published if name == f"replica-{follower}"}
    assert taken_over >= set(range(before + 1, before + after + 1))
    for app in instances:
        app.close()
