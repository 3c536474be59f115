"""The routing application: opens a case for every filed complaint, places it by the rules, runs
the officers' workflow and the SLA clocks. Pure domain: no transport.

Order of checks for every officer command (the documented error codes):
1. the request itself (missing text, unknown reason code, unknown office...) -> ValidationError;
2. the case exists -> NotFoundError;
3. `expected_version` (0 = do not check) matches -> ConcurrencyConflictError;
4. the case's status allows the command -> InvalidStateError;
5. the request fits the case (target differs from the holder, direction fits the kind)
   -> ValidationError.
Nothing is stored when a check fails. Two writers racing on one case: the store's optimistic
concurrency lets exactly one save; the other gets the store's IntegrityError (ABORTED).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from eventsourcing.application import AggregateNotFoundError
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
from aduan.reference.offices import OfficeRegistry, default_registry
from aduan_routing.domain import (
    OPEN_STATUSES,
    SYSTEM_REASONS,
    Case,
    CaseStatus,
    ReasonCode,
    ReassignmentKind,
    Scope,
)
from aduan_routing.rules import Facts, Placement, RuleSet, load_rules
from aduan_routing.workdays import Clock, SlaCalendar, SystemClock, default_calendar

log = logging.getLogger(__name__)

TICKETS = "ticket"
MAX_TEXT = 4000
SLA_ACTOR = Actor.system("sla-ticker")
OFFICER_KINDS = (
    ReassignmentKind.ESCALATE,
    ReassignmentKind.DELEGATE,
    ReassignmentKind.TRANSFER,
    ReassignmentKind.RETURN_TO_TRIAGE,
)


@dataclass(frozen=True)
class RoutingPolicy:
    """Everything routing decides by: offices, rules, calendar, ping-pong limit."""

    registry: OfficeRegistry
    rules: RuleSet
    sla: SlaCalendar
    ping_pong_limit: int = 4


def default_policy() -> RoutingPolicy:
    registry = default_registry()
    return RoutingPolicy(registry, load_rules(registry), SlaCalendar(default_calendar()))


@dataclass(frozen=True)
class Filing:
    """What routing needs from a ComplaintFiled event."""

    complaint_id: uuid.UUID
    ticket_number: str
    category: Category
    location: dict[str, str]
    confidential: bool
    filed_at: datetime
    # Intake is still learning the details: wait for them until then (None: place at once).
    details_due: datetime | None = None


@dataclass(frozen=True)
class Learned:
    """Intake learned where or what the complaint is about (ComplaintLocated,
    ComplaintClassified), or asked the reporter (DetailsRequested: neither given)."""

    complaint_id: uuid.UUID
    category: Category | None
    location: dict[str, str] | None
    # More details follow from intake: keep waiting.
    details_pending: bool
    note: str


@dataclass(frozen=True)
class Replied:
    """The reporter added a message (a ReporterMessageAdded)."""

    complaint_id: uuid.UUID


@dataclass(frozen=True)
class Withdrawn:
    """The reporter withdrew the complaint (a ComplaintWithdrawn)."""

    complaint_id: uuid.UUID
    reason: str


@dataclass(frozen=True)
class IntakeReaction:
    """One intake event of a batch: its position, the position it follows on from, and what it
    means here (None: nothing to do but record it as seen)."""

    upstream: str
    position: int
    previous_position: int
    change: Filing | Learned | Replied | Withdrawn | None
    ctx: CommandContext


@dataclass(frozen=True)
class CommandResult:
    case: Case
    # Position of the last event stored by the command.
    position: int


@dataclass
class _DeadlineIndex:
    """Next deadline of every case that has one, kept up to date from the notification log."""

    position: int = 0
    due: dict[uuid.UUID, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


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
        self._index = _DeadlineIndex()

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
        try:
            case: Case = self.repository.get(case_id)
        except AggregateNotFoundError:
            return None
        return case

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
            self.save_reaction(upstream, position)
            return None
        case = self._new_case(filing, ctx)
        self.save_reaction(upstream, position, case)
        return case

    def _new_case(self, filing: Filing, ctx: CommandContext) -> Case:
        now = self.clock.now()
        case = Case(
            complaint_id=filing.complaint_id,
            ticket_number=filing.ticket_number,
            category=filing.category.value,
            location=dict(filing.location),
            confidential=filing.confidential,
            filed_at=filing.filed_at,
            resolution_due=self.sla.resolution_due(filing.filed_at),
            at=now,
            meta=ctx.meta(),
            details_due=filing.details_due,
        )
        if filing.details_due is None:
            self._route(case, now, ctx)
        return case

    def _route(self, case: Case, now: datetime, ctx: CommandContext) -> None:
        """The first placement, by the rules, with what the case knows now."""
        placement = self.place(case)
        case.route(
            placement.office.code,
            placement.rule_id,
            placement.ruleset_version,
            self.sla.accept_due(now),
            at=now,
            ctx=ctx,
        )

    def details_learned(
        self, learned: Learned, *, upstream: str, position: int, ctx: CommandContext
    ) -> Case | None:
        """What intake learned: recorded on the case, which is placed once the details are
        complete, or re-placed when it was placed already and the rules now answer otherwise."""
        case = self.find(learned.complaint_id)
        if not self._learn(case, learned, ctx):
            self.save_reaction(upstream, position)
            return None
        self.save_reaction(upstream, position, case)
        return case

    def _learn(self, case: Case | None, learned: Learned, ctx: CommandContext) -> bool:
        if case is None or not (case.awaiting_details or case.status in OPEN_STATUSES):
            return False
        location = None
        if learned.location is not None:
            location = {**learned.location, "address": case.location.get("address", "")}
        unchanged = (learned.category in (None, case.category)) and (
            location is None or location == case.location
        )
        now = self.clock.now()
        if case.awaiting_details:
            if not unchanged:
                case.classify(learned.category, None, location, learned.note, at=now, ctx=ctx)
            if learned.details_pending:
                return not unchanged
            self._route(case, now, ctx)
            return True
        if unchanged:
            return False
        self._reclassify(case, learned.category, None, location, learned.note, now, ctx)
        return True

    def reporter_replied(
        self, complaint_id: uuid.UUID, *, upstream: str, position: int, ctx: CommandContext
    ) -> Case | None:
        """A reporter's message after resolution reopens the case; otherwise it is only noted."""
        case = self.find(complaint_id)
        if not self._reopen_on_reply(case, ctx):
            self.save_reaction(upstream, position)
            return None
        self.save_reaction(upstream, position, case)
        return case

    def _reopen_on_reply(self, case: Case | None, ctx: CommandContext) -> bool:
        if case is None or case.status is not CaseStatus.RESOLVED:
            return False
        case.reopen("the reporter replied after resolution", True, at=self.clock.now(), ctx=ctx)
        return True

    def complaint_withdrawn(
        self,
        complaint_id: uuid.UUID,
        reason: str,
        *,
        upstream: str,
        position: int,
        ctx: CommandContext,
    ) -> Case | None:
        case = self.find(complaint_id)
        if not self._withdraw(case, reason, ctx):
            self.save_reaction(upstream, position)
            return None
        self.save_reaction(upstream, position, case)
        return case

    def _withdraw(self, case: Case | None, reason: str, ctx: CommandContext) -> bool:
        if case is None or case.status not in (*OPEN_STATUSES, CaseStatus.RESOLVED):
            return False
        case.withdraw(reason, at=self.clock.now(), ctx=ctx)
        return True

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
        # Cases read or opened by this batch (None: no such case), changed in memory.
        cases: dict[uuid.UUID, Case | None] = {}
        tickets: dict[str, str] = {}
        processed = 0
        for reaction in reactions:
            if not positions.admit(
                reaction.upstream, reaction.position, reaction.previous_position
            ):
                continue  # processed before
            processed += 1
            change, ctx = reaction.change, reaction.ctx
            if isinstance(change, Filing):
                # A case that exists already (never, but for a store edited by hand) makes the
                # transaction fail on its version, and one by one its filing is only noted.
                if cases.get(change.complaint_id) is not None:
                    continue
                if change.ticket_number:
                    tickets.setdefault(change.ticket_number.upper(), str(change.complaint_id))
                cases[change.complaint_id] = self._new_case(change, ctx)
            elif isinstance(change, Learned):
                self._learn(self._batch_case(cases, change.complaint_id), change, ctx)
            elif isinstance(change, Replied):
                self._reopen_on_reply(self._batch_case(cases, change.complaint_id), ctx)
            elif isinstance(change, Withdrawn):
                self._withdraw(self._batch_case(cases, change.complaint_id), change.reason, ctx)
        if not positions.newest:
            return 0

        side = SideWrites()
        self.claims.claim_all(side, TICKETS, list(tickets.items()))
        self.save_reactions(
            positions.newest,
            *(c for c in cases.values() if c is not None),
            follows=positions.tracked,
            side=side,
        )
        return processed

    def _batch_case(self, cases: dict[uuid.UUID, Case | None], case_id: uuid.UUID) -> Case | None:
        if case_id not in cases:
            cases[case_id] = self.find(case_id)
        return cases[case_id]

    # -- officers' commands -------------------------------------------------------------------
    def classify(
        self,
        complaint_ref: str,
        *,
        category: Category | None,
        scope: Scope | None,
        location: dict[str, str] | None,
        note: str,
        expected_version: int,
        ctx: CommandContext,
    ) -> CommandResult:
        location = self._valid_location(location) if location else None
        _limit("note", note)
        if category is None and scope is None and location is None:
            raise ValidationError(
                FieldViolation("", "give a category, a scope or a location to classify")
            )
        case = self._load(complaint_ref, expected_version)
        self._reclassify(case, category, scope, location, note, self.clock.now(), ctx)
        return self._save(case)

    def _reclassify(
        self,
        case: Case,
        category: Category | None,
        scope: Scope | None,
        location: dict[str, str] | None,
        note: str,
        now: datetime,
        ctx: CommandContext,
    ) -> None:
        """Classifies a placed case and re-routes it when the rules' answer changed."""
        before = self.place(case)
        case.classify(category, scope, location, note, at=now, ctx=ctx)
        after = self.place(case)
        # Re-route only when the classification changed the rules' answer: a case that an
        # officer escalated on purpose is not pulled back by an unrelated correction.
        if after.office.code != before.office.code and after.office.code != case.holder:
            case.reassign(
                ReassignmentKind.REROUTE,
                after.office.code,
                ReasonCode.RECLASSIFIED,
                note,
                self.sla.accept_due(now),
                at=now,
                ctx=ctx,
                rule_id=after.rule_id,
                ruleset_version=after.ruleset_version,
            )
            self._guard_ping_pong(case, now, ctx)

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
        to_office = to_office.strip()
        violations: list[FieldViolation] = []
        if kind not in OFFICER_KINDS:
            violations.append(
                FieldViolation(
                    "kind",
                    "must be ESCALATE, DELEGATE, TRANSFER or RETURN_TO_TRIAGE "
                    "(REROUTE is done by the routing rules after a classification)",
                )
            )
        if kind is ReassignmentKind.RETURN_TO_TRIAGE and not to_office:
            to_office = self.registry.triage_code
        if reason_code is None:
            violations.append(FieldViolation("reason_code", "required"))
        elif reason_code in SYSTEM_REASONS:
            violations.append(
                FieldViolation("reason_code", f"{reason_code.value} is set by the system only")
            )
        if not to_office:
            violations.append(FieldViolation("to_office_code", "required"))
        elif to_office not in self.registry:
            violations.append(FieldViolation("to_office_code", f"unknown office {to_office!r}"))
        if len(note) > MAX_TEXT:
            violations.append(FieldViolation("note", f"at most {MAX_TEXT} characters"))
        if violations:
            raise ValidationError(violations)
        assert reason_code is not None

        case = self._load(complaint_ref, expected_version)
        case.require_open("reassign")
        self._check_direction(kind, case.holder, to_office)
        now = self.clock.now()
        case.reassign(kind, to_office, reason_code, note, self.sla.accept_due(now), at=now, ctx=ctx)
        self._guard_ping_pong(case, now, ctx)
        return self._save(case)

    def respond(
        self, complaint_ref: str, *, text: str, expected_version: int, ctx: CommandContext
    ) -> CommandResult:
        _required("text", text)
        case = self._load(complaint_ref, expected_version)
        case.respond(case.holder, text.strip(), at=self.clock.now(), ctx=ctx)
        return self._save(case)

    def resolve(
        self, complaint_ref: str, *, summary: str, expected_version: int, ctx: CommandContext
    ) -> CommandResult:
        _required("summary", summary)
        case = self._load(complaint_ref, expected_version)
        now = self.clock.now()
        case.resolve(summary.strip(), self.sla.auto_close_due(now), at=now, ctx=ctx)
        return self._save(case)

    def reopen(
        self, complaint_ref: str, *, reason: str, expected_version: int, ctx: CommandContext
    ) -> CommandResult:
        _required("reason", reason)
        case = self._load(complaint_ref, expected_version)
        case.reopen(reason.strip(), False, at=self.clock.now(), ctx=ctx)
        return self._save(case)

    def close_case(
        self, complaint_ref: str, *, reason: str, expected_version: int, ctx: CommandContext
    ) -> CommandResult:
        _required("reason", reason)
        case = self._load(complaint_ref, expected_version)
        case.close(reason.strip(), False, at=self.clock.now(), ctx=ctx)
        return self._save(case)

    # -- SLA clocks ---------------------------------------------------------------------------
    def enforce_deadlines(self) -> int:
        """One SLA tick: record every breach due now, escalate to the parent office, close
        resolved cases the reporter did not answer. Returns how many cases changed."""
        now = self.clock.now()
        changed = 0
        for case_id in self._cases_due(now):
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
            self._route(case, now, ctx)
        elif case.auto_close_is_due(now):
            case.close("no reply from the reporter after resolution", True, at=now, ctx=ctx)
        else:
            overdue = case.overdue(now)
            if overdue is None:
                return False
            kind, due_at = overdue
            parent = self.registry.parent(case.holder)
            case.record_breach(kind, due_at, parent.code if parent else "", at=now, ctx=ctx)
            if parent is not None:
                case.reassign(
                    ReassignmentKind.ESCALATE,
                    parent.code,
                    ReasonCode.SLA_BREACH,
                    f"{kind.value} deadline {due_at.isoformat()} missed by {case.holder}",
                    self.sla.accept_due(now),
                    at=now,
                    ctx=ctx,
                )
                self._guard_ping_pong(case, now, ctx)
        self._save(case)
        return True

    def _cases_due(self, now: datetime) -> list[uuid.UUID]:
        index = self._index
        with index.lock:
            while True:
                notifications = self.read_notifications(index.position, 500)
                if not notifications:
                    break
                touched = {n.originator_id for n in notifications}
                for case_id in touched:
                    self._reindex(uuid.UUID(str(case_id)))
                index.position = notifications[-1].id
            return sorted(
                (case_id for case_id, due in index.due.items() if due < now),
                key=lambda case_id: index.due[case_id],
            )

    def _reindex(self, case_id: uuid.UUID) -> None:
        case = self.find(case_id)
        due = case.next_deadline() if case is not None else None
        if due is None:
            self._index.due.pop(case_id, None)
        else:
            self._index.due[case_id] = due

    # -- helpers ------------------------------------------------------------------------------
    def place(self, case: Case) -> Placement:
        return self.rules.place(
            Facts(
                category=case.category,
                scope=case.scope,
                province_code=case.location.get("province_code", ""),
                regency_code=case.location.get("regency_code", ""),
            )
        )

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

    def _check_direction(self, kind: ReassignmentKind, holder: str, to_office: str) -> None:
        if to_office == holder:
            raise ValidationError(
                FieldViolation("to_office_code", f"the case is already held by {to_office}")
            )
        registry = self.registry
        ok = {
            ReassignmentKind.ESCALATE: lambda: registry.is_ancestor(to_office, holder),
            ReassignmentKind.DELEGATE: lambda: registry.is_ancestor(holder, to_office),
            ReassignmentKind.TRANSFER: lambda: (
                registry.require(to_office).level == registry.require(holder).level
            ),
            ReassignmentKind.RETURN_TO_TRIAGE: lambda: to_office == registry.triage_code,
        }[kind]()
        if not ok:
            rule = {
                ReassignmentKind.ESCALATE: "an office above the holder",
                ReassignmentKind.DELEGATE: "an office below the holder",
                ReassignmentKind.TRANSFER: "an office of the holder's level",
                ReassignmentKind.RETURN_TO_TRIAGE: f"the triage desk {registry.triage_code}",
            }[kind]
            raise ValidationError(
                FieldViolation(
                    "to_office_code",
                    f"{kind.value} must target {rule}; {to_office} is not one for {holder}",
                )
            )

    def _guard_ping_pong(self, case: Case, now: datetime, ctx: CommandContext) -> None:
        case.flag_ping_pong_if_needed(
            self.policy.ping_pong_limit,
            lambda codes: self.registry.supervisor_of(codes).code,
            at=now,
            ctx=ctx,
        )

    def _valid_location(self, location: dict[str, str]) -> dict[str, str] | None:
        province = location.get("province_code", "").strip()
        regency = location.get("regency_code", "").strip()
        address = location.get("address", "").strip()
        if not (province or regency or address):
            return None
        areas = self.registry.areas
        violations: list[FieldViolation] = []
        if regency:
            found = areas.regencies.get(regency)
            if found is None:
                violations.append(
                    FieldViolation("location.regency_code", f"unknown regency {regency!r}")
                )
            elif province and province != found.province_code:
                violations.append(
                    FieldViolation(
                        "location.regency_code",
                        f"{regency} is in province {found.province_code}, not {province}",
                    )
                )
            else:
                province = found.province_code
        if province and province not in areas.provinces:
            violations.append(
                FieldViolation("location.province_code", f"unknown province {province!r}")
            )
        if len(address) > MAX_TEXT:
            violations.append(FieldViolation("location.address", f"at most {MAX_TEXT} characters"))
        if violations:
            raise ValidationError(violations)
        return {"province_code": province, "regency_code": regency, "address": address}


def _required(name: str, value: str) -> None:
    if not value.strip():
        raise ValidationError(FieldViolation(name, "required"))
    _limit(name, value)


def _limit(name: str, value: str) -> None:
    if len(value) > MAX_TEXT:
        raise ValidationError(FieldViolation(name, f"at most {MAX_TEXT} characters"))
