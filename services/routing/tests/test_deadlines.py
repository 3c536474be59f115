"""The SLA ticker's index (deadlines.py): which cases a tick looks at."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from aduan_routing.deadlines import PAGE_SIZE, DeadlineIndex

T0 = dt.datetime(2026, 3, 17, 10, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Stored:
    """What the index reads of a notification."""

    id: int
    originator_id: uuid.UUID


class FakeLog:
    def __init__(self) -> None:
        self.notifications: list[Stored] = []
        self.deadlines: dict[uuid.UUID, dt.datetime | None] = {}
        self.asked: list[uuid.UUID] = []

    def store(self, case_id: uuid.UUID, deadline: dt.datetime | None) -> None:
        self.notifications.append(Stored(len(self.notifications) + 1, case_id))
        self.deadlines[case_id] = deadline

    def read(self, after: int, limit: int) -> Sequence[Stored]:
        return self.notifications[after : after + limit]

    def next_deadline(self, case_id: uuid.UUID) -> dt.datetime | None:
        self.asked.append(case_id)
        return self.deadlines.get(case_id)


def index_over(log: FakeLog) -> DeadlineIndex:
    return DeadlineIndex(log.read, log.next_deadline)


def test_cases_whose_deadline_passed_come_earliest_first() -> None:
    log = FakeLog()
    late, early, future, exactly_now = (uuid.uuid4() for _ in range(4))
    log.store(late, T0 - dt.timedelta(hours=1))
    log.store(early, T0 - dt.timedelta(days=2))
    log.store(future, T0 + dt.timedelta(seconds=1))
    log.store(exactly_now, T0)
    assert index_over(log).passed(T0) == [early, late]


def test_the_index_follows_what_is_stored_after_its_last_look() -> None:
    log = FakeLog()
    index = index_over(log)
    case_id = uuid.uuid4()
    log.store(case_id, T0 - dt.timedelta(hours=1))
    assert index.passed(T0) == [case_id]
    # The case was accepted or closed meanwhile: its deadline moved or went away.
    log.store(case_id, T0 + dt.timedelta(days=3))
    assert index.passed(T0) == []
    log.store(case_id, None)
    assert index.passed(T0 + dt.timedelta(days=4)) == []
    # Each event is read once: the case was asked about once per look that saw new events.
    assert log.asked == [case_id, case_id, case_id]
    assert index.passed(T0) == []
    assert len(log.asked) == 3


def test_a_long_log_is_read_page_by_page_and_a_case_asked_once_per_page() -> None:
    log = FakeLog()
    case_ids = [uuid.uuid4() for _ in range(PAGE_SIZE + 2)]
    for case_id in case_ids:
        log.store(case_id, T0 - dt.timedelta(minutes=1))
    log.store(case_ids[0], T0 - dt.timedelta(minutes=1))
    assert set(index_over(log).passed(T0)) == set(case_ids)
    assert len(log.asked) == PAGE_SIZE + 3
