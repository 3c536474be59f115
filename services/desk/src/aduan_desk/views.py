"""What the pages show, made from the services' answers: plain values for the templates (which
never see protobuf), times in the desk's zone, clocks with the time left. Presentation only:
nothing here decides who may see or do what."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp

from aduan.reference.offices import OfficeRegistry
from aduan.v1 import common_pb2, query_pb2
from aduan_desk.i18n import Catalogue

# Reassignment kinds an officer or supervisor may ask for (REROUTE is the rules' own).
OFFICER_KINDS = ("ESCALATE", "DELEGATE", "TRANSFER", "RETURN_TO_TRIAGE")
# Reason codes an officer may give (SLA_BREACH and RECLASSIFIED are the system's).
OFFICER_REASONS = (
    "WRONG_JURISDICTION",
    "NEEDS_HIGHER_AUTHORITY",
    "WIDE_IMPACT",
    "NATIONAL_SCOPE",
    "FIELD_WORK_NEEDED",
    "CONFLICT_OF_INTEREST",
    "MISSING_INFORMATION",
    "OTHER",
)
REVEAL_PURPOSES = ("CONTACT_REPORTER", "FIELD_VERIFICATION", "LEGAL_PROCESS")
STATUSES = ("RECEIVED", "ASSIGNED", "IN_PROGRESS", "RESOLVED", "CLOSED", "WITHDRAWN")
CATEGORIES = (
    "UNCLASSIFIED",
    "LAND_DISPUTE",
    "LAND_SERVICE",
    "ILLEGAL_LEVY",
    "ABUSE_OF_AUTHORITY",
    "SPATIAL_PLANNING",
    "LAND_ACQUISITION",
    "INFORMATION_REQUEST",
    "OTHER",
)


def enum_name(enum: object, value: int, prefix: str) -> str:
    """`COMPLAINT_STATUS_ASSIGNED` -> `ASSIGNED`; "" for UNSPECIFIED or an unknown value."""
    try:
        name: str = enum.Name(value)  # type: ignore[attr-defined]
    except ValueError:
        return ""
    short = name.removeprefix(prefix)
    return "" if short == "UNSPECIFIED" else short


def enum_value(enum: object, prefix: str, name: str) -> Any:
    """The value of `<prefix><name>`, or 0 (UNSPECIFIED) for a name the contract lacks: the
    service then refuses the request, the desk does not. (Any: each generated enum is its own
    type, and this serves them all.)"""
    try:
        return int(enum.Value(prefix + name))  # type: ignore[attr-defined]
    except ValueError:
        return 0


def moment(stamp: Timestamp, present: bool) -> datetime | None:
    return stamp.ToDatetime().replace(tzinfo=ZoneInfo("UTC")) if present else None


@dataclass(frozen=True)
class Formatter:
    """Times and durations in the desk's zone and the user's language."""

    zone: ZoneInfo
    words: Catalogue

    def time(self, when: datetime | None) -> str:
        if when is None:
            return self.words("case.none")
        local = when.astimezone(self.zone)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"

    def iso(self, when: datetime | None) -> str:
        return "" if when is None else when.isoformat()

    def duration(self, span: timedelta) -> str:
        minutes = int(abs(span).total_seconds() // 60)
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        parts = []
        if days:
            parts.append(f"{days} {self.words('unit.day')}")
        if days or hours:
            parts.append(f"{hours} {self.words('unit.hour')}")
        parts.append(f"{minutes} {self.words('unit.minute')}")
        return " ".join(parts)


@dataclass(frozen=True)
class Clock:
    label: str
    due: datetime | None
    # Due minus now (or the moment looked at); negative once past.
    left: timedelta | None
    breached: bool

    @property
    def past(self) -> bool:
        return self.left is not None and self.left < timedelta(0)


@dataclass(frozen=True)
class ComplaintRow:
    complaint_id: str
    ticket: str
    status: str
    category: str
    subject: str
    description: str
    holder: str
    holder_name: str
    masked_contact: str
    anonymous: bool
    confidential: bool
    overdue: bool
    filed_at: datetime | None
    clocks: tuple[Clock, ...] = ()

    @property
    def next_due(self) -> Clock | None:
        open_clocks = [c for c in self.clocks if c.due is not None]
        return min(open_clocks, key=lambda c: c.due or datetime.max, default=None)


def complaint_row(view: query_pb2.ComplaintView, now: datetime) -> ComplaintRow:
    breached = {enum_name(common_pb2.SlaKind, k, "SLA_KIND_") for k in view.breached}
    status = enum_name(common_pb2.ComplaintStatus, view.status, "COMPLAINT_STATUS_")
    # Which deadlines still apply follows query's `overdue` rule (docs/query.md): accept while
    # assigned, first response while in progress without one, resolution while open.
    is_open = status in ("ASSIGNED", "IN_PROGRESS")
    applies = {
        "ACCEPT": status == "ASSIGNED",
        "FIRST_RESPONSE": status == "IN_PROGRESS" and not view.HasField("first_response_at"),
        "RESOLUTION": is_open,
    }
    clocks = []
    for kind, label, field_name in (
        ("ACCEPT", "case.sla_accept", "accept_due"),
        ("FIRST_RESPONSE", "case.sla_response", "response_due"),
        ("RESOLUTION", "case.sla_resolution", "resolution_due"),
    ):
        due = (
            moment(getattr(view, field_name), view.HasField(field_name)) if applies[kind] else None
        )
        clocks.append(Clock(label, due, None if due is None else due - now, kind in breached))
    return ComplaintRow(
        complaint_id=view.complaint_id,
        ticket=view.ticket_number,
        status=status,
        category=enum_name(common_pb2.Category, view.category, "CATEGORY_"),
        subject=view.subject,
        description=view.description,
        holder=view.holding_office.code,
        holder_name=view.holding_office.name,
        masked_contact=view.masked_contact,
        anonymous=view.anonymous,
        confidential=view.confidential,
        overdue=view.overdue,
        filed_at=moment(view.filed_at, view.HasField("filed_at")),
        clocks=tuple(clocks),
    )


def queue_rows(views: Iterable[query_pb2.ComplaintView], now: datetime) -> list[ComplaintRow]:
    """Overdue first; otherwise in the service's order (oldest filed first)."""
    rows = [complaint_row(view, now) for view in views]
    return sorted(rows, key=lambda row: not row.overdue)


@dataclass(frozen=True)
class TrailRow:
    when: datetime | None
    actor: str
    role: str
    office: str
    event_type: str
    summary: str
    reason: str
    note: str
    from_office: str
    to_office: str


def trail_rows(entries: Sequence[query_pb2.AuditEntry], until: datetime | None) -> list[TrailRow]:
    """The trail in history order; as of `until`, only what had occurred by then."""
    rows = []
    for entry in entries:
        when = moment(entry.occurred_at, entry.HasField("occurred_at"))
        if until is not None and when is not None and when > until:
            continue
        rows.append(
            TrailRow(
                when=when,
                actor=entry.actor.id,
                role=entry.actor.role,
                office=entry.actor.office_code,
                event_type=entry.event_type,
                summary=entry.summary or entry.event_type,
                reason=enum_name(common_pb2.ReasonCode, entry.reason_code, "REASON_CODE_"),
                note=entry.note,
                from_office=entry.from_office.code,
                to_office=entry.to_office.code,
            )
        )
    return rows


@dataclass(frozen=True)
class AttachmentRow:
    caption: str
    media_type: str
    # A reference to the stored media (object store key or provider media id), not a link: the
    # desk serves no files.
    uri: str
    sha256: str


@dataclass(frozen=True)
class MessageRow:
    """One turn of the conversation with the citizen."""

    when: datetime | None
    # "reporter" or "office".
    side: str
    # What the turn was, a catalogue key (`talk.filed`, `talk.answered`, ...).
    label: str
    office: str
    text: str
    attachments: tuple[AttachmentRow, ...] = ()


# The trail's events that are turns of the conversation: event type -> (side, label).
CONVERSATION_EVENTS = {
    "ComplaintFiled": ("reporter", "talk.filed"),
    "ReporterMessageAdded": ("reporter", "talk.message"),
    "ReporterAnswered": ("office", "talk.answered"),
    "CaseResolved": ("office", "talk.resolved"),
    "ComplaintWithdrawn": ("reporter", "talk.withdrawn"),
    "ResolutionRated": ("reporter", "talk.rated"),
}


def conversation_rows(
    entries: Sequence[query_pb2.AuditEntry], filed_text: str, until: datetime | None
) -> list[MessageRow]:
    """The conversation with the citizen, from the trail: what the reporter wrote (the redacted
    copies, as query keeps them), what the offices answered, with the files each turn carried.
    The filing's words are the complaint's description (`filed_text`); as of `until`, only
    what had been said by then."""
    rows = []
    for entry in entries:
        turn = CONVERSATION_EVENTS.get(entry.event_type)
        when = moment(entry.occurred_at, entry.HasField("occurred_at"))
        if turn is None or (until is not None and when is not None and when > until):
            continue
        side, label = turn
        if entry.event_type == "ComplaintFiled":
            text = filed_text
        elif entry.event_type == "ResolutionRated":
            text = f"{entry.summary}: {entry.note}" if entry.note else entry.summary
        else:
            text = entry.note
        rows.append(
            MessageRow(
                when=when,
                side=side,
                label=label,
                office=entry.from_office.code if side == "office" else "",
                text=text,
                attachments=tuple(
                    AttachmentRow(a.caption, a.media_type, a.uri, a.sha256)
                    for a in entry.attachments
                ),
            )
        )
    return rows


@dataclass
class CustodyRow:
    office: str
    since: datetime | None
    until: datetime | None = None
    how: str = ""
    by: str = ""
    reason: str = ""


def custody_rows(trail: Sequence[TrailRow]) -> list[CustodyRow]:
    """Which office held the case from when to when: each event that names a receiving office
    other than the current holder opens a segment (the trail's placements: routing, reassignment,
    escalation by the SLA ticker)."""
    rows: list[CustodyRow] = []
    for entry in trail:
        if not entry.to_office or (rows and rows[-1].office == entry.to_office):
            continue
        if rows:
            rows[-1].until = entry.when
        rows.append(
            CustodyRow(entry.to_office, entry.when, None, entry.summary, entry.actor, entry.reason)
        )
    return rows


@dataclass(frozen=True)
class Target:
    code: str
    name: str


@dataclass(frozen=True)
class TargetGroup:
    kind: str
    offices: tuple[Target, ...] = field(default_factory=tuple)


def reassignment_targets(registry: OfficeRegistry, kind: str, holder: str) -> list[Target]:
    """The offices routing accepts for `kind` from `holder`: the registry's direction rule,
    the one routing checks (`OfficeRegistry.in_direction`)."""
    return [Target(o.code, o.name) for o in registry.targets(kind, holder)]
