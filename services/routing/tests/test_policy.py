"""The moves that need the policy (policy.py), on a case without a store."""

from __future__ import annotations

import datetime as dt
import uuid

from aduan.core.context import Actor, CommandContext
from aduan.reference.categories import Category
from aduan_routing.domain import Case, ReasonCode, ReassignmentKind, SlaKind
from aduan_routing.policy import RoutingPolicy, default_policy

POLICY = default_policy()
T0 = dt.datetime(2026, 3, 17, 10, 0, tzinfo=dt.UTC)
CTX = CommandContext(actor=Actor.system("test"))


def placed_case(policy: RoutingPolicy = POLICY) -> Case:
    case = Case(
        complaint_id=uuid.uuid4(),
        ticket_number="ADU-1",
        category=Category.LAND_SERVICE.value,
        location={"province_code": "32", "regency_code": "32.73", "address": ""},
        confidential=False,
        filed_at=T0,
        resolution_due=T0 + dt.timedelta(days=60),
        at=T0,
        meta=CTX.meta(),
    )
    policy.route(case, at=T0, ctx=CTX)
    return case


def events(case: Case) -> list[str]:
    return [type(e).__name__ for e in case.collect_events()]


def test_a_breach_escalates_to_the_parent_with_a_fresh_accept_clock() -> None:
    case = placed_case()
    case.collect_events()
    later = T0 + dt.timedelta(days=10)
    POLICY.escalate_breaches(case, [(SlaKind.ACCEPT, T0)], at=later, ctx=CTX)
    assert case.holder == "KANWIL.32"
    assert case.accept_due == POLICY.sla.accept_due(later)
    assert events(case) == ["SlaBreached", "Reassigned"]


def test_a_breach_at_the_top_is_only_recorded() -> None:
    case = placed_case()
    POLICY.reassign(
        case, ReassignmentKind.RETURN_TO_TRIAGE, "PUSAT.IP3", ReasonCode.OTHER, "", at=T0, ctx=CTX
    )
    case.collect_events()
    POLICY.escalate_breaches(case, [(SlaKind.ACCEPT, T0)], at=T0, ctx=CTX)
    assert case.holder == "PUSAT.IP3"
    assert case.accept_due is None
    assert events(case) == ["SlaBreached"]


def test_a_reassignment_past_the_limit_is_flagged_to_the_supervising_office() -> None:
    policy = RoutingPolicy(POLICY.registry, POLICY.rules, POLICY.sla, ping_pong_limit=1)
    case = placed_case(policy)
    case.collect_events()
    policy.reassign(
        case, ReassignmentKind.ESCALATE, "KANWIL.32", ReasonCode.WIDE_IMPACT, "", at=T0, ctx=CTX
    )
    assert not case.ping_pong_flagged
    policy.reassign(
        case, ReassignmentKind.TRANSFER, "KANWIL.33", ReasonCode.OTHER, "", at=T0, ctx=CTX
    )
    flagged = case.collect_events()[-1]
    assert type(flagged).__name__ == "PingPongFlagged"
    assert flagged.supervising_office == "PUSAT.IP3"  # type: ignore[attr-defined]


def test_a_classification_that_changes_the_rules_answer_re_routes_with_the_rule() -> None:
    case = placed_case()
    case.collect_events()
    POLICY.reclassify(case, Category.ILLEGAL_LEVY, None, None, "levy", at=T0, ctx=CTX)
    assert case.holder == "PUSAT.ITJEN"
    assert case.rule_id == "integrity-to-inspectorate"
    assert events(case) == ["Classified", "Reassigned"]
    POLICY.reclassify(case, Category.ABUSE_OF_AUTHORITY, None, None, "", at=T0, ctx=CTX)
    assert events(case) == ["Classified"]
