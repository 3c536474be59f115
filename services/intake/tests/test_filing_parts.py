"""The pieces the application files with: a group's answers (`groupfiling.py`), ticket numbers
(`tickets.py`) and the positions repeated commands answer with (`positions.py`)."""

from __future__ import annotations

import uuid

import pytest
from eventsourcing.popo import POPOAggregateRecorder

from aduan.core.errors import ConcurrencyConflictError
from aduan.eventstore.store import UniqueClaims
from aduan_intake.filing import FilingResult, ticket_candidates
from aduan_intake.groupfiling import Answer, GroupAnswers
from aduan_intake.positions import FILED, MESSAGE, CommandPositions
from aduan_intake.tickets import TICKETS, TicketNumbers


@pytest.fixture
def claims() -> UniqueClaims:
    return UniqueClaims(POPOAggregateRecorder())


def result(complaint_id: uuid.UUID, position: int) -> FilingResult:
    return FilingResult(complaint_id, "ADU-2026-AAAAAA", True, position)


# -- a group's answers ------------------------------------------------------------------------


def test_each_complaint_is_filed_by_its_first_filing_and_its_repeats_answer_from_it() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    group = GroupAnswers([a, b, a, a, b])
    assert group.firsts() == [0, 1]
    group.answer(0, result(a, 7))
    group.answer(1, result(b, 9))

    answers = group.answers(lambda index: pytest.fail(f"{index} need not be filed alone"))

    assert answers == [
        result(a, 7),
        result(b, 9),
        FilingResult(a, "ADU-2026-AAAAAA", False, 7),
        FilingResult(a, "ADU-2026-AAAAAA", False, 7),
        FilingResult(b, "ADU-2026-AAAAAA", False, 9),
    ]


def test_a_repeat_of_a_failed_filing_is_filed_alone_and_failures_stay_their_own() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    group = GroupAnswers([a, b, a])
    failure = RuntimeError("disk on fire")
    group.answer(0, failure)
    group.answer(1, result(b, 3))
    alone: list[int] = []

    def file_alone(index: int) -> Answer:
        alone.append(index)
        return result(a, 11)

    answers = group.answers(file_alone)

    assert answers == [failure, result(b, 3), result(a, 11)]
    assert alone == [2]


# -- ticket numbers ---------------------------------------------------------------------------


def test_a_complaint_keeps_its_first_ticket_candidate_not_held_by_another(
    claims: UniqueClaims,
) -> None:
    complaint_id = uuid.uuid4()
    first, second, *_ = ticket_candidates(complaint_id)
    claims.claim(TICKETS, first, str(uuid.uuid4()))
    tickets = TicketNumbers(claims)

    assert tickets.claim(complaint_id) == second
    assert tickets.claim(complaint_id) == second  # a retry finds its own claim
    assert tickets.holder(second) == complaint_id
    assert tickets.holder("ADU-2026-ZZZZZZ") is None


def test_no_free_ticket_candidate_is_a_conflict_to_retry(claims: UniqueClaims) -> None:
    complaint_id = uuid.uuid4()
    for ticket in ticket_candidates(complaint_id):
        claims.claim(TICKETS, ticket, str(uuid.uuid4()))

    with pytest.raises(ConcurrencyConflictError, match="unique ticket number"):
        TicketNumbers(claims).claim(complaint_id)


# -- positions of repeated commands -----------------------------------------------------------


def test_a_first_call_records_its_position_and_a_repeat_answers_with_it(
    claims: UniqueClaims,
) -> None:
    positions = CommandPositions(claims, head_position=lambda: 99)

    assert positions.answer(MESSAGE, "m-1", 5) == 5
    assert positions.answer(MESSAGE, "m-1", None) == 5
    assert positions.recorded(MESSAGE, "m-1") == 5
    assert positions.recorded(FILED, "m-1") == 99  # namespaces are apart


def test_a_repeat_before_the_first_call_recorded_answers_with_the_head(
    claims: UniqueClaims,
) -> None:
    positions = CommandPositions(claims, head_position=lambda: 42)

    assert positions.answer(MESSAGE, "m-2", None) == 42
    assert claims.get(MESSAGE, "m-2") is None  # a repeat records nothing
