"""What intake's events mean to routing: the consumer builds these from the envelopes, and each
says what it does to a case (docs/routing.md, Reactions to intake); plus the bookkeeping of a
batch of them. Transport-free.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from aduan.core.context import CommandContext
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan_routing.domain import OPEN_STATUSES, Case, CaseStatus
from aduan_routing.policy import RoutingPolicy


@dataclass(frozen=True)
class Filing:
    """What routing needs from a ComplaintFiled event."""

    complaint_id: uuid.UUID
    ticket_number: str
    category: Category
    location: Location
    confidential: bool
    filed_at: datetime
    # Intake is still learning the details: wait for them until then (None: place at once).
    details_due: datetime | None = None

    def open_case(self, policy: RoutingPolicy, *, at: datetime, ctx: CommandContext) -> Case:
        """The complaint's case, placed by the rules unless it waits for the details."""
        case = Case.open(
            complaint_id=self.complaint_id,
            ticket_number=self.ticket_number,
            category=self.category,
            location=self.location,
            confidential=self.confidential,
            filed_at=self.filed_at,
            resolution_due=policy.sla.resolution_due(self.filed_at),
            at=at,
            ctx=ctx,
            details_due=self.details_due,
        )
        if self.details_due is None:
            policy.route(case, at=at, ctx=ctx)
        return case


@dataclass(frozen=True)
class Learned:
    """Intake learned where or what the complaint is about (ComplaintLocated,
    ComplaintClassified), or asked the reporter (DetailsRequested: neither given)."""

    complaint_id: uuid.UUID
    category: Category | None
    # Area codes only: intake's findings carry no address (see `location_for`).
    location: Location | None
    # More details follow from intake: keep waiting.
    details_pending: bool
    note: str

    def location_for(self, case: Case) -> Location | None:
        """The location intake found, as the case would record it (None: it found none).
        Intake's findings carry area codes only, so the address the reporter wrote is kept."""
        if self.location is None:
            return None
        return replace(self.location, address=case.location.address)

    def changes(self, case: Case) -> bool:
        """Whether it tells the case anything it does not record already."""
        location = self.location_for(case)
        return not (
            self.category in (None, case.category)
            and (location is None or location == case.location)
        )

    def apply(
        self, case: Case, policy: RoutingPolicy, *, at: datetime, ctx: CommandContext
    ) -> bool:
        """Records the finding on a case awaiting details, placing it once intake has no more
        to learn; re-places an open case when it changes the rules' answer. Returns whether the
        case changed."""
        if not (case.awaiting_details or case.status in OPEN_STATUSES):
            return False
        changes = self.changes(case)
        location = self.location_for(case)
        if case.awaiting_details:
            if changes:
                case.classify(self.category, None, location, self.note, at=at, ctx=ctx)
            if self.details_pending:
                return changes
            policy.route(case, at=at, ctx=ctx)
            return True
        if not changes:
            return False
        policy.reclassify(case, self.category, None, location, self.note, at=at, ctx=ctx)
        return True


@dataclass(frozen=True)
class Replied:
    """The reporter added a message (a ReporterMessageAdded)."""

    complaint_id: uuid.UUID

    def apply(
        self, case: Case, policy: RoutingPolicy, *, at: datetime, ctx: CommandContext
    ) -> bool:
        """Reopens a resolved case; otherwise the message is only noted. Returns whether the
        case changed."""
        if case.status is not CaseStatus.RESOLVED:
            return False
        case.reopen("the reporter replied after resolution", True, at=at, ctx=ctx)
        return True


@dataclass(frozen=True)
class Withdrawn:
    """The reporter withdrew the complaint (a ComplaintWithdrawn)."""

    complaint_id: uuid.UUID
    reason: str

    def apply(
        self, case: Case, policy: RoutingPolicy, *, at: datetime, ctx: CommandContext
    ) -> bool:
        """Ends an unfinished case. Returns whether the case changed."""
        if case.status not in (*OPEN_STATUSES, CaseStatus.RESOLVED):
            return False
        case.withdraw(self.reason, at=at, ctx=ctx)
        return True


# What an intake event can do to an existing case. Each has the same `apply`, so the application
# treats them alike; some need no policy.
CaseChange = Learned | Replied | Withdrawn


@dataclass(frozen=True)
class IntakeReaction:
    """One intake event of a batch: its position, the position it follows on from, and what it
    means here (None: nothing to do but record it as seen)."""

    upstream: str
    position: int
    previous_position: int
    change: Filing | CaseChange | None
    ctx: CommandContext


class BatchCases:
    """The cases one batch of reactions reads or opens, changed in memory, and the ticket numbers
    it claims: all saved together, in the batch's one transaction, at its end. Each case is
    loaded once, so later events of the batch see what earlier ones did to it."""

    def __init__(self, find: Callable[[uuid.UUID], Case | None]) -> None:
        self._find = find
        # None: no such case in the store.
        self._cases: dict[uuid.UUID, Case | None] = {}
        self._tickets: dict[str, str] = {}

    def get(self, case_id: uuid.UUID) -> Case | None:
        if case_id not in self._cases:
            self._cases[case_id] = self._find(case_id)
        return self._cases[case_id]

    def has_case(self, case_id: uuid.UUID) -> bool:
        """Whether this batch already read or opened the case (the store is not asked)."""
        return self._cases.get(case_id) is not None

    def opened(self, case: Case, ticket_number: str) -> None:
        if ticket_number:
            self._tickets.setdefault(ticket_number.upper(), str(case.id))
        self._cases[case.id] = case

    @property
    def cases(self) -> list[Case]:
        return [case for case in self._cases.values() if case is not None]

    @property
    def ticket_claims(self) -> list[tuple[str, str]]:
        """(ticket number, complaint id) of every case the batch opened with a ticket number."""
        return list(self._tickets.items())
