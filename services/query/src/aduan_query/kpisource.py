"""The facts of the office KPIs (`kpis.py`), read from the read models as of a moment.

The cases are those an office in scope held during the period (custody) or whose rating falls in
it; each is kept when the caller may see it (`views.sealed_condition` on the complaint as it was
at the moment) and it matches the channel and category (also as they were then). Their events
come from the audit trail, which keeps every envelope: only those that occurred up to the moment,
in history order, so "as of T" is what the system had recorded by T.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, and_, or_, select

from aduan.service.visibility import SealedScope
from aduan.v1 import common_pb2, events_pb2
from aduan_query.history import enum_name, optional_stamp, stamp
from aduan_query.kpis import (
    ROUTED,
    SLA_ESCALATION,
    CaseEvent,
    CaseFacts,
    OfficeFigures,
    Period,
    fold_case,
    office_figures,
)
from aduan_query.readmodels import TableSet
from aduan_query.views import ComplaintQueries, sealed_condition

# Envelope types the KPIs fold (the audit trail's `event_type`).
KPI_EVENT_TYPES = (
    "CaseOpened",
    "CaseRouted",
    "CaseReassigned",
    "SlaBreached",
    "CaseAccepted",
    "ReporterAnswered",
    "CaseResolved",
    "CaseClosed",
    "CaseReopened",
    "ResolutionRated",
)
# Complaints per IN (...) list: far below every dialect's limit on bound parameters.
CHUNK = 500


def case_event(envelope: events_pb2.Envelope) -> CaseEvent | None:
    """The KPI fact of one envelope, None when it has none."""
    kind = envelope.WhichOneof("payload")
    at = stamp(envelope.occurred_at)
    if kind == "case_opened":
        return CaseEvent(at, "opened", due=optional_stamp(envelope.case_opened, "resolution_due"))
    if kind == "case_routed":
        routed = envelope.case_routed
        return CaseEvent(
            at, "placed", routed.to_office.code, ROUTED, optional_stamp(routed, "accept_due")
        )
    if kind == "case_reassigned":
        moved = envelope.case_reassigned
        if moved.reason_code == common_pb2.REASON_CODE_SLA_BREACH:
            how = SLA_ESCALATION
        else:
            how = enum_name(common_pb2.ReassignmentKind, moved.kind, "REASSIGNMENT_KIND_")
        return CaseEvent(
            at, "placed", moved.to_office.code, how, optional_stamp(moved, "accept_due")
        )
    if kind == "sla_breached":
        target = envelope.sla_breached.escalated_to.code
        return CaseEvent(at, "placed", target, SLA_ESCALATION) if target else None
    if kind == "case_accepted":
        accepted = envelope.case_accepted
        return CaseEvent(
            at, "accepted", accepted.office.code, due=optional_stamp(accepted, "response_due")
        )
    if kind == "reporter_answered":
        answered = envelope.reporter_answered
        return CaseEvent(
            at, "answered", answered.office.code, first_response=answered.first_response
        )
    if kind == "case_resolved":
        return CaseEvent(at, "resolved", envelope.case_resolved.office.code)
    if kind == "case_closed":
        return CaseEvent(at, "closed")
    if kind == "case_reopened":
        return CaseEvent(at, "reopened")
    if kind == "resolution_rated":
        return CaseEvent(at, "rated", rating=envelope.resolution_rated.rating)
    return None


class KpiScope:
    """Which offices are reported and which cases count, for one caller and request."""

    def __init__(
        self,
        reported: Callable[[str], bool],
        sealed: SealedScope | None = None,
        channel: str = "",
        category: str = "",
    ) -> None:
        self.reported = reported
        self.sealed = sealed
        self.channel = channel
        self.category = category


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _candidates(engine: Engine, t: TableSet, period: Period, scope: KpiScope) -> list[str]:
    """Complaints an office in scope held during the period (up to as_of), or rated in it."""
    custody, audit = t.custody, t.audit
    until = period.as_of if period.end is None else min(period.end, period.as_of)
    held: list[ColumnElement[bool]] = [custody.c.from_at <= until]
    if period.start is not None:
        held.append(or_(custody.c.until_at.is_(None), custody.c.until_at >= period.start))
    rated: list[ColumnElement[bool]] = [
        audit.c.event_type == "ResolutionRated",
        audit.c.occurred_at <= until,
    ]
    if period.start is not None:
        rated.append(audit.c.occurred_at >= period.start)
    found: set[str] = set()
    with engine.connect() as conn:
        for complaint_id, office in conn.execute(
            select(custody.c.complaint_id, custody.c.office_code).where(*held)
        ):
            if scope.reported(office):
                found.add(complaint_id)
        found.update(conn.execute(select(audit.c.complaint_id).where(*rated)).scalars())
    return sorted(found)


def _dimensions(
    queries: ComplaintQueries, ids: Sequence[str], as_of: datetime | None, scope: KpiScope
) -> dict[str, tuple[str, str]]:
    """Channel and category of the complaints the caller may see and the filters keep, as they
    were at `as_of` (now when None)."""
    t = queries.tables
    table = t.complaints if as_of is None else t.versions
    c = table.c
    conditions: list[ColumnElement[bool]] = []
    if as_of is not None:
        conditions.append(ComplaintQueries._valid_at(table, as_of))
    if scope.sealed is not None:
        conditions.append(sealed_condition(table, scope.sealed))
    if scope.channel:
        conditions.append(c.channel == scope.channel)
    if scope.category:
        conditions.append(c.category == scope.category)
    kept: dict[str, tuple[str, str]] = {}
    with queries.engine.connect() as conn:
        for chunk in _chunks(ids):
            rows = conn.execute(
                select(c.complaint_id, c.channel, c.category).where(
                    c.complaint_id.in_(list(chunk)), *conditions
                )
            )
            kept.update({row.complaint_id: (row.channel, row.category) for row in rows})
    return kept


def _case_events(
    engine: Engine, t: TableSet, ids: Sequence[str], as_of: datetime
) -> Iterator[tuple[str, list[CaseEvent]]]:
    audit = t.audit
    for chunk in _chunks(ids):
        query = (
            select(audit.c.complaint_id, audit.c.envelope)
            .where(
                and_(
                    audit.c.complaint_id.in_(list(chunk)),
                    audit.c.event_type.in_(KPI_EVENT_TYPES),
                    audit.c.occurred_at <= as_of,
                )
            )
            .order_by(audit.c.complaint_id, audit.c.occurred_at, audit.c.service, audit.c.position)
        )
        current = ""
        events: list[CaseEvent] = []
        with engine.connect() as conn:
            for complaint_id, data in conn.execute(query):
                if complaint_id != current:
                    if events:
                        yield current, events
                    current, events = complaint_id, []
                event = case_event(events_pb2.Envelope.FromString(data))
                if event is not None:
                    events.append(event)
        if events:
            yield current, events


def office_kpis(
    queries: ComplaintQueries,
    period: Period,
    scope: KpiScope,
    *,
    historical: bool,
    split_channel: bool = False,
    split_category: bool = False,
    roll_up: Callable[[str], Iterable[str]] | None = None,
) -> list[OfficeFigures]:
    """Every reported office's figures for the period, as of `period.as_of`. `historical`: the
    moment was asked for (the complaints' channel, category and seals as they were then),
    otherwise it is now (the current rows)."""
    engine, t = queries.engine, queries.tables
    ids = _candidates(engine, t, period, scope)
    dimensions = _dimensions(queries, ids, period.as_of if historical else None, scope)
    cases = (
        CaseFacts(fold_case(events, period.as_of), *dimensions[complaint_id])
        for complaint_id, events in _case_events(engine, t, sorted(dimensions), period.as_of)
    )
    return office_figures(
        cases, period, scope.reported, split_channel, split_category, roll_up=roll_up
    )
