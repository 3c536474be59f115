"""The routing application: opens a case for every filed complaint, places it by the rules, runs
the officers' workflow and the SLA clocks. Pure domain: no transport.

It orchestrates: check the request (validation.py), load the case, let the case, the intake
change (reactions.py) or the policy (policy.py) decide, save. The rules live in those modules.

Order of checks for every officer command (the documented error codes):
1. the request itself (missing text, unknown reason code, unknown office...) -> ValidationError;
2. the case exists -> NotFoundError;
3. `expected_version` (0 = do not check) matches -> ConcurrencyConflictError;
4. the case's status allows the command -> InvalidStateError;
5. the request fits the case (target differs from the holder, direction fits the kind)
   -> ValidationError.
Checks 1 and 5 are validation.py's; 4 is the Case's.
Nothing is stored when a check fails. Two writers racing on one case: the store's optimistic
concurrency lets exactly one save; the other gets the store's IntegrityError (ABORTED).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.persistence import IntegrityError

from aduan.core.context import Actor, CommandContext
from aduan.core.errors import (
    ConcurrencyConflictError,
    FieldViolation,
    NotFoundError,
    ValidationError,
)
from aduan.eventstore.store import AduanApplication, SideWrites
from aduan.eventstore.tracking import BatchPositions
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan.reference.offices import OfficeRegistry
from aduan_routing.deadlines import DeadlineIndex
from aduan_routing.domain import (
    Case,
    ReasonCode,
    ReassignmentKind,
    Scope,
)
from aduan_routing.policy import RoutingPolicy, default_policy
from aduan_routing.reactions import (
    BatchCases,
    CaseChange,
    Filing,
    IntakeReaction,
    Learned,
    Replied,
    Withdrawn,
)
from aduan_routing.rules import RuleSet
from aduan_routing.validation import (
    recorded_text,
    require_direction,
    required_text,
    valid_classification,
    valid_reassignment,
)
from aduan_routing.workdays import Clock, SlaCalendar, SystemClock

log = logging.getLogger(__name__)

TICKETS = "ticket"
SLA_ACTOR = Actor.system("sla-ticker")


@dataclass(frozen=True)
class CommandResult:
    case: Case
    # Position of the last event stored by the command.
    position: int


class RoutingApplication(AduanApplication):
    name = "routing"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        policy: RoutingPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(env)
        self.policy = policy or default_policy()
        self.clock: Clock = clock or SystemClock()
        self._deadlines = DeadlineIndex(self.read_notifications, self._next_deadline)

    @property
    def registry(self) -> OfficeRegistry:
        return self.policy.registry

    @property
    def rules(self) -> RuleSet:
        return self.policy.rules

    @property
    def sla(self) -> SlaCalendar:
        return self.policy.sla

    # -- reading ----------------------------------------------------------------------------
    def find(self, case_id: uuid.UUID) -> Case | None:
        return self.find_aggregate(case_id, Case)

    def resolve_ref(self, complaint_ref: str) -> uuid.UUID:
        """A complaint id, or a ticket number, to the complaint id."""
        ref = complaint_ref.strip()
        if not ref:
            raise ValidationError(FieldViolation("complaint_id", "required"))
        try:
            return uuid.UUID(ref)
        except ValueError:
            pass
        holder = self.claims.get(TICKETS, ref.upper())
        if holder is None:
            raise NotFoundError(f"no case for complaint {complaint_ref!r}")
        return uuid.UUID(holder)

    def get_case(self, complaint_ref: str) -> Case:
        case = self.find(self.resolve_ref(complaint_ref))
        if case is None:
            raise NotFoundError(f"no case for complaint {complaint_ref!r}")
        return case

    # -- reactions to intake (each saved with its tracking record) --------------------------
    def open_case(
        self, filing: Filing, *, upstream: str, position: int, ctx: CommandContext
    ) -> Case | None:
        """Open and place the case of a filed complaint. Raises DuplicateEventError when this
        upstream event was processed before."""
        if filing.ticket_number:
            self.claims.claim(TICKETS, filing.ticket_number.upper(), str(filing.complaint_id))
        if self.find(filing.complaint_id) is not None:
            return self._saved_reaction(upstream, position, None)
        case = filing.open_case(self.policy, at=self.clock.now(), ctx=ctx)
        return self._saved_reaction(upstream, position, case)

    def details_learned(
        self, learned: Learned, *, upstream: str, position: int, ctx: CommandContext
    ) -> Case | None:
        """What intake learned: recorded on the case, which is placed once the details are
        complete, or re-placed when it was placed already and the rules now answer otherwise."""
        return self._react(learned, upstream=upstream, position=position, ctx=ctx)

    def reporter_replied(
        self, complaint_id: uuid.UUID, *, upstream: str, position: int, ctx: CommandContext
    ) -> Case | None:
        """A reporter's message after resolution reopens the case; otherwise it is only noted."""
        return self._react(Replied(complaint_id), upstream=upstream, position=position, ctx=ctx)

    def complaint_withdrawn(
        self,
        complaint_id: uuid.UUID,
        reason: str,
        *,
        upstream: str,
        position: int,
        ctx: CommandContext,
    ) -> Case | None:
        withdrawn = Withdrawn(complaint_id, reason)
        return self._react(withdrawn, upstream=upstream, position=position, ctx=ctx)

    def note_upstream(self, *, upstream: str, position: int) -> None:
        """An upstream event that changes nothing here: record that it was seen."""
        self.save_reaction(upstream, position)

    def react_batch(self, reactions: Sequence[IntakeReaction]) -> int:
        """The reactions to many intake events at once: cases opened or changed, ticket claims
        and tracking records in one transaction (SQL stores only: `joint_writes`). Events
        already tracked are skipped; returns how many were processed.

        Raises (and writes nothing) when anything fails: an event out of order, a ticket
        claimed or a case changed or opened meanwhile, a tracking record written meanwhile
        (DuplicateEventError when it covers the batch). The consumer then processes the events
        one by one."""
        positions = BatchPositions(self.known_position)
        batch = BatchCases(self.find)
        processed = 0
        for reaction in reactions:
            if not positions.admit(
                reaction.upstream, reaction.position, reaction.previous_position
            ):
                continue  # processed before
            processed += 1
            self._react_in_batch(batch, reaction.change, reaction.ctx)
        if not positions.newest:
            return 0
        side = SideWrites()
        self.claims.claim_all(side, TICKETS, batch.ticket_claims)
        self.save_reactions(positions.newest, *batch.cases, follows=positions.tracked, side=side)
        return processed

    def _react_in_batch(
        self, batch: BatchCases, change: Filing | CaseChange | None, ctx: CommandContext
    ) -> None:
        now = self.clock.now()
        if isinstance(change, Filing):
            # A case that exists already (never, but for a store edited by hand) makes the
            # transaction fail on its version, and one by one its filing is only noted.
            if not batch.has_case(change.complaint_id):
                opened = change.open_case(self.policy, at=now, ctx=ctx)
                batch.opened(opened, change.ticket_number)
        elif change is not None:
            case = batch.get(change.complaint_id)
            if case is not None:
                change.apply(case, self.policy, at=now, ctx=ctx)

    def _react(
        self, change: CaseChange, *, upstream: str, position: int, ctx: CommandContext
    ) -> Case | None:
        """Applies the change to its case, saved with the upstream event's tracking record;
        returns the case when it changed."""
        case = self.find(change.complaint_id)
        now = self.clock.now()
        changed = case is not None and change.apply(case, self.policy, at=now, ctx=ctx)
        return self._saved_reaction(upstream, position, case if changed else None)

    def _saved_reaction(self, upstream: str, position: int, changed: Case | None) -> Case | None:
        """Tracks the upstream event, with the case it changed (None: it changed none)."""
        if changed is None:
            self.save_reaction(upstream, position)
        else:
            self.save_reaction(upstream, position, changed)
        return changed

    # -- officers' commands -------------------------------------------------------------------
    def classify(
        self,
        complaint_ref: str,
        *,
        category: Category | None,
        scope: Scope | None,
        location: Location | None,
        note: str,
        expected_version: int,
        ctx: CommandContext,
    ) -> CommandResult:
        location = valid_classification(category, scope, location, note, self.registry.areas)
        case = self._load(complaint_ref, expected_version)
        note = recorded_text(note)
        self.policy.reclassify(case, category, scope, location, note, at=self.clock.now(), ctx=ctx)
        return self._save(case)

    def accept(
        self, complaint_ref: str, *, expected_version: int, ctx: CommandContext
    ) -> CommandResult:
        case = self._load(complaint_ref, expected_version)
        now = self.clock.now()
        case.accept(self.sla.response_due(now), at=now, ctx=ctx)
        return self._save(case)

    def reassign(
        self,
        complaint_ref: str,
        *,
        kind: ReassignmentKind,
        to_office: str,
        reason_code: ReasonCode | None,
        note: str,
        expected_version: int,
        ctx: CommandContext,
    ) -> CommandResult:
        to_office, reason = valid_reassignment(kind, to_office, reason_code, note, self.registry)
        case = self._load(complaint_ref, expected_version)
        case.require_open("reassign")
        require_direction(self.registry, kind, case.holder, to_office)
        note = recorded_text(note)
        self.policy.reassign(case, kind, to_office, reason, note, at=self.clock.now(), ctx=ctx)
        return self._save(case)

    def respond(
        self, complaint_ref: str, *, text: str, expected_version: int, ctx: CommandContext
    ) -> CommandResult:
        text = required_text("text", text)
        case = self._load(complaint_ref, expected_version)
        case.respond(case.holder, text, at=self.clock.now(), ctx=ctx)
        return self._save(case)

    def resolve(
        self, complaint_ref: str, *, summary: str, expected_version: int, ctx: CommandContext
    ) -> CommandResult:
        summary = required_text("summary", summary)
        case = self._load(complaint_ref, expected_version)
        now = self.clock.now()
        case.resolve(summary, self.sla.auto_close_due(now), at=now, ctx=ctx)
        return self._save(case)

    def reopen(
        self, complaint_ref: str, *, reason: str, expected_version: int, ctx: CommandContext
    ) -> CommandResult:
        reason = required_text("reason", reason)
        case = self._load(complaint_ref, expected_version)
        case.reopen(reason, False, at=self.clock.now(), ctx=ctx)
        return self._save(case)

    def close_case(
        self, complaint_ref: str, *, reason: str, expected_version: int, ctx: CommandContext
    ) -> CommandResult:
        reason = required_text("reason", reason)
        case = self._load(complaint_ref, expected_version)
        case.close(reason, False, at=self.clock.now(), ctx=ctx)
        return self._save(case)

    # -- SLA clocks ---------------------------------------------------------------------------
    def enforce_deadlines(self) -> int:
        """One SLA tick: record every breach due now, escalate to the parent office, close
        resolved cases the reporter did not answer. Returns how many cases changed."""
        now = self.clock.now()
        changed = 0
        for case_id in self._deadlines.passed(now):
            try:
                if self._enforce(case_id, now):
                    changed += 1
            except IntegrityError:
                # An officer changed the case meanwhile; the next tick looks again.
                log.info("SLA tick lost a race; retrying next tick", extra={"case": str(case_id)})
        return changed

    def _enforce(self, case_id: uuid.UUID, now: datetime) -> bool:
        case = self.find(case_id)
        if case is None:
            return False
        ctx = CommandContext(actor=SLA_ACTOR)
        if case.awaiting_details:
            assert case.details_due is not None
            if now <= case.details_due:
                return False
            # The reporter did not answer in time: placed with what is known (the triage desk
            # when that is not enough); a late answer still re-places it.
            self.policy.route(case, at=now, ctx=ctx)
        elif case.auto_close_is_due(now):
            case.close("no reply from the reporter after resolution", True, at=now, ctx=ctx)
        else:
            missed = case.overdue(now)
            if not missed:
                return False
            self.policy.escalate_breaches(case, missed, at=now, ctx=ctx)
        self._save(case)
        return True

    def _next_deadline(self, case_id: uuid.UUID) -> datetime | None:
        case = self.find(case_id)
        return case.next_deadline() if case is not None else None

    # -- helpers ------------------------------------------------------------------------------
    def _load(self, complaint_ref: str, expected_version: int) -> Case:
        case = self.get_case(complaint_ref)
        if expected_version and expected_version != case.version:
            raise ConcurrencyConflictError(
                f"the case is at version {case.version}, not {expected_version}; reload and retry"
            )
        return case

    def _save(self, case: Case) -> CommandResult:
        recordings = self.save(case)
        position = recordings[-1].notification.id if recordings else self.head_position()
        return CommandResult(case, position)
