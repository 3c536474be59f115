"""The SLA ticker's index: the next deadline of every case that has one, so that a tick loads only
the cases whose deadline passed instead of every case. Transport-free.

It lives in memory and follows the notification log: before each look it reads what was stored
since its last look and asks again for the next deadline of every case those events touched. A
process that starts (or a replica that becomes leader) builds it from the start of the log.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

PAGE_SIZE = 500


class LogEntry(Protocol):
    """What the index reads of a notification: its position and the case it belongs to."""

    @property
    def id(self) -> int: ...

    @property
    def originator_id(self) -> uuid.UUID | str: ...


class DeadlineIndex:
    def __init__(
        self,
        read_notifications: Callable[[int, int], Sequence[LogEntry]],
        next_deadline: Callable[[uuid.UUID], datetime | None],
    ) -> None:
        """`read_notifications(after, limit)` reads the log; `next_deadline(case_id)` is the
        case's earliest pending deadline (None: none, or no such case)."""
        self._read_notifications = read_notifications
        self._next_deadline = next_deadline
        self._position = 0
        self._due: dict[uuid.UUID, datetime] = {}
        # Ticks run in worker threads: one catch-up at a time, so no position is read twice.
        self._lock = threading.Lock()

    def passed(self, now: datetime) -> list[uuid.UUID]:
        """The cases whose next deadline is before `now`, earliest deadline first."""
        with self._lock:
            self._catch_up()
            return sorted(
                (case_id for case_id, due in self._due.items() if due < now),
                key=lambda case_id: self._due[case_id],
            )

    def _catch_up(self) -> None:
        while True:
            notifications = self._read_notifications(self._position, PAGE_SIZE)
            if not notifications:
                return
            for case_id in {n.originator_id for n in notifications}:
                self._reindex(uuid.UUID(str(case_id)))
            self._position = notifications[-1].id

    def _reindex(self, case_id: uuid.UUID) -> None:
        due = self._next_deadline(case_id)
        if due is None:
            self._due.pop(case_id, None)
        else:
            self._due[case_id] = due
