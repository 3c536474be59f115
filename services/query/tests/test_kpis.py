"""Office KPIs by responsibility (`aduan_query.kpis`): custody, attribution of breaches, medians."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aduan_query.kpis import (
    ACCEPT,
    FIRST_RESPONSE,
    RESOLUTION,
    SLA_ESCALATION,
    Breach,
    CaseEvent,
    CaseFacts,
    OfficeFigures,
    Period,
    fold_case,
    median,
    office_figures,
)

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
KANTAH, KANWIL, PUSAT = "KANTAH.73.71", "KANWIL.73", "PUSAT.IP3"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def opened(resolution_due_hours: float = 24 * 60) -> CaseEvent:
    return CaseEvent(T0, "opened", due=at(resolution_due_hours))


def routed(office: str = KANTAH, due_hours: float = 72) -> CaseEvent:
    return CaseEvent(T0, "placed", office, "ROUTED", at(due_hours))


def missed_accept_then_ticker() -> list[CaseEvent]:
    """Routed to the Kantah (accept by +72h), never accepted; the ticker escalates at +73h
    (SlaBreached names the Kanwil first, its CaseReassigned brings the Kanwil's deadline)."""
    return [
        opened(),
        routed(),
        CaseEvent(at(73), "placed", KANWIL, SLA_ESCALATION),
        CaseEvent(at(73), "placed", KANWIL, SLA_ESCALATION, at(73 + 72)),
    ]


def everything(figures: list[OfficeFigures]) -> dict[str, OfficeFigures]:
    return {f.office_code: f for f in figures}


def figures_of(
    events: list[CaseEvent],
    as_of: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, OfficeFigures]:
    case = fold_case(events, as_of)
    facts = CaseFacts(case, "WEB", "LAND_SERVICE")
    return everything(office_figures([facts], Period(start, end, as_of), bool))


def test_a_missed_accept_deadline_counts_against_the_holder_at_the_deadline() -> None:
    case = fold_case(missed_accept_then_ticker(), at(100))
    assert [(s.office, s.received_how, s.left_how) for s in case.stints] == [
        (KANTAH, "ROUTED", SLA_ESCALATION),
        (KANWIL, SLA_ESCALATION, ""),
    ]
    # One placement for the ticker's two events, with the deadline its CaseReassigned brought.
    assert case.stints[1].accept_due == at(145)
    assert case.breaches == [Breach(ACCEPT, KANTAH, at(72))]
    figures = figures_of(missed_accept_then_ticker(), at(100))
    assert figures[KANTAH].accept_breaches == 1
    assert figures[KANTAH].escalated_by_sla == 1
    assert figures[KANTAH].bounced_out == 0  # the SLA's escalation is no bounce
    assert figures[KANWIL].accept_breaches == 0
    assert figures[KANWIL].received == 1
    assert figures[KANWIL].bounced_in == 0


def test_a_manual_escalation_after_the_deadline_leaves_the_breach_with_the_kantah() -> None:
    events = [
        opened(),
        routed(),
        CaseEvent(at(80), "placed", KANWIL, "ESCALATE", at(150)),
        CaseEvent(at(81), "accepted", KANWIL, due=at(200)),
    ]
    for as_of in (at(90), at(400)):
        figures = figures_of(events, as_of)
        assert figures[KANTAH].accept_breaches == 1
        assert figures[KANWIL].accept_breaches == 0
        assert figures[KANTAH].bounced_out == 1
        assert figures[KANWIL].bounced_in == 1
        assert figures[KANWIL].accepted_in_time == 1
    # Before the deadline nobody has missed it.
    assert fold_case(events[:2], at(71)).breaches == []
    assert figures_of(events[:2], at(71))[KANTAH].accept_breaches == 0


def test_handing_a_case_on_before_the_deadline_is_no_breach() -> None:
    events = [opened(), routed(), CaseEvent(at(10), "placed", KANWIL, "ESCALATE", at(82))]
    assert fold_case(events, at(81)).breaches == []
    # The Kanwil's own deadline passes while it holds the case.
    assert fold_case(events, at(83)).breaches == [Breach(ACCEPT, KANWIL, at(82))]


def test_late_acceptance_is_a_breach_and_not_in_time() -> None:
    events = [opened(), routed(), CaseEvent(at(75), "accepted", KANTAH, due=at(200))]
    figures = figures_of(events, at(76))
    assert figures[KANTAH].accept_breaches == 1
    assert (figures[KANTAH].accepted, figures[KANTAH].accepted_in_time) == (1, 0)
    on_time = [opened(), routed(), CaseEvent(at(5), "accepted", KANTAH, due=at(200))]
    assert figures_of(on_time, at(76))[KANTAH].accepted_in_time == 1
    assert fold_case(on_time, at(300)).breaches == [Breach(FIRST_RESPONSE, KANTAH, at(200))]


def test_first_response_and_resolution_deadlines_charge_the_holder_then() -> None:
    events = [
        opened(resolution_due_hours=500),
        routed(),
        CaseEvent(at(2), "accepted", KANTAH, due=at(100)),
        CaseEvent(at(50), "placed", KANWIL, "TRANSFER", at(120)),
        CaseEvent(at(110), "placed", PUSAT, "ESCALATE", at(180)),
    ]
    case = fold_case(events, at(600))
    assert case.breaches == [
        Breach(ACCEPT, PUSAT, at(180)),  # the Pusat never accepted either
        Breach(FIRST_RESPONSE, KANWIL, at(100)),
        Breach(RESOLUTION, PUSAT, at(500)),
    ]
    # Answered and resolved in time: no breach; a resolved case owes no later deadline.
    done = [
        *events[:3],
        CaseEvent(at(3), "answered", KANTAH, first_response=True),
        CaseEvent(at(4), "resolved", KANTAH),
    ]
    assert fold_case(done, at(600)).breaches == []
    figures = figures_of(done, at(600))
    assert (figures[KANTAH].responded, figures[KANTAH].responded_in_time) == (1, 1)
    assert (figures[KANTAH].resolved, figures[KANTAH].resolved_in_time) == (1, 1)
    assert figures[KANTAH].median_time_to_first_response == timedelta(hours=3)
    assert figures[KANTAH].median_time_to_resolve == timedelta(hours=4)


def test_a_closed_case_misses_nothing_and_a_reopened_one_returns_to_its_holder() -> None:
    events = [
        opened(resolution_due_hours=100),
        routed(),
        CaseEvent(at(1), "accepted", KANTAH, due=at(50)),
        CaseEvent(at(2), "answered", KANTAH, first_response=True),
        CaseEvent(at(3), "resolved", KANTAH),
        CaseEvent(at(10), "closed"),
    ]
    assert fold_case(events, at(200)).breaches == []
    reopened = [*events, CaseEvent(at(20), "reopened")]
    case = fold_case(reopened, at(200))
    assert [(s.office, s.received_how) for s in case.stints] == [
        (KANTAH, "ROUTED"),
        (KANTAH, "REOPENED"),
    ]
    # Open again when the resolution deadline passed.
    assert case.breaches == [Breach(RESOLUTION, KANTAH, at(100))]


def test_ratings_go_to_the_office_that_resolved() -> None:
    events = [
        opened(),
        routed(),
        CaseEvent(at(1), "placed", KANWIL, "ESCALATE", at(80)),
        CaseEvent(at(2), "accepted", KANWIL, due=at(100)),
        CaseEvent(at(3), "resolved", KANWIL),
        CaseEvent(at(4), "rated", rating=4),
    ]
    figures = figures_of(events, at(10))
    assert (figures[KANWIL].ratings, figures[KANWIL].mean_rating) == (1, 4.0)
    assert figures[KANTAH].ratings == 0


def test_time_held_is_clipped_to_the_period_and_the_moment() -> None:
    events = [opened(), routed(due_hours=1000), CaseEvent(at(30), "placed", KANWIL, "ESCALATE")]
    figures = figures_of(events, as_of=at(40), start=at(10), end=at(100))
    assert figures[KANTAH].time_held == timedelta(hours=20)  # 10 .. 30
    assert figures[KANWIL].time_held == timedelta(hours=10)  # 30 .. as_of 40
    # Received before the period: not counted as received in it.
    assert figures[KANTAH].received == 0
    assert figures[KANWIL].received == 1


def test_delegation_and_rerouting_are_no_bounces() -> None:
    events = [
        opened(),
        routed(PUSAT),
        CaseEvent(at(1), "placed", KANWIL, "DELEGATE", at(80)),
        CaseEvent(at(2), "placed", KANTAH, "REROUTE", at(80)),
        CaseEvent(at(3), "placed", KANWIL, "RETURN_TO_TRIAGE", at(80)),
    ]
    figures = figures_of(events, at(4))
    assert figures[PUSAT].bounced_out == 0
    assert figures[KANWIL].bounced_out == 0
    assert figures[KANTAH].bounced_out == 1
    assert figures[KANWIL].bounced_in == 1
    assert figures[KANWIL].received == 2


def test_medians_of_odd_and_even_counts() -> None:
    assert median([]) is None
    assert median([30.0, 10.0, 20.0]) == timedelta(seconds=20)
    assert median([10.0, 40.0, 20.0, 30.0]) == timedelta(seconds=25)
    cases = []
    for hours in (1, 2, 3, 10):
        events = [opened(), routed(), CaseEvent(at(hours), "accepted", KANTAH, due=at(200))]
        cases.append(CaseFacts(fold_case(events, at(20)), "WEB", "LAND_SERVICE"))
    (kantah,) = office_figures(cases, Period(None, None, at(20)), bool)
    assert kantah.accepted == 4
    assert kantah.median_time_to_accept == timedelta(hours=2.5)


def test_split_by_channel_and_category() -> None:
    events = [opened(), routed()]
    cases = [
        CaseFacts(fold_case(events, at(1)), "WEB", "LAND_SERVICE"),
        CaseFacts(fold_case(events, at(1)), "WHATSAPP", "LAND_SERVICE"),
        CaseFacts(fold_case(events, at(1)), "WHATSAPP", "LAND_DISPUTE"),
    ]
    period = Period(None, None, at(1))
    assert [(f.channel, f.category, f.received) for f in office_figures(cases, period, bool)] == [
        ("", "", 3)
    ]
    by_channel = office_figures(cases, period, bool, split_channel=True)
    assert [(f.channel, f.received) for f in by_channel] == [("WEB", 1), ("WHATSAPP", 2)]
    both = office_figures(cases, period, bool, split_channel=True, split_category=True)
    assert len(both) == 3


@pytest.mark.parametrize("office", [KANTAH, KANWIL])
def test_only_reported_offices_appear(office: str) -> None:
    case = fold_case(missed_accept_then_ticker(), at(100))
    figures = office_figures(
        [CaseFacts(case, "WEB", "LAND_SERVICE")],
        Period(None, None, at(100)),
        lambda code: code == office,
    )
    assert [f.office_code for f in figures] == [office]


def test_backlog_overdue_and_compliance_at_the_moment() -> None:
    # Routed to the Kantah (accept by +72h), accepted late at +80h: one breach, no act in time.
    late = [opened(), routed(), CaseEvent(at(80), "accepted", due=at(200))]
    figures = figures_of(late, at(100))[KANTAH]
    assert (figures.backlog, figures.overdue) == (1, 0)
    assert (figures.met, figures.missed, figures.sla_compliance) == (0, 1, 0.0)
    # Not yet accepted at +100h: in the backlog and overdue.
    waiting = figures_of([opened(), routed()], at(100))[KANTAH]
    assert (waiting.backlog, waiting.overdue) == (1, 1)
    # Accepted in time and resolved: no backlog, both deadlines met.
    done = [
        opened(),
        routed(),
        CaseEvent(at(1), "accepted", due=at(200)),
        CaseEvent(at(2), "resolved"),
    ]
    figures = figures_of(done, at(100))[KANTAH]
    assert (figures.backlog, figures.overdue) == (0, 0)
    assert figures.sla_compliance == 1.0
    # A moment outside the period: no backlog is reported for it.
    assert figures_of([opened(), routed()], at(100), end=at(50))[KANTAH].backlog == 0


def test_no_deadline_met_or_missed_has_no_compliance() -> None:
    assert figures_of([opened(), routed()], at(1))[KANTAH].sla_compliance is None


def test_roll_up_counts_the_offices_below() -> None:
    def chain(code: str) -> tuple[str, ...]:
        return {KANTAH: (KANTAH, KANWIL, PUSAT), KANWIL: (KANWIL, PUSAT)}.get(code, (code,))

    kantah_case = CaseFacts(fold_case([opened(), routed()], at(100)), "WEB", "LAND_SERVICE")
    kanwil_case = CaseFacts(
        fold_case([opened(), routed(KANWIL), CaseEvent(at(1), "accepted")], at(100)),
        "WEB",
        "LAND_SERVICE",
    )
    period = Period(None, None, at(100))
    own = everything(office_figures([kantah_case, kanwil_case], period, bool))
    rolled = everything(office_figures([kantah_case, kanwil_case], period, bool, roll_up=chain))
    assert (own[KANWIL].backlog, own[KANWIL].accept_breaches) == (1, 0)
    assert (rolled[KANWIL].backlog, rolled[KANWIL].accept_breaches) == (2, 1)
    assert (rolled[KANWIL].accepted, rolled[KANWIL].overdue) == (1, 1)
    assert rolled[KANTAH] == own[KANTAH]
    assert rolled[PUSAT].backlog == 2
    assert PUSAT not in own
