"""Leader election: with replicas > 1, only one instance of each relay, projector and SLA ticker
may be active at a time.

With PostgreSQL, an instance leads while a transaction of its own holds a transaction-level
advisory lock (`pg_try_advisory_xact_lock`, one key per service and role). It keeps that
transaction open for as long as it leads and proves it alive with a statement every
`check_seconds`. An open transaction stays on one server connection behind any pooler, PgBouncer
in transaction mode included, whereas a session-level lock would be taken on whichever server
connection served that one statement and held there after the client moved on (and, through a
pool of one, granted again to every other client: advisory locks are re-entrant per session).

The lease is enforced by PostgreSQL itself: the leader's transaction sets
`idle_in_transaction_session_timeout` to `lease_seconds` (locally, so nothing leaks to other
clients of a pooler), so a leader that stops heartbeating (host gone, network partition, a frozen
process) has its session ended and the lock released within `lease_seconds`, without waiting for
TCP keepalives. The leader gives up its own claim earlier: a heartbeat that has not answered
within `lease_seconds / 2` counts as lost leadership. A crashed leader's connection closes at
once, and a standby takes over at its next try. Standbys try every `retry_seconds` (0.25 s), each
try a short transaction, rather than wait in a blocking lock call: a waiting standby would hold
a pooler's server connection for as long as it waits.

Every heartbeat also checks, in the same transaction, that `pg_locks` shows the lock held by
`pg_backend_pid()` and that the backend is the one that took it. A connection that fails this (a
statement-mode pooler, or anything else that does not keep a transaction on one server
connection) cannot lead safely: the worker stops with `LeadershipUnavailableError`, which names the
cause and the remedy, and the process exits.

With SQLite there is one instance by construction, so it always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

REMEDY = (
    "point ADUAN_STORE_URL at PostgreSQL directly, or at a pooler in session or transaction "
    "mode (PgBouncer pool_mode=session or transaction; statement mode cannot hold a "
    "transaction open)"
)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for `name`."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


def lock_ids(key: int) -> tuple[int, int]:
    """(classid, objid) under which `pg_locks` shows the advisory lock on a bigint `key` (its
    high and low 32 bits; objsubid is 1 for bigint keys)."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


# In the leader's own transaction: which backend serves it, and does that backend hold the lock?
HELD_QUERY = (
    "SELECT pg_backend_pid(), EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
    " AND pid = pg_backend_pid() AND granted AND mode = 'ExclusiveLock'"
    " AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1)"
)


class LeadershipUnavailableError(RuntimeError):
    """The database connection cannot carry leadership (it does not keep a transaction on one
    server connection). Not retried: the process stops, saying why and what to change."""


class Leadership:
    """Always the leader: SQLite stores and unit tests."""

    name = "standalone"

    def __init__(self) -> None:
        self._leading = asyncio.Event()
        self._leading.set()
        self._stopping = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    async def wait_until_leader(self) -> None:
        await self._leading.wait()

    async def run(self) -> None:
        # A worker lives until stopped: the runtime takes a returning worker for a dead one.
        await self._stopping.wait()

    def stop(self) -> None:
        self._stopping.set()


class PostgresLeadership(Leadership):
    """Leads while its own open transaction holds `pg_try_advisory_xact_lock(key)`."""

    def __init__(
        self,
        dsn: str,
        name: str,
        *,
        retry_seconds: float = 0.25,
        check_seconds: float = 1.0,
        reconnect_seconds: float = 1.0,
        lease_seconds: float = 10.0,
    ) -> None:
        super().__init__()
        self._leading.clear()
        if lease_seconds < 2 * check_seconds:
            raise ValueError("lease_seconds must be at least twice check_seconds")
        self.dsn = dsn
        self.name = name
        self.key = lock_key(name)
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self.reconnect_seconds = max(retry_seconds, reconnect_seconds)
        self.lease_seconds = lease_seconds
        self._connection: Any = None
        self._backend_pid: int | None = None

    @property
    def application_name(self) -> str:
        """Shown in pg_stat_activity: which process holds (or seeks) which role."""
        return f"aduan-leader {self.name} pid={os.getpid()}"[:63]

    async def run(self) -> None:
        import psycopg

        while not self._stopping.is_set():
            try:
                # Not autocommit: the lock lives in a transaction. No prepared statements: a
                # standby's short transactions may each land on another server connection.
                async with await psycopg.AsyncConnection.connect(
                    self.dsn,
                    autocommit=False,
                    prepare_threshold=None,
                    application_name=self.application_name,
                    connect_timeout=max(1, round(self.lease_seconds / 2)),
                ) as connection:
                    self._connection = connection
                    await self._campaign(connection)
            except asyncio.CancelledError:
                raise
            except LeadershipUnavailableError as error:
                self._leading.clear()
                log.error("cannot hold leadership", extra={"lock": self.name, "error": str(error)})
                raise
            except Exception as error:
                if "pooling mode" in str(error):
                    # PgBouncer in statement mode: "transaction blocks not allowed in statement
                    # pooling mode". Retrying cannot help.
                    self._leading.clear()
                    refusal = LeadershipUnavailableError(
                        f"leadership {self.name!r}: the pooler refused a transaction "
                        f"({str(error).strip()}); {REMEDY}"
                    )
                    log.error("cannot hold leadership", extra={"lock": self.name})
                    raise refusal from error
                if self.is_leader:
                    log.warning("leadership lost", extra={"lock": self.name, "error": repr(error)})
                self._leading.clear()
            finally:
                self._connection = None
                self._backend_pid = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.reconnect_seconds)

    async def _campaign(self, connection: Any) -> None:
        while not self._stopping.is_set():
            if not self.is_leader:
                await self._try_to_lead(connection)
            else:
                # Proves the session, the transaction and so the lock are alive, within the
                # lease's first half (the server ends the session after the whole lease).
                await asyncio.wait_for(self._verify(connection), timeout=self.lease_seconds / 2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(),
                    timeout=self.check_seconds if self.is_leader else self.retry_seconds,
                )
        if self.is_leader:
            self._leading.clear()
            await connection.rollback()  # releases the lock at once

    async def _try_to_lead(self, connection: Any) -> None:
        cursor = await connection.execute("SELECT pg_try_advisory_xact_lock(%s)", (self.key,))
        row = await cursor.fetchone()
        if not (row and row[0]):
            await connection.rollback()  # a standby holds no transaction between tries
            return
        # The lease: PostgreSQL ends this session if the leader falls silent. Local to this
        # transaction, so a pooler's other clients never see it.
        await connection.execute(
            "SELECT set_config('idle_in_transaction_session_timeout', %s, true)",
            (str(round(self.lease_seconds * 1000)),),
        )
        if connection.info.server_version >= 170000:
            # A role- or database-wide transaction_timeout would end every term early.
            await connection.execute("SELECT set_config('transaction_timeout', '0', true)")
        self._backend_pid = None
        await self._verify(connection)
        self._leading.set()
        log.info("became leader", extra={"lock": self.name, "backend_pid": self._backend_pid})

    async def _verify(self, connection: Any) -> None:
        """In the leader's transaction: this backend holds the lock, and it is the backend that
        took it. Raises LeadershipUnavailableError when the connection does not keep a transaction on
        one server connection."""
        from psycopg import pq

        classid, objid = lock_ids(self.key)
        cursor = await connection.execute(HELD_QUERY, (classid, objid))
        row = await cursor.fetchone()
        if connection.info.transaction_status != pq.TransactionStatus.INTRANS:
            raise LeadershipUnavailableError(
                f"leadership {self.name!r}: the connection is not in a transaction after the "
                f"lock was taken, so the lock cannot be held; {REMEDY}"
            )
        pid, held = (row[0], bool(row[1])) if row else (None, False)
        if self._backend_pid is None:
            self._backend_pid = pid
        if not held or pid != self._backend_pid:
            raise LeadershipUnavailableError(
                f"leadership {self.name!r}: the advisory lock taken in this transaction is not "
                f"held by the backend now serving it (backend {pid}, lock taken on "
                f"{self._backend_pid}, held: {held}); the connection is multiplexed per "
                f"statement (a statement-mode pooler?); {REMEDY}"
            )

    async def resign_by_losing_connection(self) -> None:
        """Test hook: the session dies as in a network partition or a crash."""
        if self._connection is not None:
            await self._connection.close()


def leadership_for(store_url: str, name: str) -> Leadership:
    if store_url.startswith(("postgresql://", "postgres://")):
        dsn = store_url.split("?", 1)[0]
        return PostgresLeadership(dsn, name)
    return Leadership()
