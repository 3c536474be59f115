"""What routing decides by (the offices, the routing rules, the SLA calendar, the ping-pong limit,
chosen once by the composition root) and the moves that need them: placing a case, re-placing it
after a classification, handing it on, escalating a missed deadline. Transport-free.

The Case aggregate knows none of these (domain.py): the policy asks the rules, the registry and
the calendar, and passes their answers to the case's commands. The application loads and saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aduan.core.context import CommandContext
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan.reference.offices import OfficeRegistry, default_registry
from aduan_routing.domain import Case, ReasonCode, ReassignmentKind, Scope, SlaKind
from aduan_routing.rules import Facts, Placement, RuleSet, load_rules
from aduan_routing.workdays import SlaCalendar, default_calendar


@dataclass(frozen=True)
class RoutingPolicy:
    """Everything routing decides by: offices, rules, calendar, ping-pong limit."""

    registry: OfficeRegistry
    rules: RuleSet
    sla: SlaCalendar
    ping_pong_limit: int = 4

    def place(self, case: Case) -> Placement:
        """Where the rules put the case with what it knows now."""
        return self.rules.place(
            Facts(
                category=case.category,
                scope=case.scope,
                province_code=case.location.province_code,
                regency_code=case.location.regency_code,
            )
        )

    def route(self, case: Case, *, at: datetime, ctx: CommandContext) -> None:
        """The first placement, by the rules, with what the case knows now."""
        placement = self.place(case)
        case.route(
            placement.office.code,
            placement.rule_id,
            placement.ruleset_version,
            self.sla.accept_due(at),
            at=at,
            ctx=ctx,
        )

    def reclassify(
        self,
        case: Case,
        category: Category | None,
        scope: Scope | None,
        location: Location | None,
        note: str,
        *,
        at: datetime,
        ctx: CommandContext,
    ) -> None:
        """Classifies a placed case and re-routes it when the rules' answer changed."""
        before = self.place(case)
        case.classify(category, scope, location, note, at=at, ctx=ctx)
        after = self.place(case)
        # Re-route only when the classification changed the rules' answer: a case that an
        # officer escalated on purpose is not pulled back by an unrelated correction.
        if after.office.code != before.office.code and after.office.code != case.holder:
            self.reassign(
                case,
                ReassignmentKind.REROUTE,
                after.office.code,
                ReasonCode.RECLASSIFIED,
                note,
                at=at,
                ctx=ctx,
                placement=after,
            )

    def reassign(
        self,
        case: Case,
        kind: ReassignmentKind,
        to_office: str,
        reason: ReasonCode,
        note: str,
        *,
        at: datetime,
        ctx: CommandContext,
        placement: Placement | None = None,
    ) -> None:
        """Hands the case to `to_office` with a fresh accept clock (`placement`: the rules chose
        it), then flags it when it ping-pongs: reassigned more often than the limit, or back at
        an office it left. The flag names the lowest office above every office involved."""
        case.reassign(
            kind,
            to_office,
            reason,
            note,
            self.sla.accept_due(at),
            at=at,
            ctx=ctx,
            rule_id=placement.rule_id if placement else "",
            ruleset_version=placement.ruleset_version if placement else "",
        )
        case.flag_ping_pong_if_needed(
            self.ping_pong_limit,
            lambda codes: self.registry.supervisor_of(codes).code,
            at=at,
            ctx=ctx,
        )

    def escalate_breaches(
        self,
        case: Case,
        missed: Sequence[tuple[SlaKind, datetime]],
        *,
        at: datetime,
        ctx: CommandContext,
    ) -> None:
        """Records each missed deadline against the holder, then hands the case to the holder's
        parent office once (at the top, where there is none, and at the independent
        inspectorate, which answers to no office above it, the breaches are only recorded)."""
        if not missed:
            return
        independent = self.registry.oversight.is_independent(case.holder)
        parent = None if independent else self.registry.parent(case.holder)
        for sla, due_at in missed:
            case.record_breach(sla, due_at, parent.code if parent else "", at=at, ctx=ctx)
        if parent is None:
            return
        deadlines = "; ".join(f"{sla.value} deadline {due.isoformat()}" for sla, due in missed)
        self.reassign(
            case,
            ReassignmentKind.ESCALATE,
            parent.code,
            ReasonCode.SLA_BREACH,
            f"{deadlines} missed by {case.holder}",
            at=at,
            ctx=ctx,
        )


def default_policy() -> RoutingPolicy:
    registry = default_registry()
    return RoutingPolicy(registry, load_rules(registry), SlaCalendar(default_calendar()))
