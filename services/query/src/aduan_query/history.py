"""Pure functions from integration events to read-model rows: the complaint fold, audit rows and
custody moves. The projector, the rebuild and the time-travel queries all use these, so that a
live projection, a rebuild and a replay cannot disagree.

The complaint view is a fold of the complaint's events in *history order*: (occurred_at, service,
position). Intake and routing are independent upstreams, so their events can be projected in any
interleaving; folding in history order (the projector re-folds when an event arrives late) makes
the result independent of arrival order, and makes "the state as of T" simply the fold of the
events that occurred up to T.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from aduan.v1 import common_pb2, events_pb2
from aduan_query.readmodels import chain_text

State = dict[str, Any]
HistoryKey = tuple[datetime, str, int]

OPEN_STATUSES = ("RECEIVED", "ASSIGNED", "IN_PROGRESS")
ERASED_CONTACT = "[erased]"

# Events that change the complaint view. Notification events and audit-only intake events
# (status requests, contact reveals) appear in the audit trail but leave the view unchanged.
VIEW_EVENTS = frozenset(
    {
        "complaint_filed",
        "reporter_message_added",
        "complaint_withdrawn",
        "resolution_rated",
        "reporter_erased",
        "case_opened",
        "case_routed",
        "case_classified",
        "case_accepted",
        "case_reassigned",
        "reporter_answered",
        "case_resolved",
        "case_reopened",
        "case_closed",
        "sla_breached",
        "ping_pong_flagged",
    }
)

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


def row_key(row: Mapping[str, Any]) -> HistoryKey:
    return (as_utc(row["last_occurred_at"]), row["last_service"], int(row["last_position"]))


def empty_state(complaint_id: str) -> State:
    return {
        "complaint_id": complaint_id,
        "ticket_number": None,
        "status": "RECEIVED",
        "routing_status": "",
        "withdrawn": False,
        "filed": False,
        "classified": False,
        "category": "UNSPECIFIED",
        "scope": "UNSPECIFIED",
        "channel": "UNSPECIFIED",
        "province_code": "",
        "regency_code": "",
        "address": "",
        "subject": "",
        "description": "",
        "holding_office": "",
        "office_chain": "",
        "accept_due": None,
        "response_due": None,
        "resolution_due": None,
        "breached": "",
        "masked_contact": "",
        "anonymous": False,
        "confidential": False,
        "reporter_erased": False,
        "reassignment_count": 0,
        "ping_pong_flagged": False,
        "rating": 0,
        "filed_at": None,
        "assigned_at": None,
        "accepted_at": None,
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
        "updated_at": None,
        "last_occurred_at": None,
        "last_service": "",
        "last_position": 0,
        "last_event_id": "",
    }


STATE_COLUMNS = tuple(empty_state("").keys())


def normalise(row: Mapping[str, Any]) -> State:
    """A stored row as a fold state: only state columns, datetimes in UTC."""
    return {
        name: as_utc(row[name]) if isinstance(row[name], datetime) else row[name]
        for name in STATE_COLUMNS
    }


def _place(state: State, office: str, at: datetime) -> None:
    """The case now sits with `office`, which has not accepted it yet."""
    state["holding_office"] = office
    state["office_chain"] = chain_text(office)
    state["assigned_at"] = at
    state["accepted_at"] = None
    state["response_due"] = None
    if state["routing_status"] in {"", "ASSIGNED", "IN_PROGRESS"}:
        state["routing_status"] = "ASSIGNED"


def _location(state: State, location: common_pb2.Location) -> None:
    state["province_code"] = location.province_code
    state["regency_code"] = location.regency_code
    state["address"] = location.address


def changes_view(envelope: events_pb2.Envelope) -> bool:
    """Whether the event changes a complaint's view: one of VIEW_EVENTS, recorded on a
    complaint. A WhatsApp sender's Conversation (intake) shares the ContactRevealed and
    ReporterErased payloads, but is no complaint: its events stay in the audit trail only."""
    return (
        envelope.WhichOneof("payload") in VIEW_EVENTS
        and ":Conversation." not in envelope.stored_topic
    )


def apply(state: State, envelope: events_pb2.Envelope, at: datetime | None = None) -> bool:
    """Fold one event into `state` (in place). False when the event does not touch the view.
    `at` is the event's occurred_at when the caller has it already."""
    kind = envelope.WhichOneof("payload")
    if not changes_view(envelope):
        return False
    if at is None:
        at = stamp(envelope.occurred_at)
    event: Any = getattr(envelope, kind)
    if kind == "complaint_filed":
        state["filed"] = True
        state["ticket_number"] = event.ticket_number or state["ticket_number"]
        state["channel"] = enum_name(common_pb2.Channel, event.channel, "CHANNEL_")
        state["anonymous"] = event.anonymous
        state["confidential"] = state["confidential"] or event.confidential
        state["masked_contact"] = (
            ERASED_CONTACT if state["reporter_erased"] else event.masked_contact
        )
        state["subject"] = event.subject
        state["description"] = event.description
        state["filed_at"] = at
        if not state["classified"]:
            state["category"] = enum_name(common_pb2.Category, event.category, "CATEGORY_")
            _location(state, event.location)
    elif kind == "complaint_withdrawn":
        state["withdrawn"] = True
    elif kind == "resolution_rated":
        state["rating"] = event.rating
    elif kind == "reporter_erased":
        state["reporter_erased"] = True
        state["masked_contact"] = ERASED_CONTACT
    elif kind == "case_opened":
        state["ticket_number"] = state["ticket_number"] or event.ticket_number or None
        state["confidential"] = state["confidential"] or event.confidential
        if not state["classified"] and not state["filed"]:
            state["category"] = enum_name(common_pb2.Category, event.category, "CATEGORY_")
            _location(state, event.location)
        if state["filed_at"] is None:
            state["filed_at"] = optional_stamp(event, "filed_at") or at
        state["resolution_due"] = optional_stamp(event, "resolution_due")
    elif kind == "case_routed":
        _place(state, event.to_office.code, at)
        state["accept_due"] = optional_stamp(event, "accept_due")
    elif kind == "case_classified":
        state["classified"] = True
        if event.category != common_pb2.CATEGORY_UNSPECIFIED:
            state["category"] = enum_name(common_pb2.Category, event.category, "CATEGORY_")
        if event.HasField("location") and event.location.province_code:
            _location(state, event.location)
        if event.scope != common_pb2.SCOPE_UNSPECIFIED:
            state["scope"] = enum_name(common_pb2.Scope, event.scope, "SCOPE_")
    elif kind == "case_accepted":
        if event.office.code and event.office.code != state["holding_office"]:
            state["holding_office"] = event.office.code
            state["office_chain"] = chain_text(event.office.code)
        state["routing_status"] = "IN_PROGRESS"
        state["accepted_at"] = at
        state["response_due"] = optional_stamp(event, "response_due")
    elif kind == "case_reassigned":
        _place(state, event.to_office.code, at)
        state["reassignment_count"] += 1
        state["accept_due"] = optional_stamp(event, "accept_due")
    elif kind == "reporter_answered":
        state["first_response_at"] = state["first_response_at"] or at
    elif kind == "case_resolved":
        state["routing_status"] = "RESOLVED"
        state["resolved_at"] = at
        state["closed_at"] = None
    elif kind == "case_reopened":
        state["routing_status"] = "IN_PROGRESS" if state["accepted_at"] else "ASSIGNED"
        state["resolved_at"] = None
        state["closed_at"] = None
    elif kind == "case_closed":
        state["routing_status"] = "CLOSED"
        state["closed_at"] = at
    elif kind == "sla_breached":
        breached = set(filter(None, state["breached"].split(",")))
        breached.add(enum_name(common_pb2.SlaKind, event.sla, "SLA_KIND_"))
        state["breached"] = ",".join(sorted(breached))
        target = event.escalated_to.code
        if target and target != state["holding_office"]:
            _place(state, target, at)
    elif kind == "ping_pong_flagged":
        state["ping_pong_flagged"] = True
    if state["filed_at"] is None:
        state["filed_at"] = at
    state["status"] = "WITHDRAWN" if state["withdrawn"] else (state["routing_status"] or "RECEIVED")
    state["updated_at"] = at
    state["last_occurred_at"] = at
    state["last_service"] = envelope.service
    state["last_position"] = envelope.position
    state["last_event_id"] = envelope.event_id
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


# -- audit trail ------------------------------------------------------------------------------


def _office(ref: common_pb2.OfficeRef) -> str:
    return str(ref.code)


def audit_details(envelope: events_pb2.Envelope) -> dict[str, str]:
    """from/to office, reason, note, rule and a one-line summary of an event."""
    kind = envelope.WhichOneof("payload") or ""
    event: Any = getattr(envelope, kind) if kind else None
    details = {
        "from_office": "",
        "to_office": "",
        "reason_code": "",
        "note": "",
        "rule_id": "",
        "ruleset_version": "",
        "summary": envelope.event_type,
    }
    if event is None:
        return details
    if kind == "complaint_filed":
        details["summary"] = f"Filed {event.ticket_number} via " + enum_name(
            common_pb2.Channel, event.channel, "CHANNEL_"
        )
    elif kind == "reporter_message_added":
        details["summary"] = "Reporter added a message"
    elif kind == "checkpoint_sealed":
        details["summary"] = (
            f"Log sealed: positions {event.from_position}..{event.to_position} "
            f"({event.event_count} events), key {event.key_id}"
        )
    elif kind == "complaint_withdrawn":
        details["note"] = event.reason
        details["summary"] = "Withdrawn by the reporter"
    elif kind == "resolution_rated":
        details["note"] = event.comment
        details["summary"] = f"Resolution rated {event.rating}/5"
    elif kind in ("complaint_located", "complaint_classified"):
        source = enum_name(events_pb2.DetailSource, event.source, "DETAIL_SOURCE_")
        details["rule_id"] = event.rule_id
        details["ruleset_version"] = event.rules_version
        details["note"] = event.evidence
        if kind == "complaint_located":
            where = event.location.regency_code or event.location.province_code
            details["summary"] = f"Located in {where} ({source.lower()})"
        else:
            category = enum_name(common_pb2.Category, event.category, "CATEGORY_")
            details["summary"] = f"Classified as {category} ({source.lower()})"
    elif kind == "conversation_reply_requested":
        reply = enum_name(events_pb2.ConversationReply, event.reply, "CONVERSATION_REPLY_")
        details["summary"] = f"WhatsApp sender answered: {reply.lower().replace('_', ' ')}"
    elif kind == "details_requested":
        question = enum_name(events_pb2.DetailQuestion, event.question, "DETAIL_QUESTION_")
        details["summary"] = f"Reporter asked for the {question.lower()}"
    elif kind == "status_requested":
        details["summary"] = "Reporter asked for the status"
    elif kind == "contact_revealed":
        details["note"] = event.purpose
        details["summary"] = f"Contact revealed for {event.purpose}"
    elif kind == "reporter_erased":
        details["note"] = event.reason
        details["summary"] = "Reporter's personal data erased"
    elif kind == "case_opened":
        details["summary"] = "Case opened"
    elif kind == "case_routed":
        details["to_office"] = _office(event.to_office)
        details["rule_id"] = event.rule_id
        details["ruleset_version"] = event.ruleset_version
        details["summary"] = f"Routed to {event.to_office.code} by rule {event.rule_id}"
    elif kind == "case_classified":
        details["note"] = event.note
        details["summary"] = "Classified as " + enum_name(
            common_pb2.Category, event.category, "CATEGORY_"
        )
    elif kind == "case_accepted":
        details["to_office"] = _office(event.office)
        details["summary"] = f"Accepted by {event.office.code}"
    elif kind == "case_reassigned":
        reassignment = enum_name(common_pb2.ReassignmentKind, event.kind, "REASSIGNMENT_KIND_")
        details["from_office"] = _office(event.from_office)
        details["to_office"] = _office(event.to_office)
        details["reason_code"] = enum_name(common_pb2.ReasonCode, event.reason_code, "REASON_CODE_")
        details["note"] = event.note
        details["rule_id"] = event.rule_id
        details["ruleset_version"] = event.ruleset_version
        details["summary"] = (
            f"{reassignment.replace('_', ' ').capitalize()} {event.from_office.code} -> "
            f"{event.to_office.code} ({details['reason_code']})"
        )
    elif kind == "reporter_answered":
        details["from_office"] = _office(event.office)
        details["note"] = event.text
        details["summary"] = f"{event.office.code} answered the reporter" + (
            " (first response)" if event.first_response else ""
        )
    elif kind == "case_resolved":
        details["from_office"] = _office(event.office)
        details["note"] = event.summary
        details["summary"] = f"Resolved by {event.office.code}"
    elif kind == "case_reopened":
        details["note"] = event.reason
        details["summary"] = "Reopened" + (" by the reporter" if event.by_reporter else "")
    elif kind == "case_closed":
        details["note"] = event.reason
        details["summary"] = "Closed automatically" if event.automatic else "Closed"
    elif kind == "sla_breached":
        sla = enum_name(common_pb2.SlaKind, event.sla, "SLA_KIND_")
        details["from_office"] = _office(event.office)
        details["to_office"] = _office(event.escalated_to)
        details["reason_code"] = "SLA_BREACH"
        details["summary"] = f"{sla} deadline missed by {event.office.code}" + (
            f", escalated to {event.escalated_to.code}" if event.escalated_to.code else ""
        )
    elif kind == "ping_pong_flagged":
        details["from_office"] = _office(event.returned_to)
        details["to_office"] = _office(event.supervising_office)
        details["summary"] = (
            f"Ping-pong flagged after {event.reassignment_count} reassignments; "
            f"supervisor {event.supervising_office.code}"
        )
    elif kind.startswith("delivery_"):
        delivery = event.delivery_id
        if kind == "delivery_scheduled":
            recipient = enum_name(events_pb2.RecipientKind, event.recipient_kind, "RECIPIENT_KIND_")
            details["summary"] = f"Message {event.template} scheduled for {recipient.lower()}"
            if event.recipient_kind == events_pb2.RECIPIENT_KIND_OFFICE:
                details["to_office"] = event.recipient
        elif kind == "delivery_failed":
            details["note"] = event.error
            details["summary"] = f"Delivery {delivery} attempt {event.attempt} failed"
        elif kind == "delivery_gave_up":
            details["note"] = event.last_error
            details["summary"] = f"Delivery {delivery} gave up after {event.attempts} attempts"
        elif kind == "delivery_skipped":
            details["note"] = event.reason
            details["summary"] = f"Delivery {delivery} skipped ({event.reason})"
        elif kind == "delivery_status_reported":
            status = enum_name(events_pb2.ProviderStatus, event.status, "PROVIDER_STATUS_")
            details["note"] = event.error
            details["summary"] = f"Delivery {delivery} reported {status.lower()} by the provider"
        else:
            details["summary"] = f"{envelope.event_type} {delivery}"
    return details


def audit_row(envelope: events_pb2.Envelope, at: datetime | None = None) -> dict[str, Any]:
    return {
        "event_id": envelope.event_id,
        "complaint_id": envelope.complaint_id,
        "service": envelope.service,
        "position": envelope.position,
        "event_type": envelope.event_type,
        "occurred_at": stamp(envelope.occurred_at) if at is None else at,
        "actor_id": envelope.actor.id,
        "actor_kind": enum_name(common_pb2.ActorKind, envelope.actor.kind, "ACTOR_KIND_"),
        "actor_role": envelope.actor.role,
        "actor_office": envelope.actor.office_code,
        "aggregate_version": envelope.aggregate_version,
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "envelope": envelope.SerializeToString(deterministic=True),
        **audit_details(envelope),
    }


def checkpoint_row(envelope: events_pb2.Envelope) -> dict[str, Any]:
    sealed = envelope.checkpoint_sealed
    return {
        "event_id": envelope.event_id,
        "service": envelope.service,
        "position": envelope.position,
        "from_position": sealed.from_position,
        "to_position": sealed.to_position,
        "event_count": sealed.event_count,
        "root": sealed.root.hex(),
        "key_id": sealed.key_id,
        "public_key": sealed.public_key.hex(),
        "signature": sealed.signature.hex(),
        "sealed_at": stamp(envelope.occurred_at),
    }


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
