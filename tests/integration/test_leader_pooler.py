"""Leadership and the schema lock behind PgBouncer in transaction mode (as a CloudNativePG Pooler
runs), and a clear refusal behind statement mode.

A session-level advisory lock does not survive a transaction pooler: it is taken on whichever
server connection served that statement and stays there after the client moved on, and advisory
locks are re-entrant per session, so two clients sharing a server connection both "hold" it. The
platform therefore holds transaction-level locks in transactions it keeps open (aduan.eventstore.leader,
aduan.eventstore.store.schema_lock); these tests run them through a real PgBouncer (the Debian package;
skipped, saying why, without it).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from integration.workers import only_the_leaders_relay_publishes, running, until
from pgbouncer import PgBouncer, unavailable_reason

from aduan.eventstore.leader import (
    LeadershipUnavailableError,
    PostgresLeadership,
    lock_ids,
    lock_key,
)
from aduan.eventstore.store import SCHEMA_LOCK_KEY, schema_lock, store_env

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
ROLE = "aduan:intake:relay"


def bouncer(postgres_url: str, pool_mode: str, pool_size: int) -> Iterator[PgBouncer]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with PgBouncer(postgres_url, pool_mode=pool_mode, pool_size=pool_size) as running_bouncer:
        yield running_bouncer


@pytest.fixture
def transaction_pooler(postgres_url: str) -> Iterator[PgBouncer]:
    # Two server connections for everyone: the leader keeps one, the rest share the other.
    yield from bouncer(postgres_url, pool_mode="transaction", pool_size=2)


@pytest.fixture
def single_connection_pooler(postgres_url: str) -> Iterator[PgBouncer]:
    yield from bouncer(postgres_url, pool_mode="transaction", pool_size=1)


@pytest.fixture
def statement_pooler(postgres_url: str) -> Iterator[PgBouncer]:
    yield from bouncer(postgres_url, pool_mode="statement", pool_size=2)


def holders(postgres_url: str, key: int) -> list[int]:
    """Backends holding the advisory lock on `key` in this database (advisory locks are per
    database; other tests' databases hold the same keys), seen on a direct connection."""
    classid, objid = lock_ids(key)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1",
            (classid, objid),
        ).fetchall()
    return [row[0] for row in rows]


def test_a_session_lock_through_a_transaction_pooler_has_two_holders(
    postgres_url: str, single_connection_pooler: PgBouncer
) -> None:
    """Why session-level locks were dropped: through a pool of one server connection, two
    clients both acquire the same session-level lock."""
    url = single_connection_pooler.through(postgres_url)
    key = lock_key("aduan:demo")
    took = []
    with (
        psycopg.connect(url, autocommit=True) as first,
        psycopg.connect(url, autocommit=True) as second,
    ):
        for conn in (first, second):
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            took.append(bool(row and row[0]))
    assert took == [True, True]


async def test_one_leader_through_a_transaction_pooler_and_takeover(
    postgres_url: str, transaction_pooler: PgBouncer
) -> None:
    url = transaction_pooler.through(postgres_url)
    elections = [
        PostgresLeadership(url, ROLE, retry_seconds=0.1, check_seconds=0.1, lease_seconds=2.0)
        for _ in range(3)
    ]
    async with running(*elections):
        await until(lambda: any(e.is_leader for e in elections))
        # Over a second of heartbeats and tries: always exactly one leader, one lock holder.
        for _ in range(10):
            assert sum(e.is_leader for e in elections) == 1
            assert len(holders(postgres_url, lock_key(ROLE))) == 1
            await asyncio.sleep(0.1)
        leader = next(e for e in elections if e.is_leader)

        await leader.resign_by_losing_connection()
        await until(lambda: any(e.is_leader for e in elections if e is not leader), within=10)
        await asyncio.sleep(0.5)
        assert sum(e.is_leader for e in elections) == 1
        assert len(holders(postgres_url, lock_key(ROLE))) == 1
    # Stopping releases the lock.
    assert holders(postgres_url, lock_key(ROLE)) == []


async def test_a_frozen_leader_loses_the_lock_when_its_lease_runs_out(postgres_url: str) -> None:
    """The lease is PostgreSQL's: a leader whose process stops heartbeating (here its event loop
    is blocked, as a frozen process or a vanished host would be) has its session ended after
    lease_seconds, so a standby can take over without the leader's help."""
    election = PostgresLeadership(postgres_url, ROLE, check_seconds=0.2, lease_seconds=1.0)
    async with running(election):
        await until(lambda: election.is_leader)
        free_while_frozen: list[bool] = []

        def standby_try() -> None:
            time.sleep(2.0)  # the leader has been silent for twice its lease
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (election.key,)).fetchone()
                free_while_frozen.append(bool(row and row[0]))

        standby = threading.Thread(target=standby_try)
        standby.start()
        time.sleep(2.5)  # noqa: ASYNC251 - blocks the event loop on purpose: no heartbeat
        standby.join()
        assert free_while_frozen == [True]
        # Thawed, the old leader finds its session gone and stands down.
        await until(lambda: not election.is_leader, within=5)


async def test_relays_elected_through_a_transaction_pooler_never_both_publish(
    postgres_url: str, transaction_pooler: PgBouncer
) -> None:
    """The stores are reached directly (eventsourcing prepares statements, which PgBouncer 1.18
    does not carry in transaction mode); the elections go through the pooler."""
    await only_the_leaders_relay_publishes(
        postgres_url,
        transaction_pooler.through(postgres_url),
        before=20,
        after=10,
        lease_seconds=2.0,
    )


async def test_a_statement_pooler_is_refused_saying_why_and_what_to_do(
    postgres_url: str, statement_pooler: PgBouncer
) -> None:
    election = PostgresLeadership(
        statement_pooler.through(postgres_url), ROLE, retry_seconds=0.1, check_seconds=0.1
    )
    with pytest.raises(LeadershipUnavailableError) as refusal:
        await asyncio.wait_for(election.run(), timeout=20)
    message = str(refusal.value)
    assert "statement pooling mode" in message
    assert "point ADUAN_STORE_URL at PostgreSQL directly" in message
    assert not election.is_leader


async def test_a_connection_that_does_not_keep_the_transaction_is_refused(
    postgres_url: str,
) -> None:
    """The check every heartbeat runs: the lock must be held by the backend serving the
    leader's transaction. A connection outside a transaction (as after a pooler switched
    server connections) fails it."""
    election = PostgresLeadership(postgres_url, ROLE)
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (election.key,))
        with pytest.raises(LeadershipUnavailableError, match="not in a transaction"):
            await election._verify(conn)
    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (election.key,))
        await election._verify(conn)  # the backend that took it
        election._backend_pid = -1  # as if another backend had taken it
        with pytest.raises(LeadershipUnavailableError, match="multiplexed"):
            await election._verify(conn)


def test_schema_lock_through_a_transaction_pooler_serialises_and_never_leaks(
    postgres_url: str, transaction_pooler: PgBouncer
) -> None:
    """8 replicas at once through a pool of two server connections: one inside the lock at a
    time, each running its own statements on another connection meanwhile (as the table
    creation does), and nobody left holding the lock afterwards. The session-level lock this
    replaced let 7 of the 8 in at once through this pooler (the lock stayed on a server
    connection that the waiters were then given, and re-entered it)."""
    env = store_env(transaction_pooler.through(postgres_url), "notes")
    url = transaction_pooler.through(postgres_url)
    inside = 0
    most_inside = 0
    done = 0
    errors: list[BaseException] = []
    guard = threading.Lock()
    barrier = threading.Barrier(8)

    def replica() -> None:
        nonlocal inside, most_inside, done
        try:
            barrier.wait()
            with schema_lock(env):
                with guard:
                    inside += 1
                    most_inside = max(most_inside, inside)
                with psycopg.connect(url, autocommit=True, prepare_threshold=None) as ddl:
                    ddl.execute("CREATE TABLE IF NOT EXISTS schema_lock_probe (n int)")
                    ddl.execute("INSERT INTO schema_lock_probe VALUES (1)")
                time.sleep(0.05)
                with guard:
                    inside -= 1
            with guard:
                done += 1
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=replica) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert done == 8
    assert most_inside == 1
    assert holders(postgres_url, SCHEMA_LOCK_KEY) == []
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_lock_probe").fetchone() == (8,)
