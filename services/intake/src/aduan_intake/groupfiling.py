"""What filing a group of complaints in one transaction keeps track of
(`IntakeApplication.file_group`; `groupcommit.py` forms the groups). Transport-free.

A group must answer exactly as filing its complaints one by one would, in order: each idempotency
key is filed once, by its first filing in the group, and a repeat of it within the group is
answered from that first filing.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aduan.core.context import CommandContext
from aduan_intake.domain import Complaint
from aduan_intake.filing import FilingResult, ValidFiling, new_complaint, ticket_candidates
from aduan_intake.sealing import ANONYMOUS
from aduan_intake.trackingcodes import TrackingCodes
from aduan_intake.vault import NewReporter, ReporterVault

Answer = FilingResult | Exception


@dataclass(frozen=True)
class NewFiling:
    """A filing of the group whose complaint does not exist: what the group's transaction saves."""

    index: int  # in the group
    complaint: Complaint
    ticket: str
    reporter: NewReporter | None  # None when anonymous
    # Anonymous filings: the code to answer with and its row (digest, complaint id).
    tracking: tuple[str, tuple[str, str]] | None = None
    # Anonymous filings: the data key their texts are sealed under (reporter id, wrapped key).
    text_key: tuple[str, bytes] | None = None


def new_filing(
    vault: ReporterVault,
    codes: TrackingCodes,
    index: int,
    complaint_id: uuid.UUID,
    valid: ValidFiling,
    ctx: CommandContext,
) -> NewFiling:
    """The complaint and the sealed reporter rows of a filing whose complaint does not exist. It
    takes the first ticket candidate: a collision fails the group, and filing alone tries the
    next ones."""
    reporter: NewReporter | None = None
    text_key: tuple[str, bytes] | None = None
    if valid.identity is not None:
        reporter = vault.new_reporter(complaint_id, valid.identity)
        texts = reporter.texts
    else:
        text_key, texts = vault.new_text_key(complaint_id)
    ticket = next(ticket_candidates(complaint_id))
    sealed = reporter.sealed if reporter is not None else ANONYMOUS
    complaint = new_complaint(valid, ctx, ticket, sealed.reporter_id, sealed.masked_contact, texts)
    tracking = codes.prepare(complaint_id) if valid.anonymous else None
    return NewFiling(index, complaint, ticket, reporter, tracking, text_key)


class GroupAnswers:
    """The answers of a group of filings, in the group's order, as they become known."""

    def __init__(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        self._ids = list(complaint_ids)
        self._answers: list[Answer | None] = [None] * len(self._ids)
        self._first_of: dict[uuid.UUID, int] = {}
        for index, complaint_id in enumerate(self._ids):
            self._first_of.setdefault(complaint_id, index)

    def firsts(self) -> list[int]:
        """The index of each complaint's first filing, in order: the filings to file."""
        return list(self._first_of.values())

    def answer(self, index: int, answer: Answer) -> None:
        self._answers[index] = answer

    def answers(self, file_alone: Callable[[int], Answer]) -> list[Answer]:
        """Every filing's answer. A repeat gets its first filing's result with created=False;
        when the first failed, the repeat is filed alone (`file_alone(index)`), as it would
        have been without the group."""
        answers: list[Answer] = []
        for index, answer in enumerate(self._answers):
            if answer is None:
                first = self._answers[self._first_of[self._ids[index]]]
                if isinstance(first, FilingResult):
                    # The code is answered once: a repeat never learns it.
                    answer = dataclasses.replace(first, created=False, tracking_code="")
                else:
                    answer = file_alone(index)
            answers.append(answer)
        return answers
