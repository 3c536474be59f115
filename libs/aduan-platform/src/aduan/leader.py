"""Leader election: with replicas > 1, only one instance of each relay, projector and SLA ticker
may be active at a time.

With PostgreSQL, an instance leads while it holds a session-level advisory lock (one key per
service and role) on a connection of its own; when that connection dies, PostgreSQL releases the
lock and another instance takes over. With SQLite there is one instance by construction, so it
always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import Any

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for `name`."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


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
    """Leads while holding `pg_try_advisory_lock(key)` on its own connection."""

    def __init__(
        self, dsn: str, name: str, *, retry_seconds: float = 1.0, check_seconds: float = 1.0
    ) -> None:
        super().__init__()
        self._leading.clear()
        self.dsn = dsn
        self.name = name
        self.key = lock_key(name)
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self._connection: Any = None

    async def run(self) -> None:
        import psycopg

        while not self._stopping.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True
                ) as connection:
                    self._connection = connection
                    await self._campaign(connection)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if self.is_leader:
                    log.warning("leadership lost", extra={"lock": self.name, "error": repr(error)})
                self._leading.clear()
            finally:
                self._connection = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.retry_seconds)

    async def _campaign(self, connection: Any) -> None:
        while not self._stopping.is_set():
            if not self.is_leader:
                cursor = await connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
                row = await cursor.fetchone()
                if row and row[0]:
                    self._leading.set()
                    log.info("became leader", extra={"lock": self.name})
            else:
                # Proves the session (and so the lock) is still alive.
                await connection.execute("SELECT 1")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(),
                    timeout=self.check_seconds if self.is_leader else self.retry_seconds,
                )
        if self.is_leader:
            await connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            self._leading.clear()

    async def resign_by_losing_connection(self) -> None:
        """Test hook: the session dies as in a network partition or a crash."""
        if self._connection is not None:
            await self._connection.close()


def leadership_for(store_url: str, name: str) -> Leadership:
    if store_url.startswith(("postgresql://", "postgres://")):
        dsn = store_url.split("?", 1)[0]
        return PostgresLeadership(dsn, name)
    return Leadership()
