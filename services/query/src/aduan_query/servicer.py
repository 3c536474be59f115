"""gRPC adapter for aduan.v1.Query: proto <-> the query functions in `views` and `rebuild`.

Callers authenticate with a bearer token (`aduan.service.auth`); `QUERY_POLICY` names the roles per RPC.
Officers and supervisors see the complaints held by their office or an office below it (an
overseeing Pusat supervisor sees all offices but not sealed complaints outside their chain;
auditors and administrators see everything): `aduan.service.visibility`. Outside that chain a
sealed (e.g. confidential) complaint does not exist (NOT_FOUND); others are PERMISSION_DENIED, and
lists, watches and statistics are narrowed to what the caller sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from aduan.core.errors import FieldViolation, NotFoundError, PermissionDeniedError, ValidationError
from aduan.core.settings import WRITE_SERVICES
from aduan.reference.offices import OfficeRegistry, default_registry
from aduan.service.auth import (
    ADMIN,
    AUDITOR,
    OFFICER,
    SUPERVISOR,
    Access,
    Principal,
    access,
    current_principal,
    policy,
)
from aduan.service.visibility import (
    READ_EVERYTHING,
    SealedScope,
    may_see_complaint,
    office_filter,
    sealed_scope,
)
from aduan.v1 import common_pb2, events_pb2, query_pb2, query_pb2_grpc
from aduan_query.history import as_utc, enum_name, is_overdue
from aduan_query.kpis import OfficeFigures, Period
from aduan_query.kpisource import KpiScope, office_kpis
from aduan_query.projector import ComplaintChange, Projector
from aduan_query.rebuild import Rebuilder
from aduan_query.views import ComplaintFilter, ComplaintQueries, ProgressWaiter, Row

DEFAULT_CONSISTENCY_TIMEOUT = 5.0
# Longest `filter.text` (characters): a search phrase, not a document (and SQLite refuses LIKE
# patterns over 50,000 bytes).
MAX_FILTER_TEXT = 200

_READERS = access(OFFICER, SUPERVISOR, AUDITOR, ADMIN, office_scoped=True)

QUERY_POLICY: dict[str, Access] = policy(
    query_pb2.DESCRIPTOR.services_by_name["Query"].full_name,
    {
        "GetComplaint": _READERS,
        "ListComplaints": _READERS,
        "GetAuditTrail": _READERS,
        # Every complaint's events, sealed ones included: for those who read everything.
        "ListAuditEvents": access(AUDITOR, ADMIN),
        "WatchComplaints": _READERS,
        "GetStats": _READERS,
        "RebuildProjections": access(ADMIN),
    },
)


def visible(principal: Principal, row: Mapping[str, Any], registry: OfficeRegistry) -> bool:
    """Whether `principal` may see the complaint of read-model row `row`."""
    return may_see_complaint(
        principal,
        row["holding_office"],
        registry,
        category=row["category"],
        confidential=row["confidential"],
    )


def check_visible(
    principal: Principal, row: Mapping[str, Any], ref: str, registry: OfficeRegistry
) -> None:
    holder, category, confidential = row["holding_office"], row["category"], row["confidential"]
    if visible(principal, row, registry):
        return
    if registry.oversight.is_sealed(holder, category, confidential):
        # Outside the holding chain a sealed (e.g. confidential) complaint does not exist.
        raise NotFoundError(f"complaint {ref!r} not found")
    raise PermissionDeniedError(
        f"{principal.sub} may not see complaints held by {row['holding_office'] or 'no office'}"
    )


def scoped_filter(
    principal: Principal, spec: ComplaintFilter, registry: OfficeRegistry
) -> ComplaintFilter:
    office = office_filter(principal, spec.office_code, "filter.office_code", registry)
    sealed = sealed_scope(principal, registry)
    if office == spec.office_code and sealed is None:
        return spec
    if office == spec.office_code:
        return replace(spec, sealed=sealed)
    return replace(spec, office_code=office, include_descendants=True, sealed=sealed)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ts(value: datetime | None) -> Timestamp | None:
    """`Timestamp.FromDatetime(as_utc(value))`, computed directly: a page of complaints carries
    hundreds of timestamps and FromDatetime goes through a time tuple for each."""
    if value is None:
        return None
    delta = as_utc(value) - _EPOCH
    return Timestamp(seconds=delta.days * 86400 + delta.seconds, nanos=delta.microseconds * 1000)


def _duration(seconds: float) -> Duration:
    duration = Duration()
    duration.FromNanoseconds(int(seconds * 1e9))
    return duration


def _office(code: str) -> common_pb2.OfficeRef | None:
    if not code:
        return None
    level = code.split(".", 1)[0]
    return common_pb2.OfficeRef(
        code=code,
        level=f"OFFICE_LEVEL_{level}"
        if level in {"PUSAT", "KANWIL", "KANTAH"}
        else "OFFICE_LEVEL_UNSPECIFIED",
    )


def complaint_view(row: Mapping[str, Any], at: datetime) -> query_pb2.ComplaintView:
    """The view of a read-model row; `overdue` is judged at `at` (now, or the as_of moment)."""
    return query_pb2.ComplaintView(
        complaint_id=row["complaint_id"],
        ticket_number=row["ticket_number"] or "",
        status=f"COMPLAINT_STATUS_{row['status']}",
        category=f"CATEGORY_{row['category']}",
        location=common_pb2.Location(
            province_code=row["province_code"],
            regency_code=row["regency_code"],
            address=row["address"],
        ),
        scope=f"SCOPE_{row['scope']}",
        channel=f"CHANNEL_{row['channel']}",
        subject=row["subject"],
        description=row["description"],
        holding_office=_office(row["holding_office"]),
        accept_due=_ts(row["accept_due"]),
        response_due=_ts(row["response_due"]),
        resolution_due=_ts(row["resolution_due"]),
        breached=[f"SLA_KIND_{kind}" for kind in row["breached"].split(",") if kind],
        overdue=is_overdue(row, at),
        masked_contact=row["masked_contact"],
        anonymous=row["anonymous"],
        confidential=row["confidential"],
        reporter_erased=row["reporter_erased"],
        reassignment_count=row["reassignment_count"],
        ping_pong_flagged=row["ping_pong_flagged"],
        rating=row["rating"],
        filed_at=_ts(row["filed_at"]),
        assigned_at=_ts(row["assigned_at"]),
        accepted_at=_ts(row["accepted_at"]),
        first_response_at=_ts(row["first_response_at"]),
        resolved_at=_ts(row["resolved_at"]),
        closed_at=_ts(row["closed_at"]),
        updated_at=_ts(row["updated_at"]),
    )


def audit_entry(row: Mapping[str, Any]) -> query_pb2.AuditEntry:
    return query_pb2.AuditEntry(
        event_id=row["event_id"],
        service=row["service"],
        position=row["position"],
        event_type=row["event_type"],
        occurred_at=_ts(row["occurred_at"]),
        actor=common_pb2.Actor(
            id=row["actor_id"],
            kind=f"ACTOR_KIND_{row['actor_kind'] or 'UNSPECIFIED'}",
            role=row["actor_role"],
            office_code=row["actor_office"],
        ),
        from_office=_office(row["from_office"]),
        to_office=_office(row["to_office"]),
        reason_code=f"REASON_CODE_{row['reason_code'] or 'UNSPECIFIED'}",
        note=row["note"],
        rule_id=row["rule_id"],
        ruleset_version=row["ruleset_version"],
        summary=row["summary"],
        aggregate_version=row["aggregate_version"],
        complaint_id=row["complaint_id"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        attachments=_attachments(row),
    )


# The events that carry attachments, by audit event type and payload field.
_ATTACHMENT_EVENTS = {
    "ComplaintFiled": "complaint_filed",
    "ReporterMessageAdded": "reporter_message_added",
}


def _attachments(row: Mapping[str, Any]) -> list[common_pb2.Attachment]:
    """The attachments of a trail row's event, read from its stored envelope (erasure blanks
    their captions there). Only the two kinds that carry any are parsed."""
    kind = _ATTACHMENT_EVENTS.get(row["event_type"])
    if kind is None:
        return []
    envelope = events_pb2.Envelope.FromString(row["envelope"])
    if envelope.WhichOneof("payload") != kind:
        return []
    return list(getattr(envelope, kind).attachments)


def custody_segment(row: Mapping[str, Any]) -> query_pb2.CustodySegment:
    segment = query_pb2.CustodySegment(
        office=_office(row["office_code"]),
        received_from=row["received_from"],
        received_at=_ts(row["from_at"]),
        handed_at=_ts(row["until_at"]),
        handed_to=row["handed_to"],
    )
    if row["held_seconds"] is not None:
        segment.held.CopyFrom(_duration(row["held_seconds"]))
    return segment


def _optional_time(message: Any, name: str, field_path: str = "") -> datetime | None:
    """The Timestamp field `name` of `message` when set; INVALID_ARGUMENT (naming `field_path`)
    when it is outside what a Timestamp may hold (years 1 to 9999, nanos below a second)."""
    if not message.HasField(name):
        return None
    try:
        return as_utc(getattr(message, name).ToDatetime())
    except (ValueError, OverflowError):
        raise ValidationError(
            FieldViolation(field_path or name, "is not a valid timestamp")
        ) from None


def _time_range(message: Any, name: str) -> tuple[datetime | None, datetime | None]:
    """The bounds of the TimeRange field `name` (either may be unset); INVALID_ARGUMENT when one
    is not a valid timestamp or the end is not after the start."""
    if not message.HasField(name):
        return None, None
    period = getattr(message, name)
    start = _optional_time(period, "start", f"{name}.start")
    end = _optional_time(period, "end", f"{name}.end")
    if start is not None and end is not None and end <= start:
        raise ValidationError(FieldViolation(name, "end must be after start"))
    return start, end


def _enum_names(enum: Any, values: Any, prefix: str, field_path: str) -> tuple[str, ...]:
    """The names of the set enum values (UNSPECIFIED dropped); INVALID_ARGUMENT for a value this
    schema does not define (a newer client's, or garbage)."""
    names = set()
    for value in set(values):
        if value == 0:
            continue
        try:
            names.add(enum_name(enum, value, prefix))
        except ValueError:
            raise ValidationError(
                FieldViolation(field_path, f"{value} is not a known value")
            ) from None
    return tuple(sorted(names))


def _one_enum_name(enum: Any, value: int, prefix: str, field_path: str) -> str:
    """The name of one enum value ("" for UNSPECIFIED); INVALID_ARGUMENT when undefined."""
    names = _enum_names(enum, [value], prefix, field_path)
    return names[0] if names else ""


def kpi_sealed_scope(principal: Principal, registry: OfficeRegistry) -> SealedScope | None:
    """The sealed cases to leave out of a caller's office KPIs. An office's figures include
    cases it no longer holds, so the office filter alone does not hide the sealed ones now held
    outside the caller's chain: whoever does not read everything gets the overseers' rule
    (`sealed_condition`) for their own office."""
    if principal.role in READ_EVERYTHING:
        return None
    return sealed_scope(principal, registry) or SealedScope(principal.office, registry.oversight)


def office_kpis_message(figures: OfficeFigures) -> query_pb2.OfficeKpis:
    message = query_pb2.OfficeKpis(
        office_code=figures.office_code,
        channel=f"CHANNEL_{figures.channel or 'UNSPECIFIED'}",
        category=f"CATEGORY_{figures.category or 'UNSPECIFIED'}",
        received=figures.received,
        accepted=figures.accepted,
        accepted_in_time=figures.accepted_in_time,
        responded=figures.responded,
        responded_in_time=figures.responded_in_time,
        resolved=figures.resolved,
        resolved_in_time=figures.resolved_in_time,
        time_held=_duration(figures.time_held.total_seconds()),
        bounced_out=figures.bounced_out,
        bounced_in=figures.bounced_in,
        escalated_by_sla=figures.escalated_by_sla,
        accept_breaches=figures.accept_breaches,
        first_response_breaches=figures.first_response_breaches,
        resolution_breaches=figures.resolution_breaches,
        ratings=figures.ratings,
        mean_rating=figures.mean_rating,
        backlog=figures.backlog,
        overdue=figures.overdue,
    )
    if figures.sla_compliance is not None:
        message.sla_compliance = figures.sla_compliance
    for name in (
        "median_time_to_accept",
        "median_time_to_first_response",
        "median_time_to_resolve",
    ):
        value = getattr(figures, name)
        if value is not None:
            getattr(message, name).CopyFrom(_duration(value.total_seconds()))
    return message


def complaint_filter(
    message: query_pb2.ComplaintFilter, registry: OfficeRegistry
) -> ComplaintFilter:
    violations: list[FieldViolation] = []
    office = message.office_code.strip().upper()
    if office and len(registry.holding_chain(office)) == 0:
        violations.append(FieldViolation("filter.office_code", "is not an office code"))
    start = (
        _optional_time(message.filed, "start", "filter.filed.start")
        if message.HasField("filed")
        else None
    )
    end = (
        _optional_time(message.filed, "end", "filter.filed.end")
        if message.HasField("filed")
        else None
    )
    if start is not None and end is not None and end <= start:
        violations.append(FieldViolation("filter.filed", "end must be after start"))
    if len(message.text.strip()) > MAX_FILTER_TEXT:
        violations.append(
            FieldViolation("filter.text", f"must be at most {MAX_FILTER_TEXT} characters")
        )
    if violations:
        raise ValidationError(violations)
    statuses = _enum_names(
        common_pb2.ComplaintStatus, message.statuses, "COMPLAINT_STATUS_", "filter.statuses"
    )
    categories = _enum_names(
        common_pb2.Category, message.categories, "CATEGORY_", "filter.categories"
    )
    return ComplaintFilter(
        office_code=office,
        include_descendants=message.include_descendants,
        province_code=message.province_code.strip(),
        regency_code=message.regency_code.strip(),
        statuses=statuses,
        categories=categories,
        overdue_only=message.overdue_only,
        filed_from=start,
        filed_until=end,
        text=message.text.strip(),
    )


class QueryServicer(query_pb2_grpc.QueryServicer):
    def __init__(
        self,
        queries: ComplaintQueries,
        waiter: ProgressWaiter,
        projector: Projector | None = None,
        rebuilder: Rebuilder | None = None,
    ) -> None:
        # The registry the read models file complaints by (`aduan.reference.offices.holding_chain`), so that
        # who may see a row is judged by the chain it was filed under.
        self.registry = default_registry()
        self.queries = queries
        self.waiter = waiter
        self.projector = projector or waiter.projector
        self.rebuilder = rebuilder

    async def _consistent(self, consistency: query_pb2.Consistency) -> None:
        minimum: dict[str, int] = {}
        for item in consistency.min_positions:
            # A position of a service this query service does not follow could never be reached.
            if item.service not in WRITE_SERVICES:
                raise ValidationError(
                    FieldViolation(
                        "consistency.min_positions.service",
                        f"must be one of {', '.join(WRITE_SERVICES)}",
                    )
                )
            minimum[item.service] = max(minimum.get(item.service, 0), item.position)
        timeout = DEFAULT_CONSISTENCY_TIMEOUT
        if consistency.HasField("timeout"):
            try:
                timeout = consistency.timeout.ToTimedelta().total_seconds()
            except (ValueError, OverflowError):
                timeout = -1.0
            if timeout < 0:
                raise ValidationError(
                    FieldViolation("consistency.timeout", "must be a duration of zero or more")
                )
        await self.waiter.wait_for(minimum, timeout)

    def _moment(self, request: Any) -> datetime | None:
        return _optional_time(request, "as_of")

    async def GetComplaint(  # noqa: N802 - gRPC method name
        self, request: query_pb2.GetComplaintRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> query_pb2.GetComplaintResponse:
        await self._consistent(request.consistency)
        as_of = self._moment(request)
        row = await asyncio.to_thread(self.queries.get_complaint, request.complaint_id, as_of)
        check_visible(current_principal(), row, request.complaint_id, self.registry)
        return query_pb2.GetComplaintResponse(
            complaint=complaint_view(row, as_of or self.queries.clock())
        )

    async def ListComplaints(  # noqa: N802 - gRPC method name
        self, request: query_pb2.ListComplaintsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> query_pb2.ListComplaintsResponse:
        spec = scoped_filter(
            current_principal(), complaint_filter(request.filter, self.registry), self.registry
        )
        await self._consistent(request.consistency)
        as_of = self._moment(request)
        page = await asyncio.to_thread(
            self.queries.list_complaints,
            spec,
            request.page.page_size,
            request.page.page_token,
            as_of,
        )
        at = as_of or self.queries.clock()
        return query_pb2.ListComplaintsResponse(
            complaints=[complaint_view(row, at) for row in page.rows],
            page=common_pb2.PageResponse(next_page_token=page.next_token),
        )

    async def GetAuditTrail(  # noqa: N802 - gRPC method name
        self, request: query_pb2.GetAuditTrailRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> query_pb2.GetAuditTrailResponse:
        await self._consistent(request.consistency)
        principal = current_principal()
        # Only the roles that read everything skip the check: an overseer sees every office
        # but not the sealed complaints outside their chain.
        if principal.role not in READ_EVERYTHING:
            row = await asyncio.to_thread(self.queries.get_complaint, request.complaint_id, None)
            check_visible(principal, row, request.complaint_id, self.registry)
        complaint_id, page = await asyncio.to_thread(
            self.queries.audit_trail,
            request.complaint_id,
            request.page.page_size,
            request.page.page_token,
        )
        custody = (
            await asyncio.to_thread(self.queries.custody, complaint_id)
            if request.include_custody
            else []
        )
        return query_pb2.GetAuditTrailResponse(
            complaint_id=complaint_id,
            entries=[audit_entry(r) for r in page.rows],
            page=common_pb2.PageResponse(next_page_token=page.next_token),
            custody=[custody_segment(r) for r in custody],
        )

    async def ListAuditEvents(  # noqa: N802 - gRPC method name
        self,
        request: query_pb2.ListAuditEventsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> query_pb2.ListAuditEventsResponse:
        since, until = _time_range(request, "occurred")
        await self._consistent(request.consistency)
        page = await asyncio.to_thread(
            self.queries.audit_events_page,
            since,
            until,
            request.page.page_size,
            request.page.page_token,
        )
        return query_pb2.ListAuditEventsResponse(
            entries=[audit_entry(r) for r in page.rows],
            page=common_pb2.PageResponse(next_page_token=page.next_token),
        )

    async def WatchComplaints(  # noqa: N802 - gRPC method name
        self,
        request: query_pb2.WatchComplaintsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[query_pb2.ComplaintChange]:
        """Changes of matching complaints, including the change that makes a complaint leave the
        filter (e.g. reassigned away from the watched queue), marked `removed`. That change
        shows the complaint as it now stands only to a caller who may still see it (e.g. an
        auditor, or a Kanwil watching one of its Kantah's queues when that Kantah escalates it to the Kanwil); to anyone else it carries
        the complaint's id alone, not its new holder, its content or the event that moved it,
        since they may no longer read them (docs/security.md, "Who sees what"). Time alone does
        not emit changes: a complaint becoming overdue shows with its next event."""
        principal = current_principal()
        spec = scoped_filter(
            principal, complaint_filter(request.filter, self.registry), self.registry
        )
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[Sequence[ComplaintChange]] = asyncio.Queue()

        def on_change(changes: Sequence[ComplaintChange]) -> None:
            loop.call_soon_threadsafe(inbox.put_nowait, changes)

        # Listen before reading the initial state, so that no change falls in between.
        self.projector.add_change_listener(on_change)
        try:
            members: set[str] = set()
            rows = await asyncio.to_thread(lambda: list(self.queries.iterate_complaints(spec)))
            now = self.queries.clock()
            for row in rows:
                members.add(row["complaint_id"])
                if request.include_initial:
                    yield query_pb2.ComplaintChange(complaint=complaint_view(row, now))
            while True:
                changes = list(await inbox.get())
                while not inbox.empty():
                    changes.extend(inbox.get_nowait())
                latest = {change.complaint_id: change for change in changes}
                ids = list(latest)
                matching = await asyncio.to_thread(self.queries.matching, spec, ids)
                leaving = [i for i in ids if i in members and i not in matching]
                left = await asyncio.to_thread(self.queries.current, leaving) if leaving else {}
                now = self.queries.clock()
                for complaint_id, change in latest.items():
                    current: Row | None = matching.get(complaint_id)
                    if current is not None:
                        members.add(complaint_id)
                        yield query_pb2.ComplaintChange(
                            complaint=complaint_view(current, now),
                            event_type=change.event_type,
                            event_id=change.event_id,
                        )
                    elif complaint_id in members:
                        members.discard(complaint_id)
                        current = left.get(complaint_id)
                        if current is not None and visible(principal, current, self.registry):
                            yield query_pb2.ComplaintChange(
                                complaint=complaint_view(current, now),
                                event_type=change.event_type,
                                event_id=change.event_id,
                                removed=True,
                            )
                        else:
                            yield query_pb2.ComplaintChange(
                                complaint=query_pb2.ComplaintView(complaint_id=complaint_id),
                                removed=True,
                            )
        finally:
            self.projector.remove_change_listener(on_change)

    async def GetStats(  # noqa: N802 - gRPC method name
        self, request: query_pb2.GetStatsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> query_pb2.GetStatsResponse:
        start = (
            _optional_time(request.period, "start", "period.start")
            if request.HasField("period")
            else None
        )
        end = (
            _optional_time(request.period, "end", "period.end")
            if request.HasField("period")
            else None
        )
        office = request.office_code.strip().upper()
        if office and not self.registry.holding_chain(office):
            raise ValidationError(FieldViolation("office_code", "is not an office code"))
        if start is not None and end is not None and end <= start:
            raise ValidationError(FieldViolation("period", "end must be after start"))
        channel = _one_enum_name(common_pb2.Channel, request.channel, "CHANNEL_", "channel")
        category = _one_enum_name(common_pb2.Category, request.category, "CATEGORY_", "category")
        as_of = self._moment(request)
        principal = current_principal()
        office = office_filter(principal, office, "office_code", self.registry)
        sealed = sealed_scope(principal, self.registry)
        stats = await asyncio.to_thread(
            self.queries.stats, start, end, office, sealed, as_of, channel, category
        )

        def counts(values: Mapping[str, int]) -> list[query_pb2.CountByKey]:
            return [query_pb2.CountByKey(key=k, count=v) for k, v in sorted(values.items())]

        response = query_pb2.GetStatsResponse(
            total=stats.total,
            by_status=counts(stats.by_status),
            by_office=counts(stats.by_office),
            by_province=counts(stats.by_province),
            by_category=counts(stats.by_category),
            sla_compliance=stats.sla_compliance,
            reassignments_per_complaint=stats.reassignments_per_complaint,
            ping_pong_count=stats.ping_pong_count,
            time_held=[
                query_pb2.OfficeHolding(
                    office_code=h.office_code,
                    held=_duration(h.held.total_seconds()),
                    complaints=h.complaints,
                )
                for h in stats.time_held
            ],
        )
        if stats.median_time_to_first_response is not None:
            response.median_time_to_first_response.CopyFrom(
                _duration(stats.median_time_to_first_response.total_seconds())
            )
        if stats.median_time_to_resolution is not None:
            response.median_time_to_resolution.CopyFrom(
                _duration(stats.median_time_to_resolution.total_seconds())
            )
        if request.office_kpis:
            scope = KpiScope(
                self._reported(office),
                kpi_sealed_scope(principal, self.registry),
                channel,
                category,
            )
            period = Period(start, end, as_of or self.queries.clock())
            figures = await asyncio.to_thread(
                office_kpis,
                self.queries,
                period,
                scope,
                historical=as_of is not None,
                split_channel=request.split_by_channel,
                split_category=request.split_by_category,
                roll_up=self.registry.holding_chain if request.roll_up else None,
            )
            response.offices.extend(office_kpis_message(f) for f in figures)
        return response

    def _reported(self, office: str) -> Callable[[str], bool]:
        """Whether an office's figures are reported: at or below `office` (every office when
        empty), by the chain the read models file cases under."""
        if not office:
            return bool
        return lambda code: office in self.registry.holding_chain(code)

    async def RebuildProjections(  # noqa: N802 - gRPC method name
        self,
        request: query_pb2.RebuildProjectionsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> query_pb2.RebuildProjectionsResponse:
        if self.rebuilder is None:
            from aduan.core.errors import UnavailableError

            raise UnavailableError("this query service has no EventLogs to rebuild from")
        result = await self.rebuilder.rebuild()
        return query_pb2.RebuildProjectionsResponse(
            events_processed=result.events,
            duration=_duration(result.seconds),
            events_per_second=result.events_per_second,
            positions=[
                common_pb2.EventPosition(service=s, position=p)
                for s, p in sorted(result.positions.items())
            ],
        )
