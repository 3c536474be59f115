"""One WhatsApp sender's messages are decided one at a time, whatever replica receives them.

Whether a message files a new complaint or follows up complaint X depends on what the sender's
earlier messages did: a burst of three messages must land on one complaint even when the ingress
spreads it over several intake replicas. So a message is decided *and carried out* (the
complaint filed and indexed under the number, or the follow-up added) while its handler holds
the sender's lock, keyed by the HMAC of the number (the phone digest, never the number):

- within the process, a `threading.Lock` per sender (also the whole lock on SQLite and memory
  stores, which belong to one process);
- on PostgreSQL, then also `pg_advisory_xact_lock(SENDER_LOCK_CLASS, key)`, taken by a guard
  transaction on a connection of a small pool of its own and held until the handler is done.
  Everything the handler wrote is committed before the guard transaction ends, so the next
  holder, on any replica, reads it. Different senders take different keys and never wait for
  each other (two numbers whose 32-bit keys coincide merely take turns). A crashed replica's
  session ends and PostgreSQL releases its locks; a waiter gives up after `WAIT_SECONDS` (the
  webhook answers 500 and the gateway delivers the message again).

The guard's connections come from a pool separate from the event store's, so that handlers
holding locks can never starve the work they wait to do of connections; it holds at most as
many as the webhook has handler threads (asyncio's default executor) and closes idle ones.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator
from typing import Any

# The advisory-lock class of sender locks (`pg_advisory_xact_lock(int4, int4)`). The two-key
# form never meets the one-bigint keys of the schema lock and of leadership (aduan.eventstore.store,
# aduan.eventstore.leader), whatever their values.
SENDER_LOCK_CLASS = int.from_bytes(b"adWA", "big", signed=True)
# How long a handler waits for another replica's handler of the same sender.
WAIT_SECONDS = 60
# A guard transaction left open by a hung process is ended by PostgreSQL after this long (longer
# than any handling, including keeping a message's media).
GUARD_IDLE_SECONDS = 300
# The webhook runs each message's handler on asyncio's default executor: at most this many at
# once, so the guard pool never makes a handler wait for a connection.
HANDLER_THREADS = min(32, (os.cpu_count() or 1) + 4)


def lock_key(digest: str) -> int:
    """The sender's key in SENDER_LOCK_CLASS: 32 bits of the number's HMAC (hex)."""
    return int.from_bytes(bytes.fromhex(digest)[:4], "big", signed=True)


class SenderLocks:
    """Per-sender locks within this process (SQLite and memory stores: the whole lock)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._guard = threading.Lock()

    def _lock_for(self, digest: str) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(digest)
            if lock is None:
                lock = threading.Lock()
                self._locks[digest] = lock
            return lock

    @contextlib.contextmanager
    def hold(self, digest: str) -> Iterator[None]:
        """Held while one message of the sender with this phone digest is decided and carried
        out; other senders are not held up."""
        with self._lock_for(digest), self._across_replicas(digest):
            yield

    @contextlib.contextmanager
    def _across_replicas(self, digest: str) -> Iterator[None]:
        yield

    def close(self) -> None:
        pass


class PostgresSenderLocks(SenderLocks):
    """The process's lock, then the sender's advisory lock in a guard transaction, so that
    every replica on the database takes its turn (and only one of a process's threads per
    sender holds a guard connection)."""

    def __init__(self, datastore: Any) -> None:
        super().__init__()
        from eventsourcing.postgres import ConnectionPool

        source = datastore.pool  # the event store's: the same server, user and password
        self._pool: Any = ConnectionPool(
            kwargs=dict(source.kwargs),
            get_password_func=source.get_password_func,
            min_size=0,
            max_size=HANDLER_THREADS,
            open=False,
            timeout=source.timeout,
            max_idle=60.0,
            check=ConnectionPool.check_connection,
            configure=_autocommit,
            name="intake-sender-locks",
            num_workers=1,
        )
        self._opened = False
        self._open_lock = threading.Lock()

    def _connection(self) -> Any:
        with self._open_lock:
            if not self._opened:
                self._pool.open(wait=False)
                self._opened = True
        return self._pool.connection()

    @contextlib.contextmanager
    def _across_replicas(self, digest: str) -> Iterator[None]:
        with self._connection() as connection, connection.transaction():
            connection.execute(f"SET LOCAL lock_timeout = '{WAIT_SECONDS}s'")
            connection.execute(
                f"SET LOCAL idle_in_transaction_session_timeout = '{GUARD_IDLE_SECONDS}s'"
            )
            connection.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (SENDER_LOCK_CLASS, lock_key(digest))
            )
            yield  # the commit at the end releases the lock

    def close(self) -> None:
        with self._open_lock:
            if self._opened:
                self._pool.close()
                self._opened = False


def _autocommit(connection: Any) -> None:
    # Transactions are explicit (`connection.transaction()`): BEGIN, the lock, COMMIT.
    connection.autocommit = True


def sender_locks_for(factory: Any) -> SenderLocks:
    """The sender locks that match the application's persistence module."""
    datastore = getattr(factory, "datastore", None)
    if datastore is not None and type(datastore).__module__.endswith("postgres"):
        return PostgresSenderLocks(datastore)
    return SenderLocks()
