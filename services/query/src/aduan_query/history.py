"""Pure functions from integration events to read-model rows: the complaint fold and custody
moves (audit and checkpoint rows are in `audit.py`). The projector, the rebuild and the time-travel
queries all use these, so that a live projection, a rebuild and a replay cannot disagree.

The complaint view is a fold of the complaint's events in *history order*: (occurred_at, service,
position). Intake and routing are independent upstreams, so their events can be projected in any
interleaving; folding in history order (the projector re-folds when an event arrives late) makes
the result independent of arrival order, and makes "the state as of T" simply the fold of the
events that occurred up to T.

The folded state is a `ComplaintState`; `ComplaintState.to_row` is the one place it becomes a row
of `complaints` or `complaint_versions`, and `ComplaintState.from_row` the way back. `apply`
dispatches on the event kind through `FOLDS`, one small function per kind that changes the view.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from aduan.reference.locations import Location
from aduan.v1 import common_pb2, events_pb2
from aduan_query.readmodels import chain_text

HistoryKey = tuple[datetime, str, int]

OPEN_STATUSES = ("RECEIVED", "ASSIGNED", "IN_PROGRESS")
ERASED_CONTACT = "[erased]"

# Routing events that move or end custody of a case.
CUSTODY_EVENTS = frozenset(
    {"case_routed", "case_reassigned", "sla_breached", "case_closed", "case_reopened"}
)


def as_utc(moment: datetime) -> datetime:
    """Databases hand back naive (SQLite) or zoned (PostgreSQL) datetimes; compare them in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stamp(value: Any) -> datetime:
    """A protobuf Timestamp as a UTC datetime (microseconds, as `Timestamp.ToDatetime` truncates);
    computed directly because every projected event needs it several times."""
    return _EPOCH + timedelta(0, value.seconds, value.nanos // 1000)


def optional_stamp(message: Any, field: str) -> datetime | None:
    return stamp(getattr(message, field)) if message.HasField(field) else None


@cache
def enum_name(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix)


def history_key(envelope: events_pb2.Envelope) -> HistoryKey:
    return (stamp(envelope.occurred_at), envelope.service, envelope.position)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


# -- the complaint view ---------------------------------------------------------------------------


# Frozen, so every state may share it.
_UNLOCATED = Location()


def _location(location: common_pb2.Location) -> Location:
    """The contract's location as the platform's value (which knows no protobuf)."""
    return Location(location.province_code, location.regency_code, location.address)


@dataclass
class ComplaintState:
    """A complaint's view as folded so far. Enumerations are kept as their names without the
    protobuf prefix (`WHATSAPP`, `LAND_SERVICE`), instants as aware UTC datetimes. Every field
    holds an immutable value, so `copy` needs to copy nothing below the fields."""

    complaint_id: str
    ticket_number: str | None = None
    # What the reporter sees: WITHDRAWN over the routing status, RECEIVED before any placement.
    status: str = "RECEIVED"
    # Routing's own status of the case ("" until it is placed).
    routing_status: str = ""
    withdrawn: bool = False
    filed: bool = False  # intake's ComplaintFiled folded
    classified: bool = False  # a CaseClassified folded: it outranks intake's category/location
    category: str = "UNSPECIFIED"
    scope: str = "UNSPECIFIED"
    channel: str = "UNSPECIFIED"
    location: Location = _UNLOCATED
    subject: str = ""
    description: str = ""
    holding_office: str = ""
    office_chain: str = ""
    accept_due: datetime | None = None
    response_due: datetime | None = None
    resolution_due: datetime | None = None
    # The SLA kinds breached, sorted (`breached` column: comma-separated).
    breached: tuple[str, ...] = ()
    masked_contact: str = ""
    anonymous: bool = False
    confidential: bool = False
    reporter_erased: bool = False
    reassignment_count: int = 0
    ping_pong_flagged: bool = False
    rating: int = 0
    filed_at: datetime | None = None
    assigned_at: datetime | None = None
    accepted_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = None
    last_occurred_at: datetime | None = None
    last_service: str = ""
    last_position: int = 0
    last_event_id: str = ""

    def copy(self) -> ComplaintState:
        return copy.copy(self)

    @property
    def last_key(self) -> HistoryKey:
        """Where the last event folded into this state stands in history order."""
        if self.last_occurred_at is None:
            raise ValueError(f"complaint {self.complaint_id}: no event folded yet")
        return (self.last_occurred_at, self.last_service, self.last_position)

    def to_row(self) -> dict[str, Any]:
        """The state as a row of `complaints` (and, with valid_from/valid_to, of
        `complaint_versions`): the columns in `STATE_COLUMNS` order."""
        location = self.location
        return {
            "complaint_id": self.complaint_id,
            "ticket_number": self.ticket_number,
            "status": self.status,
            "routing_status": self.routing_status,
            "withdrawn": self.withdrawn,
            "filed": self.filed,
            "classified": self.classified,
            "category": self.category,
            "scope": self.scope,
            "channel": self.channel,
            "province_code": location.province_code,
            "regency_code": location.regency_code,
            "address": location.address,
            "subject": self.subject,
            "description": self.description,
            "holding_office": self.holding_office,
            "office_chain": self.office_chain,
            "accept_due": self.accept_due,
            "response_due": self.response_due,
            "resolution_due": self.resolution_due,
            "breached": ",".join(self.breached),
            "masked_contact": self.masked_contact,
            "anonymous": self.anonymous,
            "confidential": self.confidential,
            "reporter_erased": self.reporter_erased,
            "reassignment_count": self.reassignment_count,
            "ping_pong_flagged": self.ping_pong_flagged,
            "rating": self.rating,
            "filed_at": self.filed_at,
            "assigned_at": self.assigned_at,
            "accepted_at": self.accepted_at,
            "first_response_at": self.first_response_at,
            "resolved_at": self.resolved_at,
            "closed_at": self.closed_at,
            "updated_at": self.updated_at,
            "last_occurred_at": self.last_occurred_at,
            "last_service": self.last_service,
            "last_position": self.last_position,
            "last_event_id": self.last_event_id,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ComplaintState:
        """A stored row (of `complaints` or `complaint_versions`) as a state, instants in UTC;
        other columns are ignored."""
        return cls(
            complaint_id=row["complaint_id"],
            ticket_number=row["ticket_number"],
            status=row["status"],
            routing_status=row["routing_status"],
            withdrawn=row["withdrawn"],
            filed=row["filed"],
            classified=row["classified"],
            category=row["category"],
            scope=row["scope"],
            channel=row["channel"],
            location=Location(row["province_code"], row["regency_code"], row["address"]),
            subject=row["subject"],
            description=row["description"],
            holding_office=row["holding_office"],
            office_chain=row["office_chain"],
            accept_due=_utc_or_none(row["accept_due"]),
            response_due=_utc_or_none(row["response_due"]),
            resolution_due=_utc_or_none(row["resolution_due"]),
            # As stored, not re-sorted: a row read and written back stays as it was.
            breached=tuple(filter(None, row["breached"].split(","))),
            masked_contact=row["masked_contact"],
            anonymous=row["anonymous"],
            confidential=row["confidential"],
            reporter_erased=row["reporter_erased"],
            reassignment_count=row["reassignment_count"],
            ping_pong_flagged=row["ping_pong_flagged"],
            rating=row["rating"],
            filed_at=_utc_or_none(row["filed_at"]),
            assigned_at=_utc_or_none(row["assigned_at"]),
            accepted_at=_utc_or_none(row["accepted_at"]),
            first_response_at=_utc_or_none(row["first_response_at"]),
            resolved_at=_utc_or_none(row["resolved_at"]),
            closed_at=_utc_or_none(row["closed_at"]),
            updated_at=_utc_or_none(row["updated_at"]),
            last_occurred_at=_utc_or_none(row["last_occurred_at"]),
            last_service=row["last_service"],
            last_position=row["last_position"],
            last_event_id=row["last_event_id"],
        )


STATE_COLUMNS = tuple(ComplaintState("").to_row())


def _category(value: int) -> str:
    return enum_name(common_pb2.Category, value, "CATEGORY_")


def _place(state: ComplaintState, office: str, at: datetime) -> None:
    """The case now sits with `office`, which has not accepted it yet."""
    state.holding_office = office
    state.office_chain = chain_text(office)
    state.assigned_at = at
    state.accepted_at = None
    state.response_due = None
    if state.routing_status in {"", "ASSIGNED", "IN_PROGRESS"}:
        state.routing_status = "ASSIGNED"


# One function per event kind that changes the view: (state, the event's payload, occurred_at).


def _complaint_filed(state: ComplaintState, filed: Any, at: datetime) -> None:
    state.filed = True
    state.ticket_number = filed.ticket_number or state.ticket_number
    state.channel = enum_name(common_pb2.Channel, filed.channel, "CHANNEL_")
    state.anonymous = filed.anonymous
    state.confidential = state.confidential or filed.confidential
    state.masked_contact = ERASED_CONTACT if state.reporter_erased else filed.masked_contact
    # Once the reporter is erased their words go too (`aduan_query.erasure`).
    state.subject = "" if state.reporter_erased else filed.subject
    state.description = "" if state.reporter_erased else filed.description
    state.filed_at = at
    if not state.classified:
        state.category = _category(filed.category)
        state.location = _location(filed.location)


def _reporter_message_added(state: ComplaintState, added: Any, at: datetime) -> None:
    """Changes nothing but the view's last event and update time."""


def _complaint_withdrawn(state: ComplaintState, withdrawn: Any, at: datetime) -> None:
    state.withdrawn = True


def _resolution_rated(state: ComplaintState, rated: Any, at: datetime) -> None:
    state.rating = rated.rating


def _reporter_erased(state: ComplaintState, erased: Any, at: datetime) -> None:
    state.reporter_erased = True
    state.masked_contact = ERASED_CONTACT
    state.subject = ""
    state.description = ""


def _case_opened(state: ComplaintState, opened: Any, at: datetime) -> None:
    state.ticket_number = state.ticket_number or opened.ticket_number or None
    state.confidential = state.confidential or opened.confidential
    # Routing's copy of the filing stands in only while intake's own event is missing.
    if not state.classified and not state.filed:
        state.category = _category(opened.category)
        state.location = _location(opened.location)
    if state.filed_at is None:
        state.filed_at = optional_stamp(opened, "filed_at") or at
    state.resolution_due = optional_stamp(opened, "resolution_due")


def _case_routed(state: ComplaintState, routed: Any, at: datetime) -> None:
    _place(state, routed.to_office.code, at)
    state.accept_due = optional_stamp(routed, "accept_due")


def _case_classified(state: ComplaintState, classified: Any, at: datetime) -> None:
    state.classified = True
    if classified.category != common_pb2.CATEGORY_UNSPECIFIED:
        state.category = _category(classified.category)
    if classified.HasField("location") and classified.location.province_code:
        state.location = _location(classified.location)
    if classified.scope != common_pb2.SCOPE_UNSPECIFIED:
        state.scope = enum_name(common_pb2.Scope, classified.scope, "SCOPE_")


def _case_accepted(state: ComplaintState, accepted: Any, at: datetime) -> None:
    office = accepted.office.code
    if office and office != state.holding_office:
        state.holding_office = office
        state.office_chain = chain_text(office)
    state.routing_status = "IN_PROGRESS"
    state.accepted_at = at
    state.response_due = optional_stamp(accepted, "response_due")


def _case_reassigned(state: ComplaintState, reassigned: Any, at: datetime) -> None:
    _place(state, reassigned.to_office.code, at)
    state.reassignment_count += 1
    state.accept_due = optional_stamp(reassigned, "accept_due")


def _reporter_answered(state: ComplaintState, answered: Any, at: datetime) -> None:
    state.first_response_at = state.first_response_at or at


def _case_resolved(state: ComplaintState, resolved: Any, at: datetime) -> None:
    state.routing_status = "RESOLVED"
    state.resolved_at = at
    state.closed_at = None


def _case_reopened(state: ComplaintState, reopened: Any, at: datetime) -> None:
    state.routing_status = "IN_PROGRESS" if state.accepted_at else "ASSIGNED"
    state.resolved_at = None
    state.closed_at = None


def _case_closed(state: ComplaintState, closed: Any, at: datetime) -> None:
    state.routing_status = "CLOSED"
    state.closed_at = at


def _sla_breached(state: ComplaintState, breach: Any, at: datetime) -> None:
    sla = enum_name(common_pb2.SlaKind, breach.sla, "SLA_KIND_")
    state.breached = tuple(sorted({*state.breached, sla}))
    target = breach.escalated_to.code
    if target and target != state.holding_office:
        _place(state, target, at)


def _ping_pong_flagged(state: ComplaintState, flagged: Any, at: datetime) -> None:
    state.ping_pong_flagged = True


Fold = Callable[[ComplaintState, Any, datetime], None]

# The event kinds (payload field names) that change the complaint view. Notification events and
# audit-only intake events (status requests, contact reveals, locating and classifying findings,
# questions) appear in the audit trail but leave the view unchanged.
FOLDS: dict[str, Fold] = {
    "complaint_filed": _complaint_filed,
    "reporter_message_added": _reporter_message_added,
    "complaint_withdrawn": _complaint_withdrawn,
    "resolution_rated": _resolution_rated,
    "reporter_erased": _reporter_erased,
    "case_opened": _case_opened,
    "case_routed": _case_routed,
    "case_classified": _case_classified,
    "case_accepted": _case_accepted,
    "case_reassigned": _case_reassigned,
    "reporter_answered": _reporter_answered,
    "case_resolved": _case_resolved,
    "case_reopened": _case_reopened,
    "case_closed": _case_closed,
    "sla_breached": _sla_breached,
    "ping_pong_flagged": _ping_pong_flagged,
}


def _fold_of(envelope: events_pb2.Envelope) -> tuple[str, Fold] | None:
    """The event's kind and fold when it changes a complaint's view: a kind in FOLDS, recorded
    on a complaint. A WhatsApp sender's Conversation (intake) shares the ContactRevealed and
    ReporterErased payloads, but is no complaint: its events stay in the audit trail only."""
    kind = envelope.WhichOneof("payload")
    fold = FOLDS.get(kind) if kind else None
    if fold is None or ":Conversation." in envelope.stored_topic:
        return None
    return kind, fold


def changes_view(envelope: events_pb2.Envelope) -> bool:
    """Whether the event changes a complaint's view (see `_fold_of`)."""
    return _fold_of(envelope) is not None


def apply(state: ComplaintState, envelope: events_pb2.Envelope, at: datetime | None = None) -> bool:
    """Fold one event into `state` (in place). False when the event does not touch the view.
    `at` is the event's occurred_at when the caller has it already."""
    found = _fold_of(envelope)
    if found is None:
        return False
    kind, fold = found
    if at is None:
        at = stamp(envelope.occurred_at)
    fold(state, getattr(envelope, kind), at)
    if state.filed_at is None:
        state.filed_at = at
    state.status = "WITHDRAWN" if state.withdrawn else (state.routing_status or "RECEIVED")
    state.updated_at = at
    state.last_occurred_at = at
    state.last_service = envelope.service
    state.last_position = envelope.position
    state.last_event_id = envelope.event_id
    return True


def is_overdue(row: Mapping[str, Any], at: datetime) -> bool:
    """Open and past a deadline that still applies (the same rule as `views.overdue_condition`)."""
    status = row["status"]
    if status not in OPEN_STATUSES:
        return False

    def past(name: str) -> bool:
        value = row[name]
        return value is not None and as_utc(value) < at

    return (
        (status == "ASSIGNED" and past("accept_due"))
        or (status == "IN_PROGRESS" and row["first_response_at"] is None and past("response_due"))
        or past("resolution_due")
    )


def custody_target(envelope: events_pb2.Envelope) -> str | None:
    """The office that receives custody with this routing event, if any."""
    kind = envelope.WhichOneof("payload")
    if kind == "case_routed":
        return str(envelope.case_routed.to_office.code)
    if kind == "case_reassigned":
        return str(envelope.case_reassigned.to_office.code)
    if kind == "sla_breached" and envelope.sla_breached.escalated_to.code:
        return str(envelope.sla_breached.escalated_to.code)
    return None


@dataclass(frozen=True)
class CustodyMove:
    """What a routing event does to a complaint's custody segments (live projector and fold)."""

    close: bool  # end the segment held now
    handed_to: str  # ... naming who received it ("" when the case closed)
    open_office: str  # start a segment with this office ("" = none)
    received_from: str


def custody_move(
    envelope: events_pb2.Envelope, holding_office: str | None, last_office: str | None
) -> CustodyMove | None:
    """`holding_office`: the office of the open segment, if any; `last_office`: of the latest
    segment, open or not. None when custody does not change."""
    target = custody_target(envelope)
    kind = envelope.WhichOneof("payload")
    if target:
        if holding_office == target:
            return None
        return CustodyMove(holding_office is not None, target, target, last_office or "")
    if kind == "case_closed" and holding_office is not None:
        return CustodyMove(True, "", "", "")
    if kind == "case_reopened" and holding_office is None and last_office is not None:
        return CustodyMove(False, "", last_office, "")
    return None


def custody_segment(
    complaint_id: str, seq: int, office: str, received_from: str, at: datetime
) -> dict[str, Any]:
    """A new, open custody row."""
    return {
        "complaint_id": complaint_id,
        "seq": seq,
        "office_code": office,
        "received_from": received_from,
        "handed_to": "",
        "from_at": at,
        "until_at": None,
        "held_seconds": None,
    }


def held_seconds(from_at: datetime, until: datetime) -> int:
    return max(int((until - as_utc(from_at)).total_seconds()), 0)
