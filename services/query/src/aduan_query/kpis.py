"""Office KPIs by responsibility: who held each case when, and which office missed which deadline.

Pure and transport-free: the facts come in as `CaseEvent`s (built from the envelopes by
`kpisource.py`), in history order and only those recorded up to the "as of" moment, and go out as
`OfficeFigures`. docs/query.md ("Office KPIs") defines every figure.

Responsibility follows custody, not the current holder: a deadline that passes while an office
holds the case counts against that office, whatever happens to the case afterwards (an SLA or a
manual escalation, a transfer). Breaches are derived from the deadlines routing recorded
(`accept_due` of each placement, `response_due` of the acceptance, `resolution_due` of the
opening) and the holder at the deadline moment, so they count once the deadline has passed, also
before the SLA ticker records its `SlaBreached`, and also when an officer escalated the case after
the deadline but before the ticker did.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# How a case came to an office (`CaseEvent.how` of a placement). The reassignment kinds are
# routing's; the others are the query service's own names.
ROUTED = "ROUTED"  # CaseRouted: first placement by the rules
REROUTE = "REROUTE"  # rules after a reclassification
SLA_ESCALATION = "SLA_ESCALATION"  # the SLA ticker, after a missed deadline
REOPENED = "REOPENED"  # a closed case reopened with its last holder
# Placements an office chose to make away from itself: "not ours" (sideways, up, back to
# triage). Delegating down is how Kanwil and the Pusat distribute work, so it is no bounce.
BOUNCES = frozenset({"ESCALATE", "TRANSFER", "RETURN_TO_TRIAGE"})

ACCEPT, FIRST_RESPONSE, RESOLUTION = "ACCEPT", "FIRST_RESPONSE", "RESOLUTION"


@dataclass(frozen=True)
class CaseEvent:
    """One fact of a case's history that the KPIs need.

    kind: opened (due = resolution deadline), placed (office receives the case; how; due = its
    accept deadline), accepted (due = first-response deadline), answered (first_response),
    resolved, closed, reopened, rated (rating)."""

    at: datetime
    kind: str
    office: str = ""
    how: str = ""
    due: datetime | None = None
    first_response: bool = False
    rating: int = 0


@dataclass
class Stint:
    """One office's continuous custody of a case."""

    office: str
    received_at: datetime
    received_how: str
    accept_due: datetime | None = None
    accepted_at: datetime | None = None
    left_at: datetime | None = None
    left_how: str = ""  # how the next office received it; "CLOSED" when the case was closed
    first_response_at: datetime | None = None  # the case's first response, given by this office
    resolved_at: datetime | None = None  # the first resolution during this stint

    def holds_at(self, moment: datetime) -> bool:
        return self.received_at <= moment and (self.left_at is None or moment < self.left_at)


@dataclass(frozen=True)
class Breach:
    """A deadline that passed while `office` held the case (`office` is "" when nobody did: a
    case still awaiting its details)."""

    sla: str
    office: str
    due: datetime


@dataclass(frozen=True)
class Rating:
    office: str  # the office that resolved the case last before the rating
    at: datetime
    rating: int


@dataclass
class CaseKpis:
    """A case's custody and outcomes as of a moment."""

    stints: list[Stint] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    resolution_due: datetime | None = None
    response_due: datetime | None = None
    first_response_at: datetime | None = None
    # Whether the case awaited an office's work at the fold's moment (`as_of`).
    open_at_end: bool = False

    def holder_at(self, moment: datetime) -> str:
        """The office that held the case at `moment` ("" when none did)."""
        for stint in reversed(self.stints):
            if stint.holds_at(moment):
                return stint.office
        return ""


def fold_case(events: Iterable[CaseEvent], as_of: datetime) -> CaseKpis:
    """A case's stints, breaches and ratings from its events (history order, none after
    `as_of`); deadlines count as missed once `as_of` is past them."""
    case = CaseKpis()
    current: Stint | None = None
    last: Stint | None = None
    resolver = ""
    # (moment, open): whether the case awaited an office's work from that moment on.
    openness: list[tuple[datetime, bool]] = []
    for event in events:
        kind = event.kind
        if kind == "opened":
            case.resolution_due = event.due
            openness.append((event.at, True))
        elif kind == "placed":
            if current is not None and current.office == event.office:
                # The SLA ticker's SlaBreached names the new holder before its CaseReassigned
                # (which brings the accept deadline): one placement.
                current.accept_due = event.due or current.accept_due
                continue
            if current is not None:
                current.left_at = event.at
                current.left_how = event.how
            current = Stint(event.office, event.at, event.how, accept_due=event.due)
            case.stints.append(current)
            last = current
            openness.append((event.at, True))
        elif kind == "accepted" and current is not None:
            current.accepted_at = current.accepted_at or event.at
            # The first-response clock starts at the first acceptance and keeps running.
            case.response_due = case.response_due or event.due
        elif kind == "answered":
            if case.first_response_at is None:
                case.first_response_at = event.at
                if current is not None:
                    current.first_response_at = event.at
        elif kind == "resolved":
            if current is not None:
                current.resolved_at = current.resolved_at or event.at
                resolver = current.office
            openness.append((event.at, False))
        elif kind == "closed":
            if current is not None:
                current.left_at = event.at
                current.left_how = "CLOSED"
                current = None
            openness.append((event.at, False))
        elif kind == "reopened":
            if current is None and last is not None:
                current = Stint(last.office, event.at, REOPENED)
                case.stints.append(current)
                last = current
            openness.append((event.at, True))
        elif kind == "rated" and resolver:
            case.ratings.append(Rating(resolver, event.at, event.rating))
    case.breaches = _breaches(case, openness, as_of)
    case.open_at_end = _open_at(openness, as_of)
    return case


def _open_at(openness: list[tuple[datetime, bool]], moment: datetime) -> bool:
    state = False
    for at, is_open in openness:
        if at > moment:
            break
        state = is_open
    return state


def _breaches(
    case: CaseKpis, openness: list[tuple[datetime, bool]], as_of: datetime
) -> list[Breach]:
    found: list[Breach] = []
    for stint in case.stints:
        due = stint.accept_due
        if (
            due is not None
            and due < as_of
            and stint.holds_at(due)
            and (stint.accepted_at is None or stint.accepted_at > due)
            and _open_at(openness, due)
        ):
            found.append(Breach(ACCEPT, stint.office, due))
    due = case.response_due
    if (
        due is not None
        and due < as_of
        and (case.first_response_at is None or case.first_response_at > due)
        and _open_at(openness, due)
    ):
        found.append(Breach(FIRST_RESPONSE, case.holder_at(due), due))
    due = case.resolution_due
    if due is not None and due < as_of and _open_at(openness, due):
        found.append(Breach(RESOLUTION, case.holder_at(due), due))
    return found


# -- figures per office --------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) of the figures (None: unbounded), computed as of `as_of`."""

    start: datetime | None
    end: datetime | None
    as_of: datetime

    def contains(self, moment: datetime | None) -> bool:
        return (
            moment is not None
            and moment <= self.as_of
            and (self.start is None or moment >= self.start)
            and (self.end is None or moment < self.end)
        )

    def overlap(self, start: datetime, end: datetime | None) -> float:
        """Seconds of [start, end) (open: up to as_of) inside the period and before as_of."""
        until = min(end or self.as_of, self.as_of)
        if self.end is not None:
            until = min(until, self.end)
        since = start if self.start is None else max(start, self.start)
        return max((until - since).total_seconds(), 0.0)


@dataclass
class OfficeFigures:
    office_code: str
    channel: str = ""  # "" = every channel
    category: str = ""  # "" = every category
    received: int = 0
    accepted: int = 0
    accepted_in_time: int = 0
    responded: int = 0
    responded_in_time: int = 0
    resolved: int = 0
    resolved_in_time: int = 0
    median_time_to_accept: timedelta | None = None
    median_time_to_first_response: timedelta | None = None
    median_time_to_resolve: timedelta | None = None
    time_held: timedelta = timedelta(0)
    bounced_out: int = 0
    bounced_in: int = 0
    escalated_by_sla: int = 0
    accept_breaches: int = 0
    first_response_breaches: int = 0
    resolution_breaches: int = 0
    ratings: int = 0
    mean_rating: float = 0.0
    # At the moment (as_of), when it lies in the period or is its end: the open cases the office holds, and
    # those of them past a deadline that still applies (query's `overdue` rule).
    backlog: int = 0
    overdue: int = 0

    @property
    def met(self) -> int:
        """Deadlines the office met by its acts in the period."""
        return self.accepted_in_time + self.responded_in_time + self.resolved_in_time

    @property
    def missed(self) -> int:
        """Deadlines that passed in the period while the office held the case."""
        return self.accept_breaches + self.first_response_breaches + self.resolution_breaches

    @property
    def sla_compliance(self) -> float | None:
        """Met over met and missed, 0..1; None when no deadline was met or missed."""
        total = self.met + self.missed
        return self.met / total if total else None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.office_code, self.channel, self.category)


def median(seconds: list[float]) -> timedelta | None:
    """The median of durations in seconds; None when there are none."""
    return timedelta(seconds=statistics.median(seconds)) if seconds else None


@dataclass
class _Tally:
    figures: OfficeFigures
    to_accept: list[float] = field(default_factory=list)
    to_respond: list[float] = field(default_factory=list)
    to_resolve: list[float] = field(default_factory=list)
    held: float = 0.0
    rating_sum: int = 0

    def finish(self) -> OfficeFigures:
        f = self.figures
        f.median_time_to_accept = median(self.to_accept)
        f.median_time_to_first_response = median(self.to_respond)
        f.median_time_to_resolve = median(self.to_resolve)
        f.time_held = timedelta(seconds=self.held)
        f.mean_rating = self.rating_sum / f.ratings if f.ratings else 0.0
        return f


@dataclass(frozen=True)
class CaseFacts:
    """A case's folded KPIs with the dimensions it is reported under."""

    kpis: CaseKpis
    channel: str
    category: str


def _seconds(later: datetime, earlier: datetime) -> float:
    return max((later - earlier).total_seconds(), 0.0)


def _overdue(case: CaseKpis, stint: Stint, moment: datetime) -> bool:
    """Query's `overdue` rule for the holder's stint: accept while not accepted, first response
    while accepted without one, resolution while open."""
    if stint.accepted_at is None:
        if stint.accept_due is not None and stint.accept_due < moment:
            return True
    elif (
        case.first_response_at is None
        and case.response_due is not None
        and case.response_due < moment
    ):
        return True
    return case.resolution_due is not None and case.resolution_due < moment


def office_figures(
    cases: Iterable[CaseFacts],
    period: Period,
    reported: Callable[[str], bool],
    split_channel: bool = False,
    split_category: bool = False,
    roll_up: Callable[[str], Iterable[str]] | None = None,
) -> list[OfficeFigures]:
    """Every office's figures over the cases, for the offices `reported` accepts; one row per
    office (and channel and/or category when split), sorted. Each figure counts what happened
    in the period (docs/query.md, "Office KPIs"). With `roll_up` (an office's chain: itself
    and the offices above it), each office's figures also count those of the offices below it."""
    tallies: dict[tuple[str, str, str], _Tally] = {}

    def one(office: str, facts: CaseFacts) -> _Tally | None:
        if not office or not reported(office):
            return None
        key = (
            office,
            facts.channel if split_channel else "",
            facts.category if split_category else "",
        )
        found = tallies.get(key)
        if found is None:
            found = tallies[key] = _Tally(OfficeFigures(*key))
        return found

    def tallies_of(office: str, facts: CaseFacts) -> list[_Tally]:
        chain = (office,) if roll_up is None or not office else tuple(roll_up(office))
        return [t for t in (one(code, facts) for code in chain) if t is not None]

    # Backlog is counted at the moment when it lies in the period or is its end.
    moment_in_period = (period.start is None or period.start <= period.as_of) and (
        period.end is None or period.as_of <= period.end
    )
    for facts in cases:
        case = facts.kpis
        for stint, t in ((s, t) for s in case.stints for t in tallies_of(s.office, facts)):
            f = t.figures
            t.held += period.overlap(stint.received_at, stint.left_at)
            if period.contains(stint.received_at):
                f.received += 1
                f.bounced_in += stint.received_how in BOUNCES
            if period.contains(stint.left_at):
                f.bounced_out += stint.left_how in BOUNCES
                f.escalated_by_sla += stint.left_how == SLA_ESCALATION
            if stint.accepted_at is not None and period.contains(stint.accepted_at):
                f.accepted += 1
                f.accepted_in_time += (
                    stint.accept_due is None or stint.accepted_at <= stint.accept_due
                )
                t.to_accept.append(_seconds(stint.accepted_at, stint.received_at))
            if stint.first_response_at is not None and period.contains(stint.first_response_at):
                f.responded += 1
                f.responded_in_time += (
                    case.response_due is None or stint.first_response_at <= case.response_due
                )
                t.to_respond.append(_seconds(stint.first_response_at, stint.received_at))
            if stint.resolved_at is not None and period.contains(stint.resolved_at):
                f.resolved += 1
                f.resolved_in_time += (
                    case.resolution_due is None or stint.resolved_at <= case.resolution_due
                )
                t.to_resolve.append(_seconds(stint.resolved_at, stint.received_at))
            if moment_in_period and case.open_at_end and stint.holds_at(period.as_of):
                f.backlog += 1
                f.overdue += _overdue(case, stint, period.as_of)
        for breach in case.breaches:
            for t in tallies_of(breach.office, facts):
                if not period.contains(breach.due):
                    continue
                f = t.figures
                if breach.sla == ACCEPT:
                    f.accept_breaches += 1
                elif breach.sla == FIRST_RESPONSE:
                    f.first_response_breaches += 1
                else:
                    f.resolution_breaches += 1
        for rating in case.ratings:
            for t in tallies_of(rating.office, facts):
                if not period.contains(rating.at):
                    continue
                t.figures.ratings += 1
                t.rating_sum += rating.rating
    finished = (tallies[key].finish() for key in sorted(tallies))
    # An office whose stints all lie outside the period has nothing to report.
    return [f for f in finished if f != OfficeFigures(*f.key)]
