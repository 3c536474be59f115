"""With replicas on PostgreSQL, exactly one relay instance publishes; when its session dies,
another takes over and nothing is lost or published by two at once."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from integration.workers import running, until
from notes_service import NotesApplication, notes_translator

from aduan.leader import PostgresLeadership
from aduan.outbox import OutboundMessage, OutboxRelay
from aduan.store import store_env

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


class CountingPublisher:
    def __init__(self, name: str, log: list[tuple[str, int]]) -> None:
        self.name = name
        self.log = log

    async def publish_batch(self, messages: Sequence[OutboundMessage]) -> None:
        self.log.extend((self.name, m.position) for m in messages)


async def test_two_instances_never_both_publish(postgres_url: str) -> None:
    env = store_env(postgres_url, "intake")
    instances = [NotesApplication(env=env), NotesApplication(env=env)]
    published: list[tuple[str, int]] = []
    elections = [
        PostgresLeadership(postgres_url, "aduan:intake:relay", retry_seconds=0.1, check_seconds=0.1)
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
        for i in range(30):
            instances[i % 2].write(f"keluhan {i}")
        await until(lambda: len(published) >= 30)
        assert sum(e.is_leader for e in elections) == 1
        leader = next(i for i, e in enumerate(elections) if e.is_leader)
        assert {name for name, _ in published} == {f"replica-{leader}"}

        # The leader's session dies: the other replica takes over and publishes what follows.
        await elections[leader].resign_by_losing_connection()
        follower = 1 - leader
        await until(lambda: elections[follower].is_leader and not elections[leader].is_leader)
        for i in range(30, 40):
            instances[i % 2].write(f"keluhan {i}")
        await until(lambda: {p for _, p in published} >= set(range(1, 41)))

    positions = [p for _, p in published]
    assert sorted(set(positions)) == list(range(1, 41))
    # Each event was published by one replica only (a takeover may repeat the in-flight batch,
    # which JetStream's duplicate window absorbs; here there was none).
    assert len(positions) == len(set(positions))
    assert {p for name, p in published if name == f"replica-{follower}"} >= set(range(31, 41))
    for app in instances:
        app.close()
