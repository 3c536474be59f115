"""The Case aggregate: which office holds a complaint, where it is in the officers' workflow, its
SLA deadlines and its custody chain. Pure domain: no gRPC, NATS or protobuf.

One case per complaint; its id is the complaint id, so every service correlates trivially.
Command methods check the workflow rules and raise `aduan.core.errors` exceptions; the private
`@event` methods record what happened (their bodies also rebuild the state on replay). Decisions
that need the office registry, the routing rules or the calendar are made by the routing policy
(policy.py), which passes their results in.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from aduan.core.context import CommandContext
from aduan.core.errors import FieldViolation, InvalidStateError, ValidationError
from aduan.reference.categories import Category
from aduan.reference.locations import Location


class Scope(StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    LOCAL = "LOCAL"
    REGIONAL = "REGIONAL"
    NATIONAL = "NATIONAL"


class CaseStatus(StrEnum):
    # Held by an office that has not accepted it yet.
    ASSIGNED = "ASSIGNED"
    # Accepted by the holding office and being worked on.
    IN_PROGRESS = "IN_PROGRESS"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"
    WITHDRAWN = "WITHDRAWN"


OPEN_STATUSES = frozenset({CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS})


class ReassignmentKind(StrEnum):
    ESCALATE = "ESCALATE"
    DELEGATE = "DELEGATE"
    TRANSFER = "TRANSFER"
    RETURN_TO_TRIAGE = "RETURN_TO_TRIAGE"
    # By the routing rules after a classification change; never requested by an officer.
    REROUTE = "REROUTE"


class ReasonCode(StrEnum):
    WRONG_JURISDICTION = "WRONG_JURISDICTION"
    NEEDS_HIGHER_AUTHORITY = "NEEDS_HIGHER_AUTHORITY"
    WIDE_IMPACT = "WIDE_IMPACT"
    NATIONAL_SCOPE = "NATIONAL_SCOPE"
    FIELD_WORK_NEEDED = "FIELD_WORK_NEEDED"
    CONFLICT_OF_INTEREST = "CONFLICT_OF_INTEREST"
    # Reserved for the SLA ticker.
    SLA_BREACH = "SLA_BREACH"
    # Reserved for re-routing after a classification.
    RECLASSIFIED = "RECLASSIFIED"
    MISSING_INFORMATION = "MISSING_INFORMATION"
    OTHER = "OTHER"


SYSTEM_REASONS = frozenset({ReasonCode.SLA_BREACH, ReasonCode.RECLASSIFIED})


class SlaKind(StrEnum):
    ACCEPT = "ACCEPT"
    FIRST_RESPONSE = "FIRST_RESPONSE"
    RESOLUTION = "RESOLUTION"


def _dt(value: datetime | str | None) -> datetime | None:
    """Datetimes come back from the store as datetimes; tolerate ISO strings too."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


class Case(Aggregate):
    """One complaint's journey through the offices."""

    @staticmethod
    def create_id(complaint_id: uuid.UUID) -> uuid.UUID:
        return complaint_id

    @event("Opened")
    def __init__(
        self,
        complaint_id: uuid.UUID,
        ticket_number: str,
        category: str,
        # The stored mapping (`Location.fields`): see `open`.
        location: dict[str, str],
        confidential: bool,
        filed_at: datetime,
        resolution_due: datetime,
        at: datetime,
        meta: dict[str, Any],
        details_due: datetime | None = None,
    ) -> None:
        self.complaint_id = complaint_id
        self.ticket_number = ticket_number
        self.category = Category(category)
        self.scope = Scope.UNSPECIFIED
        self.location = Location.from_fields(location)
        self.confidential = confidential
        self.filed_at = _dt(filed_at)
        self.opened_at = _dt(at)
        self.updated_at = _dt(at)
        self.status: CaseStatus | None = None
        self.holder = ""
        self.holder_since: datetime | None = None
        self.accept_due: datetime | None = None
        self.response_due: datetime | None = None
        self.resolution_due = _dt(resolution_due)
        self.auto_close_due: datetime | None = None
        self.responded = False
        self.breached: list[SlaKind] = []
        self.reassignment_count = 0
        self.ping_pong_flagged = False
        self.rule_id = ""
        self.ruleset_version = ""
        # Custody chain: one entry per office that held the case, in order.
        self.custody: list[dict[str, Any]] = []
        # While intake is still learning where and what the complaint is about, the case waits
        # unplaced (status None) until the details are complete or this moment passes.
        self.details_due = _dt(details_due)

    @classmethod
    def open(
        cls,
        *,
        complaint_id: uuid.UUID,
        ticket_number: str,
        category: Category,
        location: Location,
        confidential: bool,
        filed_at: datetime,
        resolution_due: datetime,
        at: datetime,
        ctx: CommandContext,
        details_due: datetime | None = None,
    ) -> Case:
        # The event keeps a plain mapping: stored Opened events, old and new, read the same, and
        # their hash chain and published payload depend on its exact bytes.
        return cls(
            complaint_id=complaint_id,
            ticket_number=ticket_number,
            category=category.value,
            location=location.fields(),
            confidential=confidential,
            filed_at=filed_at,
            resolution_due=resolution_due,
            at=at,
            meta=ctx.meta(),
            details_due=details_due,
        )

    @property
    def awaiting_details(self) -> bool:
        return self.status is None and self.details_due is not None

    # -- queries ----------------------------------------------------------------------------
    @property
    def offices_left(self) -> list[str]:
        return [entry["office"] for entry in self.custody if entry["left_at"] is not None]

    def held_seconds(self, at: datetime) -> int:
        since = self.holder_since or at
        return max(0, int((at - since).total_seconds()))

    def next_deadline(self) -> datetime | None:
        """The earliest deadline the SLA ticker must look at, or None."""
        pending: list[datetime] = []
        if self.awaiting_details:
            assert self.details_due is not None
            pending.append(self.details_due)
        if self.status in OPEN_STATUSES:
            if self.status is CaseStatus.ASSIGNED and self.accept_due is not None:
                pending.append(self.accept_due)
            if (
                not self.responded
                and self.response_due is not None
                and SlaKind.FIRST_RESPONSE not in self.breached
            ):
                pending.append(self.response_due)
            if self.resolution_due is not None and SlaKind.RESOLUTION not in self.breached:
                pending.append(self.resolution_due)
        elif self.status is CaseStatus.RESOLVED and self.auto_close_due is not None:
            pending.append(self.auto_close_due)
        return min(pending) if pending else None

    def overdue(self, now: datetime) -> list[tuple[SlaKind, datetime]]:
        """Every SLA breached at `now` and not recorded yet, earliest deadline first: all of them
        were missed by the current holder (the escalation that follows is recorded at `now`), so
        the ticker records them together, also when it catches up after an outage."""
        if self.status not in OPEN_STATUSES:
            return []
        candidates: list[tuple[datetime, SlaKind]] = []
        if self.status is CaseStatus.ASSIGNED and self.accept_due is not None:
            candidates.append((self.accept_due, SlaKind.ACCEPT))
        if (
            not self.responded
            and self.response_due is not None
            and SlaKind.FIRST_RESPONSE not in self.breached
        ):
            candidates.append((self.response_due, SlaKind.FIRST_RESPONSE))
        if self.resolution_due is not None and SlaKind.RESOLUTION not in self.breached:
            candidates.append((self.resolution_due, SlaKind.RESOLUTION))
        return [(kind, when) for when, kind in sorted(candidates) if now > when]

    def auto_close_is_due(self, now: datetime) -> bool:
        return (
            self.status is CaseStatus.RESOLVED
            and self.auto_close_due is not None
            and now > self.auto_close_due
        )

    # -- commands ---------------------------------------------------------------------------
    def _require(self, allowed: Sequence[CaseStatus], action: str) -> None:
        if self.status not in allowed:
            current = self.status.value if self.status else "unrouted"
            raise InvalidStateError(
                f"cannot {action} a case that is {current}; allowed when "
                f"{' or '.join(s.value for s in allowed)}"
            )

    def require_open(self, action: str) -> None:
        self._require([CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS], action)

    def route(
        self,
        office: str,
        rule_id: str,
        ruleset_version: str,
        accept_due: datetime,
        *,
        at: datetime,
        ctx: CommandContext,
    ) -> None:
        if self.status is not None:
            raise InvalidStateError("the case is already routed")
        self._routed(office, rule_id, ruleset_version, accept_due, at, ctx.meta())

    def classify(
        self,
        category: Category | None,
        scope: Scope | None,
        location: Location | None,
        note: str,
        *,
        at: datetime,
        ctx: CommandContext,
    ) -> None:
        if not self.awaiting_details:
            self._require([CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS], "classify")
        # A plain mapping, as Classified events have always stored it (see `open`).
        self._classified(
            (category or self.category).value,
            (location if location is not None else self.location).fields(),
            (scope or self.scope).value,
            note,
            at,
            ctx.meta(),
        )

    def accept(self, response_due: datetime | None, *, at: datetime, ctx: CommandContext) -> None:
        self._require([CaseStatus.ASSIGNED], "accept")
        # The first-response clock starts at the first acceptance and keeps running afterwards.
        due = None if self.responded else (self.response_due or response_due)
        self._accepted(self.holder, due, at, ctx.meta())

    def reassign(
        self,
        kind: ReassignmentKind,
        to_office: str,
        reason_code: ReasonCode,
        note: str,
        accept_due: datetime,
        *,
        at: datetime,
        ctx: CommandContext,
        rule_id: str = "",
        ruleset_version: str = "",
    ) -> None:
        self._require([CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS], "reassign")
        if to_office == self.holder:
            raise ValidationError(
                FieldViolation("to_office_code", f"the case is already held by {to_office}")
            )
        self._reassigned(
            kind.value,
            self.holder,
            to_office,
            reason_code.value,
            note,
            rule_id,
            ruleset_version,
            accept_due,
            self.held_seconds(at),
            at,
            ctx.meta(),
        )

    def flag_ping_pong_if_needed(
        self,
        limit: int,
        supervisor_of: Callable[[list[str]], str],
        *,
        at: datetime,
        ctx: CommandContext,
    ) -> bool:
        """After a reassignment: flag the case when it crossed the reassignment limit or came
        back to an office it had already left. Returns whether it flagged."""
        returned_to = self.holder if self.holder in self.offices_left else ""
        crossed_limit = self.reassignment_count == limit + 1
        if not returned_to and not crossed_limit:
            return False
        involved = [entry["office"] for entry in self.custody]
        self._ping_pong_flagged(
            self.reassignment_count, returned_to, supervisor_of(involved), at, ctx.meta()
        )
        return True

    def respond(self, office: str, text: str, *, at: datetime, ctx: CommandContext) -> None:
        self._require([CaseStatus.IN_PROGRESS], "respond to the reporter on")
        self._reporter_answered(office, text, not self.responded, at, ctx.meta())

    def resolve(
        self, summary: str, auto_close_due: datetime, *, at: datetime, ctx: CommandContext
    ) -> None:
        self._require([CaseStatus.IN_PROGRESS], "resolve")
        self._resolved(self.holder, summary, auto_close_due, at, ctx.meta())

    def reopen(self, reason: str, by_reporter: bool, *, at: datetime, ctx: CommandContext) -> None:
        allowed = [CaseStatus.RESOLVED] if by_reporter else [CaseStatus.RESOLVED, CaseStatus.CLOSED]
        self._require(allowed, "reopen")
        self._reopened(reason, by_reporter, at, ctx.meta())

    def close(self, reason: str, automatic: bool, *, at: datetime, ctx: CommandContext) -> None:
        self._require([CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED], "close")
        self._closed(automatic, reason, at, ctx.meta())

    def withdraw(self, reason: str, *, at: datetime, ctx: CommandContext) -> None:
        self._require(
            [CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED], "withdraw"
        )
        self._withdrawn(reason, at, ctx.meta())

    def record_breach(
        self,
        sla: SlaKind,
        due_at: datetime,
        escalated_to: str,
        *,
        at: datetime,
        ctx: CommandContext,
    ) -> None:
        self._require([CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS], "record an SLA breach on")
        self._sla_breached(sla.value, self.holder, due_at, escalated_to, at, ctx.meta())

    # -- events -----------------------------------------------------------------------------
    def _receive(self, office: str, received_from: str, at: datetime) -> None:
        at = _dt(at) or at
        if self.custody:
            last = self.custody[-1]
            last["handed_to"] = office
            last["left_at"] = at
            last["held_seconds"] = self.held_seconds(at)
        self.custody.append(
            {
                "office": office,
                "received_from": received_from,
                "received_at": at,
                "handed_to": "",
                "left_at": None,
                "held_seconds": 0,
            }
        )
        self.holder = office
        self.holder_since = at

    @event("Routed")
    def _routed(
        self,
        office: str,
        rule_id: str,
        ruleset_version: str,
        accept_due: datetime,
        at: datetime,
        meta: dict[str, Any],
    ) -> None:
        self._receive(office, "", at)
        self.status = CaseStatus.ASSIGNED
        self.accept_due = _dt(accept_due)
        self.rule_id = rule_id
        self.ruleset_version = ruleset_version
        self.updated_at = _dt(at)

    @event("Classified")
    def _classified(
        self,
        category: str,
        location: dict[str, str],
        scope: str,
        note: str,
        at: datetime,
        meta: dict[str, Any],
    ) -> None:
        self.category = Category(category)
        self.location = Location.from_fields(location)
        self.scope = Scope(scope)
        self.updated_at = _dt(at)

    @event("Accepted")
    def _accepted(
        self, office: str, response_due: datetime | None, at: datetime, meta: dict[str, Any]
    ) -> None:
        self.status = CaseStatus.IN_PROGRESS
        self.accept_due = None
        self.response_due = _dt(response_due)
        self.updated_at = _dt(at)

    @event("Reassigned")
    def _reassigned(
        self,
        kind: str,
        from_office: str,
        to_office: str,
        reason_code: str,
        note: str,
        rule_id: str,
        ruleset_version: str,
        accept_due: datetime,
        held_seconds: int,
        at: datetime,
        meta: dict[str, Any],
    ) -> None:
        self._receive(to_office, from_office, at)
        self.status = CaseStatus.ASSIGNED
        self.accept_due = _dt(accept_due)
        self.reassignment_count += 1
        if rule_id:
            self.rule_id = rule_id
            self.ruleset_version = ruleset_version
        self.updated_at = _dt(at)

    @event("PingPongFlagged")
    def _ping_pong_flagged(
        self,
        reassignment_count: int,
        returned_to: str,
        supervising_office: str,
        at: datetime,
        meta: dict[str, Any],
    ) -> None:
        self.ping_pong_flagged = True
        self.updated_at = _dt(at)

    @event("ReporterAnswered")
    def _reporter_answered(
        self, office: str, text: str, first_response: bool, at: datetime, meta: dict[str, Any]
    ) -> None:
        self.responded = True
        self.updated_at = _dt(at)

    @event("Resolved")
    def _resolved(
        self,
        office: str,
        summary: str,
        auto_close_due: datetime,
        at: datetime,
        meta: dict[str, Any],
    ) -> None:
        self.status = CaseStatus.RESOLVED
        self.auto_close_due = _dt(auto_close_due)
        self.updated_at = _dt(at)

    @event("Reopened")
    def _reopened(self, reason: str, by_reporter: bool, at: datetime, meta: dict[str, Any]) -> None:
        self.status = CaseStatus.IN_PROGRESS
        self.auto_close_due = None
        self.updated_at = _dt(at)

    @event("Closed")
    def _closed(self, automatic: bool, reason: str, at: datetime, meta: dict[str, Any]) -> None:
        self.status = CaseStatus.CLOSED
        self.accept_due = None
        self.auto_close_due = None
        self.updated_at = _dt(at)

    @event("Withdrawn")
    def _withdrawn(self, reason: str, at: datetime, meta: dict[str, Any]) -> None:
        self.status = CaseStatus.WITHDRAWN
        self.accept_due = None
        self.auto_close_due = None
        self.updated_at = _dt(at)

    @event("SlaBreached")
    def _sla_breached(
        self,
        sla: str,
        office: str,
        due_at: datetime,
        escalated_to: str,
        at: datetime,
        meta: dict[str, Any],
    ) -> None:
        kind = SlaKind(sla)
        if kind not in self.breached:
            self.breached.append(kind)
        if kind is SlaKind.ACCEPT and not escalated_to:
            # Nobody above to escalate to: stop the accept clock instead of breaching forever.
            self.accept_due = None
        self.updated_at = _dt(at)
